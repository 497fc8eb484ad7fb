"""Loss specs as typed on the command line."""

from __future__ import annotations

import pytest

from service.cli.specs import SpecError, parse_spec


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("mse", "mse"),
        ("huber:delta=2", {"name": "huber", "delta": 2}),
        (
            "bce:from_logits=true,label_smoothing=0.1",
            {"name": "bce", "from_logits": True, "label_smoothing": 0.1},
        ),
        (
            "cross_entropy:input=logits,class_weights=[1, 2.5,3]",
            {"name": "cross_entropy", "input": "logits", "class_weights": [1, 2.5, 3]},
        ),
        ("quantile:quantile=0.9,", {"name": "quantile", "quantile": 0.9}),
    ],
)
def test_specs_parse(text, spec):
    assert parse_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "name"),
        ("9lives", "name"),
        ("huber:delta", "not param=value"),
        ("huber:=2", "not param=value"),
        ("huber:delta=1,delta=2", "twice"),
        ("ce:class_weights=[1,2", "unbalanced"),
        ("ce:class_weights=1,2]", "unbalanced"),
    ],
)
def test_malformed_specs_are_refused(text, why):
    with pytest.raises(SpecError, match=why):
        parse_spec(text)
