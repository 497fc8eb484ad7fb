"""Hypothesis fuzz of the array codecs: whatever arrives (random bytes, dtypes, shapes, nesting), the
decoder returns a float64 array of the claimed shape or raises a client problem (400, 413, 422),
never anything else; and tensors round-trip exactly."""

from __future__ import annotations

import base64
import math

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from service.api.arrays import DTYPES, MAX_DIMENSIONS, decode, encode
from service.api.problems import Problem

LIMIT = 10_000
CLIENT_STATUSES = {400, 413, 422}

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=40,
)
tensor_like = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from([*DTYPES, "float128", "bool", ""]) | json_value,
        "shape": st.lists(st.integers(min_value=-2, max_value=2**40), max_size=4) | json_value,
        "data": st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
        | st.text(max_size=20)
        | json_value,
        "extra": json_value,
    },
)


def decodes_or_refuses(value: object) -> None:
    try:
        array = decode(value, "body.predictions", LIMIT)
    except Problem as problem:
        assert problem.status in CLIENT_STATUSES, problem.detail
        assert problem.errors and problem.errors[0][0].startswith("body.predictions")
        return
    assert array.dtype == np.float64
    assert array.size <= LIMIT


@settings(max_examples=300, deadline=None)
@given(json_value)
def test_any_json_value_decodes_or_is_a_client_problem(value):
    decodes_or_refuses(value)


@settings(max_examples=300, deadline=None)
@given(tensor_like)
def test_any_tensor_object_decodes_or_is_a_client_problem(value):
    decodes_or_refuses(value)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_through_the_json_parser_and_decoder(raw):
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    decodes_or_refuses(value)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(DTYPES)),
    st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=MAX_DIMENSIONS),
    st.data(),
)
def test_tensors_round_trip_exactly(dtype, shape, data):
    count = math.prod(shape)
    raw = data.draw(
        st.binary(
            min_size=count * np.dtype(DTYPES[dtype]).itemsize,
            max_size=count * np.dtype(DTYPES[dtype]).itemsize,
        )
    )
    # Signalling NaNs in float16/32 data warn when cast (NumPy's "invalid value"): quiet NaN results,
    # which the codec gives without a warning.
    with np.errstate(invalid="ignore"):
        expected = np.frombuffer(raw, DTYPES[dtype]).reshape(shape).astype(np.float64)
    tensor = {"dtype": dtype, "shape": shape, "data": base64.b64encode(raw).decode()}
    array = decode(tensor, "body.predictions", LIMIT)
    np.testing.assert_array_equal(array, expected)
    again = encode(array, "base64")
    assert again["shape"] == shape
    np.testing.assert_array_equal(
        np.frombuffer(base64.b64decode(again["data"]), "<f8").reshape(shape), expected
    )
    # Truncated data is a 400, never a wrong-shaped array.
    if raw:
        short = dict(tensor, data=base64.b64encode(raw[:-1]).decode())
        try:
            decode(short, "body.predictions", LIMIT)
        except Problem as problem:
            assert problem.status == 400
        else:
            raise AssertionError("truncated tensor data was accepted")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=MAX_DIMENSIONS).flatmap(
        lambda shape: st.builds(
            lambda flat: np.array(flat, dtype=np.float64).reshape(shape).tolist(),
            st.lists(
                st.floats(allow_nan=False, allow_infinity=False, width=64),
                min_size=math.prod(shape),
                max_size=math.prod(shape),
            ),
        )
    )
)
def test_nested_lists_decode_to_their_values(nested):
    array = decode(nested, "body.predictions", LIMIT)
    np.testing.assert_array_equal(array, np.array(nested, dtype=np.float64))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=0, max_size=MAX_DIMENSIONS + 3).filter(
        lambda shape: not 1 <= len(shape) <= MAX_DIMENSIONS or 0 in shape
    )
)
def test_empty_or_too_many_dimensions_are_refused_in_every_form(shape):
    tensor = {
        "dtype": "float64",
        "shape": shape,
        "data": base64.b64encode(bytes(8 * math.prod(shape))).decode(),
    }
    nested = np.zeros(shape).tolist() if shape else 0.0
    for value in (tensor, nested):
        try:
            decode(value, "body.predictions", LIMIT)
        except Problem as problem:
            assert problem.status == 422 and problem.kind == "invalid-array", problem.detail
        else:
            raise AssertionError(f"an array of shape {shape} was accepted")
