"""JSON request bodies, decoded by msgspec into a shape derived from their request model.

The body is decoded straight into a msgspec Struct made from the model's fields, so the parser
itself enforces what no later step should have to defend against:

- an array field (declared with ``ArrayInput``, marked by ``ARRAY_FIELD``) holds nested lists of
  numbers or null, at most ``MAX_DIMENSIONS`` levels deep, or a tensor object: a boolean or a
  string inside it is refused where it stands, and a deeper list is never read further;
- any other field holds a JSON value nested at most ``FIELD_DEPTH`` levels (request fields need
  three: ``losses`` → a spec → a list parameter), its integral numbers (5.0) as integers, which
  JSON Schema says they are;
- an unknown field is refused before its value is read, and the body must be an object.

Nesting is therefore bounded before any recursion (msgspec's, Pydantic's, NumPy's or ours) can go
deep. Violations are 422 problems naming the field; bytes that are not JSON are a 400.
"""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from typing import Any, Union

import msgspec
from pydantic import BaseModel

from .arrays import MAX_DIMENSIONS, bad_array
from .problems import Problem, validation_problem

FIELD_DEPTH = 6


class ArrayField:
    """Marks a request model's field as an array: ``Annotated[Any, ..., ARRAY_FIELD]``."""


ARRAY_FIELD = ArrayField()

Scalar = Union[bool, int, float, str, None]  # noqa: UP007  (a runtime value for msgspec)


def json_value(depth: int) -> Any:
    """Any JSON value with at most ``depth`` levels of arrays and objects (2^depth union nodes)."""
    value: Any = Scalar
    for _ in range(depth):
        value = Union[bool, int, float, str, None, list[value], dict[str, value]]  # noqa: UP007
    return value


def array_value() -> Any:
    """Nested lists of numbers or null, 1 to MAX_DIMENSIONS levels; a tensor object; or null."""
    element: Any = Union[float, None]  # noqa: UP007
    for _ in range(MAX_DIMENSIONS - 1):
        element = Union[float, None, list[element]]  # noqa: UP007
    tensor = dict[str, Union[Scalar, list[Scalar]]]  # noqa: UP007
    return Union[list[element], tensor, None]  # noqa: UP007


def is_array_field(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field carries ``ARRAY_FIELD``, directly or inside its annotation (``ArrayInput | None``)."""
    if any(isinstance(item, ArrayField) for item in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return is_array_field(typing.get_args(annotation)[0], list(annotation.__metadata__))
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return any(is_array_field(arg, []) for arg in typing.get_args(annotation))
    return False


def integral(value: Any) -> Any:
    """``value`` with every integral float (5.0) as an int: JSON Schema's integers include them.

    Recursion is bounded: values come from ``json_value(FIELD_DEPTH)``.
    """
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [integral(item) for item in value]
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    return value


class Shape:
    """The msgspec decoder of one request model, and which of its JSON keys are arrays."""

    def __init__(self, model: type[BaseModel]) -> None:
        fields = []
        self.keys: dict[str, str] = {}  # Struct attribute -> JSON key
        self.arrays: set[str] = set()
        for name, info in model.model_fields.items():
            key = info.alias or name
            array = is_array_field(info.annotation, info.metadata)
            fields.append((name, array_value() if array else json_value(FIELD_DEPTH), msgspec.UNSET))
            self.keys[name] = key
            if array:
                self.arrays.add(key)
        struct = msgspec.defstruct(
            model.__name__, fields, forbid_unknown_fields=True, rename=self.keys, kw_only=True
        )
        self.decoder = msgspec.json.Decoder(struct)

    def decode(self, body: bytes | bytearray, location: str) -> dict[str, Any]:
        try:
            decoded = self.decoder.decode(body)
        except msgspec.ValidationError as error:
            raise self.problem(str(error), location) from None
        except msgspec.DecodeError as error:
            raise Problem(
                400,
                "invalid-json",
                "Body is not valid JSON",
                f"The request body is not valid JSON: {error}.",
                [(location, str(error))],
            ) from None
        fields = {}
        for name, key in self.keys.items():
            value = getattr(decoded, name)
            if value is not msgspec.UNSET:
                fields[key] = value if key in self.arrays else integral(value)
        return fields

    def problem(self, error: str, location: str) -> Problem:
        """The 422 for a msgspec validation error, located at the field (and position) to blame."""
        match = _ERROR.fullmatch(error)
        message, path = (match["message"], match["path"]) if match else (error, None)
        unknown = _UNKNOWN.match(message)
        if unknown:
            return validation_problem(
                [{"loc": (unknown["key"],), "msg": "Extra inputs are not permitted"}], location
            )
        parts, below_keys = _parts(path)
        if not parts:
            return validation_problem(
                [{"loc": (), "msg": f"expected a JSON object, {_got(message)}."}], location
            )
        if parts[0] in self.arrays:
            return _array_problem(message, parts, below_keys, location)
        if message.startswith("Number out of range"):
            return validation_problem(
                [{"loc": parts, "msg": "the number is too large for float64."}], location
            )
        depth = f"nested more than {FIELD_DEPTH} levels deep: the service reads no deeper."
        return validation_problem([{"loc": parts[:1], "msg": depth}], location)


_ERROR = re.compile(r"(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?", re.DOTALL)
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<key>.*)`", re.DOTALL)
_GOT = re.compile(r"got `(?P<type>\w+)`")
_PART = re.compile(r"\.(?P<key>[^.\[]+)|\[(?P<index>\d+)\]|(?P<keys>\[\.\.\.\])")
_NAMES = {"bool": "a boolean", "str": "a string", "object": "an object", "array": "an array"}


def _got(message: str) -> str:
    """``got a boolean`` from msgspec's ``..., got `bool```."""
    found = _GOT.search(message)
    if found is None:
        return message
    return "got " + _NAMES.get(found["type"], "a number")


def _parts(path: str | None) -> tuple[tuple[str | int, ...], bool]:
    """``.predictions[1][0]`` as ``("predictions", 1, 0)``, and whether it went on into object keys
    (msgspec writes those ``[...]``; the location ends there)."""
    parts: list[str | int] = []
    for part in _PART.finditer(path or ""):
        if part["keys"] is not None:
            return tuple(parts), True
        parts.append(part["key"] if part["key"] is not None else int(part["index"]))
    return tuple(parts), False


def _array_problem(message: str, parts: tuple[str | int, ...], below_keys: bool, location: str) -> Problem:
    field = f"{location}.{parts[0]}"
    where = field + "".join(f"[{index}]" for index in parts[1:])
    if message.startswith("Number out of range"):
        return bad_array(where, "the number is too large for float64.")
    if below_keys:
        return bad_array(
            field, "a tensor object holds dtype (a string), shape (a list of integers), data (base64)."
        )
    if len(parts) == 1:
        return bad_array(
            field,
            'expected an array: nested lists of numbers, or a tensor object {"dtype", "shape", "data"}.',
        )
    got = _got(message)
    if got == "got a boolean":
        return bad_array(where, "booleans are not numbers: expected a number or null.")
    if got == "got an array":
        limit = f"at most {MAX_DIMENSIONS} dimensions"
        return bad_array(field, f"nested lists deeper than {MAX_DIMENSIONS} levels: an array has {limit}.")
    return bad_array(where, f"expected a number or null, {got}.")


@cache
def shape_of(model: type[BaseModel]) -> Shape:
    return Shape(model)


def decode(body: bytes | bytearray, model: type[BaseModel], location: str = "body") -> dict[str, Any]:
    """The fields of a JSON body for ``model`` (the keys sent, arrays as nested lists), or a problem."""
    return shape_of(model).decode(body, location)
