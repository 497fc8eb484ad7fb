"""Schemathesis extensions for the fuzz test (``SCHEMATHESIS_HOOKS=tests.ops.schemathesis_hooks``).

- NPZ bodies: a strategy for ``application/x-npz``, archives as ``numpy.savez`` writes them.
- ``refused_only_across_fields``: a schema-valid request may be refused only for what JSON Schema
  cannot state: how values fit together (shapes, rectangular lists, a tensor's data and shape, a
  curve's parameters and the loss in its path) and fit a loss (its input domain, nulls under
  nan_policy "raise"). Any other refusal (a validation-error, an invalid-array, invalid JSON) means
  the document allows what the service refuses. ``schemathesis.toml`` lets positive-data acceptance
  take 400 and 422 for that reason.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import schemathesis
from hypothesis import strategies as st

# Problem types for constraints between values, which no JSON Schema can state; and no-curve, for a
# loss name that the stateful phase takes from the catalogue although the curve path's enum omits it.
ACROSS_FIELDS = {
    "invalid-input",
    "invalid-parameters",
    "non-finite-input",
    "ragged-array",
    "malformed-array",
    # A runs query that does not fit the run (a loss it does not have) or its own other parameters
    # (from after to, a cursor not given out, an interval of 0 seconds).
    "invalid-query",
}
ACCEPTED = ACROSS_FIELDS | {"no-curve"}
INCLUDE = ["stats", "per_sample", "gradient", "breakdown"]
NPZ_LOSSES = ["mse", "mae", "huber", "log_cosh", "hinge", {"name": "quantile", "quantile": 0.9}]


@st.composite
def npz_bodies(draw: Any) -> bytes:
    """An NPZ evaluate request: consistent arrays (any dtype the service takes) and request.json."""
    rows = draw(st.integers(1, 6))
    shape = (rows,) if draw(st.booleans()) else (rows, draw(st.integers(1, 3)))
    dtype = draw(st.sampled_from(["<f8", "<f4", ">f8", "<i8", "<i4"]))
    values = st.floats(-5, 5, allow_nan=False, width=32)
    size = int(np.prod(shape))
    arrays = {
        name: np.array(draw(st.lists(values, min_size=size, max_size=size))).reshape(shape).astype(dtype)
        for name in ("predictions", "targets")
    }
    if draw(st.booleans()):
        arrays["weights"] = np.array(draw(st.lists(st.floats(0.5, 2), min_size=rows, max_size=rows)))
    request = {
        "losses": draw(st.lists(st.sampled_from(NPZ_LOSSES), min_size=1, max_size=3)),
        "include": draw(st.lists(st.sampled_from(INCLUDE), max_size=4)),
        "array_encoding": draw(st.sampled_from(["list", "base64"])),
    }
    buffer = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buffer, **arrays)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("request.json", json.dumps(request))
    return buffer.getvalue()


schemathesis.openapi.media_type("application/x-npz", npz_bodies())


@schemathesis.hook("map_body").apply_to(operation_id="log_batch")
def batch_without_losses(ctx: Any, body: Any) -> Any:
    """A run's batch takes the run's losses: an NPZ batch's request.json has no ``losses``."""
    if not isinstance(body, bytes | bytearray):
        return body
    try:
        source = zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile:  # a negative case: not an archive at all
        return body
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "request.json":
                request = json.loads(data)
                request.pop("losses", None)
                data = json.dumps(request).encode()
            archive.writestr(member, data)
    return buffer.getvalue()


@schemathesis.check
def refused_only_across_fields(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    kind = str(json.loads(response.content).get("type", "")).rsplit(":", 1)[-1]
    if kind not in ACCEPTED:
        raise AssertionError(
            f"A schema-valid request was refused with {response.status_code} {kind}: the document "
            f"allows what the service refuses.\n{response.content[:600]!r}"
        )
    return None
