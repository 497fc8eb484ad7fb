"""The committed OpenAPI document is what the app serves, and it documents every loss."""

from __future__ import annotations

import json
import re

import pytest

from service import openapi_document
from service.api import openapi
from service.api.arrays import MAX_DIMENSIONS
from service.api.schemas import SHARED_SCHEMAS
from service.losses import registry

pytestmark = pytest.mark.anyio


async def test_committed_document_matches_the_served_one(client):
    served = (await client.get("/v1/openapi.json")).json()
    committed = json.loads(openapi_document.DOCUMENT.read_text())
    assert served == committed, "openapi/v1.json is stale: run python -m service.openapi_document"
    assert openapi_document.render(served) == openapi_document.DOCUMENT.read_bytes()
    assert served["openapi"].startswith("3.1")


async def test_every_loss_spec_is_in_the_request_schema(client):
    document = (await client.get("/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    union = schemas["EvaluateRequest"]["properties"]["losses"]["items"]["anyOf"]
    names = set(union[0]["enum"])
    assert names == set(registry.all_names())
    mapping = union[1]["discriminator"]["mapping"]
    assert set(mapping) == names
    assert schemas["HuberSpec"]["properties"]["delta"]["default"] == 1.0
    for status in ("400", "413", "415", "422"):
        content = document["paths"]["/v1/evaluate"]["post"]["responses"][status]["content"]
        assert list(content) == ["application/problem+json"]


async def test_docs_work_offline(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    asset = await client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000


async def test_every_operation_has_a_named_tag_and_a_stable_operation_id(client):
    document = (await client.get("/v1/openapi.json")).json()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    tags = {op["operationId"]: op["tags"] for op in operations}
    assert all(len(t) == 1 and t[0] in openapi.TAGS for t in tags.values()), tags
    expected = {
        "list_losses": "catalogue",
        "get_loss": "catalogue",
        "loss_curve": "catalogue",
        "evaluate": "evaluation",
        "healthz": "operations",
        "readyz": "operations",
    }
    assert {i: t[0] for i, t in tags.items() if i in expected} == expected
    # /docs shows one group per tag, in the document's order, each described.
    assert [t["name"] for t in document["tags"]] == [
        t for t in openapi.TAGS if t in {v[0] for v in tags.values()}
    ]
    assert all(t["description"] for t in document["tags"])


async def test_request_schemas_are_in_validation_mode_and_state_the_constraints(client):
    schemas = (await client.get("/v1/openapi.json")).json()["components"]["schemas"]
    evaluate, curve = schemas["EvaluateRequest"], schemas["CurveRequest"]
    assert sorted(evaluate["required"]) == ["losses", "predictions"]  # targets: not for triplet_margin
    assert "required" not in curve
    assert evaluate["properties"]["reduction"]["default"] == "mean"
    for n in range(1, MAX_DIMENSIONS + 1):
        assert schemas[f"Array{n}D"]["minItems"] == 1
    assert schemas["Array1D"]["items"] == {"anyOf": [{"type": "number"}, {"type": "null"}]}
    assert schemas["Weights"]["items"]["anyOf"][0] == {"type": "number", "minimum": 0}
    shape = schemas["Tensor"]["properties"]["shape"]
    assert (shape["minItems"], shape["maxItems"], shape["items"]["minimum"]) == (1, MAX_DIMENSIONS, 1)
    assert (
        evaluate["properties"]["losses"]["minItems"] == 1
        and evaluate["properties"]["losses"]["maxItems"] == 32
    )
    # Arrays are named components everywhere, never inline copies (generators need the names).
    text = json.dumps({k: v for k, v in schemas.items() if k not in SHARED_SCHEMAS})
    assert '"title": "Tensor"' not in text and '"#/components/schemas/Array1D"' in text


async def test_paths_state_what_they_accept_and_what_they_may_answer(client):
    document = (await client.get("/v1/openapi.json")).json()
    curve = document["paths"]["/v1/losses/{name}/curve"]["post"]
    (name,) = [p for p in curve["parameters"] if p["name"] == "name"]
    curve_losses = {n for d in registry.definitions() if d.scalar_prediction for n in (d.name, *d.aliases)}
    assert set(name["schema"]["enum"]) == curve_losses
    evaluate = document["paths"]["/v1/evaluate"]["post"]["requestBody"]["content"]
    assert set(evaluate) == {"application/json", "application/x-npz"}
    for operations in document["paths"].values():
        for op in operations.values():
            overloaded = op["responses"]["503"]
            assert (
                list(overloaded["content"]) == ["application/problem+json"]
                and "Retry-After" in overloaded["headers"]
            )
