"""The committed OpenAPI document is what the app serves, and it documents every loss."""

from __future__ import annotations

import json

import pytest

from service import openapi_document
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
