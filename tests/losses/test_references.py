"""Every loss against the numbers its anchor library produced (PyTorch, Keras, Optax, ...).

The cases live in ``tests/reference/*.json``; each file names the library and version that wrote
it, and the generator beside it shows the exact calls. Values, per-sample losses and gradients must
agree to 1e-9 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from service.losses import registry
from service.losses.evaluate import LossSpec, Options, evaluate

REFERENCE = Path(__file__).parents[1] / "reference"
INCLUDE = frozenset({"per_sample", "gradient"})
# Reference files of other parts of the service (tests/monitoring reads them).
NOT_LOSSES = frozenset({"keras_early_stopping"})


def _cases() -> list[pytest.param]:
    params = []
    for path in sorted(REFERENCE.glob("*.json")):
        if path.stem in NOT_LOSSES:
            continue
        document = json.loads(path.read_text())
        for i, c in enumerate(document["cases"]):
            label = ",".join(f"{k}={v}" for k, v in c["params"].items())
            params.append(pytest.param(c, id=f"{path.stem}:{i}:{c['loss']}[{label}]-{c['reduction']}"))
    return params


CASES = _cases()


def test_reference_files_exist():
    assert len(CASES) >= 80


@pytest.mark.parametrize("case", CASES)
def test_matches_anchor(case):
    definition = registry.get(case["loss"])
    spec = LossSpec(definition, definition.params(**case["params"]))
    weights = None if case["weights"] is None else np.asarray(case["weights"], dtype=float)
    (result,) = evaluate(
        [spec],
        np.asarray(case["predictions"], dtype=float),
        None if case["targets"] is None else np.asarray(case["targets"], dtype=float),
        weights,
        Options(reduction=case["reduction"], include=INCLUDE),
    )
    if case["value"] is None:
        assert result.value is None
    else:
        assert result.value == pytest.approx(case["value"], rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(result.per_sample, case["per_sample"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.gradient, case["gradient"], rtol=1e-9, atol=1e-12)
