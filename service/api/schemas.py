"""Request and response models of the v1 API, and the loss-spec union built from the registry.

Array fields are declared with their JSON Schema (nested lists of numbers, or a base64 tensor
object) but are not walked by Pydantic: ``arrays.decode`` turns them into NumPy directly, which is
several times faster than validating a million floats one by one.

Request models validate strictly (``STRICT``): JSON booleans are not numbers and numbers are not
booleans, strings are neither, and an integer field takes a JSON integer. Every request model sets
``STRICT``, declares arrays with ``ArrayInput``, and is read with ``body.read_json``.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ..losses import registry
from ..losses.base import Params, Reduction
from ..losses.evaluate import Include, NanPolicy
from .arrays import DTYPES, MAX_DIMENSIONS, ArrayEncoding
from .decoding import ARRAY_FIELD

COMPONENTS = "#/components/schemas/"
NUMBER_OR_NULL: dict[str, Any] = {"anyOf": [{"type": "number"}, {"type": "null"}]}

TENSOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Tensor",
    "description": "An array as base64 of its little-endian, C-order bytes: len(data) decodes to "
    "prod(shape) elements of dtype.",
    "properties": {
        "dtype": {"type": "string", "enum": list(DTYPES)},
        "shape": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "minItems": 1,
            "maxItems": MAX_DIMENSIONS,
        },
        "data": {"type": "string", "contentEncoding": "base64"},
    },
    "required": ["dtype", "shape", "data"],
    "additionalProperties": False,
}


def _nested_lists(dimensions: int) -> dict[str, Any]:
    inner = NUMBER_OR_NULL if dimensions == 1 else {"$ref": f"{COMPONENTS}Array{dimensions - 1}D"}
    return {
        "type": "array",
        "title": f"Array{dimensions}D",
        "description": f"{dimensions}-dimensional nested lists of numbers, rectangular, null for a missing "
        "value; every list holds at least one item.",
        "minItems": 1,
        "items": inner,
    }


# Named schemas the models refer to (arrays, parameter sets): named, not inline nor recursive, is
# what client generators turn into types. ``openapi.build`` adds them to the document.
SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    **{f"Array{n}D": _nested_lists(n) for n in range(1, MAX_DIMENSIONS + 1)},
    "Weights": {
        "type": "array",
        "title": "Weights",
        "description": "One weight per sample, >= 0 (null for a missing value).",
        "minItems": 1,
        "items": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]},
    },
    "Tensor": TENSOR_SCHEMA,
    "ParameterSet": {
        "type": "object",
        "title": "ParameterSet",
        "description": "A loss's parameters by name: numbers, booleans, strings, null or lists of numbers.",
        "additionalProperties": {
            "anyOf": [
                {"type": "number"},
                {"type": "boolean"},
                {"type": "string"},
                {"type": "null"},
                {"type": "array", "items": {"type": "number"}},
            ]
        },
    },
}
ARRAYS = [{"$ref": f"{COMPONENTS}Array{n}D"} for n in range(1, MAX_DIMENSIONS + 1)]
ArrayInput = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": f"Nested lists of numbers, 1 to {MAX_DIMENSIONS} dimensions (null: a missing "
            "value), or a tensor object.",
            "anyOf": [*ARRAYS, {"$ref": f"{COMPONENTS}Tensor"}],
        }
    ),
    ARRAY_FIELD,
]
WeightsInput = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": "Sample weights (N,), >= 0, or a tensor object.",
            "anyOf": [{"$ref": f"{COMPONENTS}Weights"}, {"$ref": f"{COMPONENTS}Tensor"}],
        }
    ),
    ARRAY_FIELD,
]
ArrayOutput = Annotated[
    Any,
    WithJsonSchema(
        {
            "description": "Nested lists (array_encoding 'list', null for non-finite values) or a "
            "float64 tensor object (array_encoding 'base64').",
            "anyOf": [*ARRAYS, {"$ref": f"{COMPONENTS}Tensor"}],
        }
    ),
]
Number = Annotated[float | None, Field(description="null when not finite")]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


STRICT = ConfigDict(extra="forbid", strict=True)


class Strict(BaseModel):
    """Mixin: strict validation for a model whose own config does not say so (a loss's parameters)."""

    model_config = ConfigDict(strict=True)


def _tuple_from_list(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _takes_tuple(annotation: Any) -> bool:
    return typing.get_origin(annotation) is tuple or any(_takes_tuple(a) for a in typing.get_args(annotation))


@cache
def params_model(name: str) -> type[Params]:
    """A loss's parameter model as requests are validated: strict, and a JSON array where the core
    keeps a tuple (strict validation takes only a tuple for one)."""
    definition = registry.get(name)
    tuples = {
        field: (Annotated[info.annotation, BeforeValidator(_tuple_from_list)], info)
        for field, info in definition.params.model_fields.items()
        if _takes_tuple(info.annotation)
    }
    model = create_model(  # type: ignore[call-overload]
        definition.params.__name__,
        __base__=(definition.params, Strict),
        __doc__=definition.params.__doc__,
        **tuples,
    )
    return typing.cast(type[Params], model)


@cache
def spec_model(name: str) -> type[BaseModel]:
    """``{"name": ..., **params}`` for one loss: its parameter model plus the name tag."""
    definition = registry.get(name)
    names = (definition.name, *definition.aliases)
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{_camel(definition.name)}Spec",
        __base__=params_model(name),
        __doc__=f"{definition.name}: {definition.summary}",
        name=(Literal[names], Field(description="Canonical name or alias.")),  # type: ignore[valid-type,arg-type]
    )
    return model


def _spec_input(value: Any) -> Any:
    """Accept a bare name for a spec with default parameters, and name unknown losses clearly."""
    if isinstance(value, str):
        value = {"name": value}
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        name = value["name"]
        if not registry.is_name(name):
            matches = registry.suggest(name)
            hint = f" Did you mean {', '.join(map(repr, matches))}?" if matches else ""
            raise PydanticCustomError(
                "unknown_loss",
                "Unknown loss '{name}'.{hint} GET /v1/losses lists them all.",
                {"name": name, "hint": hint},
            )
    return value


@cache
def loss_spec_type() -> Any:
    """The discriminated union of every loss's spec, accepting bare names too."""
    definitions = registry.definitions()
    names = tuple(registry.all_names())
    # Built at run time from the registry: a type to Pydantic, opaque to a static checker.
    union = Annotated[  # type: ignore[valid-type]
        Union[tuple(spec_model(d.name) for d in definitions)],  # type: ignore[misc]  # noqa: UP007
        Field(discriminator="name"),
    ]
    loss_name = Annotated[str, WithJsonSchema({"type": "string", "enum": list(names), "title": "LossName"})]
    return Annotated[
        union,
        BeforeValidator(_spec_input, json_schema_input_type=Union[loss_name, union]),  # noqa: UP007
    ]


@cache
def evaluate_request_model() -> type[BaseModel]:
    LossSpecInput = loss_spec_type()  # noqa: N806
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "EvaluateRequest",
        __config__=STRICT,
        __doc__="Evaluate one or more losses on one set of arrays.",
        losses=(
            list[LossSpecInput],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=32,  # type: ignore[valid-type]
                description="1 to 32 losses: names, or objects with a name and parameters.",
            ),
        ),
        predictions=(
            ArrayInput,
            Field(
                description="Predictions, one row per sample: (N,), (N, D), or stacked parts such as "
                "(N, 3, D); each loss's catalogue entry gives its shapes."
            ),
        ),
        targets=(
            ArrayInput | None,
            Field(
                None,
                description="Targets, one row per sample. May be omitted or null only when no loss of "
                'the request takes targets (catalogue "targets": "none").',
            ),
        ),
        weights=(WeightsInput | None, Field(None, description="Sample weights (N,), >= 0.")),
        reduction=(Reduction, "mean"),
        nan_policy=(NanPolicy, "raise"),
        include=(list[Include], Field(["stats"], max_length=5)),
        top_k=(int, Field(5, ge=0, le=1000, description="Rows listed in stats.top.")),
        array_encoding=(ArrayEncoding, "list"),
    )
    return model


MAX_CURVES = 32


class CurveRequest(BaseModel):
    """A loss and its gradient over a range of scalar predictions for one fixed target."""

    model_config = STRICT

    params: Annotated[
        dict[str, Any] | Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_CURVES)],
        WithJsonSchema(
            {
                "description": "The loss's parameters (its catalogue entry lists them); a list of 1 to "
                f"{MAX_CURVES} parameter sets draws one curve each.",
                "anyOf": [
                    {"$ref": f"{COMPONENTS}ParameterSet"},
                    {
                        "type": "array",
                        "items": {"$ref": f"{COMPONENTS}ParameterSet"},
                        "minItems": 1,
                        "maxItems": MAX_CURVES,
                    },
                ],
                "default": {},
            }
        ),
    ] = Field(default_factory=dict)
    target: float = Field(0.0, allow_inf_nan=False, description="The fixed target.")
    start: float = Field(-3.0, allow_inf_nan=False, description="First prediction.")
    stop: float = Field(3.0, allow_inf_nan=False, description="Last prediction.")
    num: int = Field(201, ge=2, le=10001, description="Number of points, evenly spaced.")
    array_encoding: ArrayEncoding = "list"

    @field_validator("params", mode="wrap")
    @classmethod
    def _one_error(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """One error for params, rather than one per member of its union."""
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError(
                "params",
                "params is one parameter set (an object) or a list of 1 to {limit} of them.",
                {"limit": MAX_CURVES},
            ) from None


# ---- responses -------------------------------------------------------------------------------


class TopRow(BaseModel):
    index: int
    loss: Number


class StatsModel(BaseModel):
    mean: Number
    std: Number
    min: Number
    max: Number
    sum: Number
    quantiles: dict[str, Number]
    top: list[TopRow]


class GroupModel(BaseModel):
    key: int = Field(description="Output column or class index.")
    count: int
    weight_sum: Number
    value: Number


class BreakdownModel(BaseModel):
    by: Literal["output", "class"]
    groups: list[GroupModel]


class LossResultModel(BaseModel):
    loss: str
    params: dict[str, Any]
    reduction: Reduction
    value: Number
    count: int
    weight_sum: Number
    omitted: int
    ignored: int
    clipped: int
    stats: StatsModel | None = None
    per_sample: ArrayOutput | None = None
    gradient: ArrayOutput | None = None
    breakdown: BreakdownModel | None = None


class ArraySummaryModel(BaseModel):
    mean: Number
    std: Number
    min: Number
    max: Number
    count: int
    non_finite: int


class InputsModel(BaseModel):
    predictions: ArraySummaryModel
    targets: ArraySummaryModel | None = Field(description="null when the request sent no targets.")


class EvaluateResponse(BaseModel):
    api_version: Literal["v1"]
    n_samples: int
    results: list[LossResultModel]
    inputs: InputsModel | None = None


class CurveModel(BaseModel):
    params: dict[str, Any]
    value: ArrayOutput
    gradient: ArrayOutput | None


class CurveResponse(BaseModel):
    loss: str
    target: float
    x: ArrayOutput
    curves: list[CurveModel]


class InputModeModel(BaseModel):
    name: str
    predictions: str
    targets: list[str]
    shapes: list[str]
    select: dict[str, Any]


class EquivalentModel(BaseModel):
    library: str
    function: str
    mapping: str


class CatalogueEntry(BaseModel):
    name: str
    aliases: list[str]
    family: str
    summary: str
    formula: str
    parameters: dict[str, Any] = Field(description="JSON Schema of the parameters, with defaults.")
    input_modes: list[InputModeModel]
    has_gradient: bool
    targets: Literal["required", "none"] = Field(
        description="'none': the loss takes no targets, which a request of only such losses may omit."
    )
    nonnegative: bool = Field(description="Whether every per-sample loss is >= 0.")
    reductions: list[Reduction]
    curve: bool = Field(description="Whether POST /v1/losses/{name}/curve applies.")
    equivalents: list[EquivalentModel]
    differences: list[str]
    notes: list[str]


class Catalogue(BaseModel):
    losses: list[CatalogueEntry]


class Health(BaseModel):
    status: str
