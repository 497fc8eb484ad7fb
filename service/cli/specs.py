"""Loss specs as a person types them: ``name`` or ``name:param=value,...``.

Values are JSON where they parse as JSON (``delta=2``, ``from_logits=true``,
``class_weights=[1,2,3]``) and strings otherwise (``input=logits``). Commas inside brackets belong
to the value.
"""

from __future__ import annotations

import json
import re
from typing import Any

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class SpecError(ValueError):
    """A spec that does not follow ``name[:param=value,...]``."""


def parse_spec(text: str) -> str | dict[str, Any]:
    """``"huber:delta=2"`` -> ``{"name": "huber", "delta": 2}``; a bare name stays a string."""
    name, _, rest = text.partition(":")
    name = name.strip()
    if not NAME.fullmatch(name):
        raise SpecError(f"{text!r}: a loss spec is name or name:param=value,... (got the name {name!r}).")
    if not rest.strip():
        return name
    spec: dict[str, Any] = {"name": name}
    for item in _split(rest, text):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not NAME.fullmatch(key):
            raise SpecError(f"{text!r}: {item!r} is not param=value.")
        if key in spec:
            raise SpecError(f"{text!r}: {key} is given twice.")
        spec[key] = _value(value.strip())
    return spec


def _split(text: str, spec: str) -> list[str]:
    """Split at the commas that are not inside brackets."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth < 0:
                raise SpecError(f"{spec!r}: unbalanced brackets.")
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth:
        raise SpecError(f"{spec!r}: unbalanced brackets.")
    items.append(text[start:])
    return [item for item in items if item.strip()]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")


def parse_rule(text: str) -> dict[str, Any]:
    """An alert rule as ``name:loss=mse,split=production,window=1h,max=0.3`` (values as in specs)."""
    name, _, rest = text.partition(":")
    name = name.strip()
    if not RULE_NAME.fullmatch(name) or not rest.strip():
        raise SpecError(
            f"{text!r}: an alert rule is name:loss=...,window=...,max=...[,split=...,reduction=...]."
        )
    rule: dict[str, Any] = {"name": name}
    for item in _split(rest, text):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not NAME.fullmatch(key):
            raise SpecError(f"{text!r}: {item!r} is not field=value.")
        if key in rule:
            raise SpecError(f"{text!r}: {key} is given twice.")
        # Strings stay strings where JSON would read them otherwise ("1h" is not JSON; "1" is).
        rule[key] = _value(value.strip()) if key in ("max", "window") else value.strip()
    return rule
