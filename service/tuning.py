"""Process settings that make NumPy work cheap in a server: malloc and BLAS threads.

Measured on the target machines (see the README's Performance section): each fresh 4 KiB page costs
about 2.4 µs, so glibc returning freed memory to the kernel and taking it back on the next request
doubles the time of large requests; one malloc arena per thread lets a request's memory grow with the
number of threads that touched it; and multi-threaded BLAS on a busy 2-core server makes a dot product
ten times slower. glibc reads its settings from the environment when a process starts: ``apply()``
sets them for the worker processes uvicorn will start, and through ``mallopt`` for this process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

MALLOC_ENVIRONMENT = {
    "MALLOC_ARENA_MAX": "2",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(4 * 2**30),
    "MALLOC_TOP_PAD_": str(256 * 2**20),
}
# mallopt parameter numbers from glibc's malloc.h.
MALLOPT = {
    "MALLOC_ARENA_MAX": -8,
    "MALLOC_MMAP_THRESHOLD_": -3,
    "MALLOC_TRIM_THRESHOLD_": -1,
    "MALLOC_TOP_PAD_": -2,
}
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def apply() -> None:
    """Set the defaults (an operator's own values win); call before NumPy is imported."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    libc = _glibc()
    for name, value in MALLOC_ENVIRONMENT.items():
        chosen = os.environ.setdefault(name, value)
        if libc is not None and chosen.isdigit():
            libc.mallopt(MALLOPT[name], int(chosen))


def _glibc() -> ctypes.CDLL | None:
    path = ctypes.util.find_library("c")
    if path is None:
        return None
    try:
        libc = ctypes.CDLL(path)
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has mallopt with these numbers)
    except (OSError, AttributeError):
        return None
    return libc
