"""``python -m service`` (and the ``loss-service`` script): run uvicorn with the Settings."""

from __future__ import annotations

import sys

from . import tuning
from .config import Settings


def main() -> None:
    tuning.apply()  # before NumPy is imported, here and in the worker processes
    from .server import run

    status = run(Settings())
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
