"""GET /v1/losses and /v1/losses/{name}: the catalogue is complete and derived from the registry."""

from __future__ import annotations

import pytest

from service.losses import registry

pytestmark = pytest.mark.anyio

FIELDS = {
    "name",
    "aliases",
    "family",
    "summary",
    "formula",
    "parameters",
    "input_modes",
    "has_gradient",
    "reductions",
    "curve",
    "equivalents",
    "differences",
    "notes",
    "nonnegative",
    "targets",
}
# SPEC §5: losses of stacked parts, gaussian_nll and ctc have no curve; triplet_margin takes no targets.
NO_CURVE = {
    "margin_ranking",
    "pairwise_logistic",
    "pairwise_hinge",
    "ranking_softmax",
    "contrastive",
    "cosine_embedding",
    "triplet_margin",
    "gaussian_nll",
    "ctc",
}


async def test_catalogue_lists_every_registered_loss_with_complete_metadata(client):
    response = await client.get("/v1/losses")
    assert response.status_code == 200
    entries = response.json()["losses"]
    assert [e["name"] for e in entries] == [d.name for d in registry.definitions()]
    for entry in entries:
        assert set(entry) == FIELDS
        assert entry["summary"] and entry["formula"], entry["name"]
        assert entry["input_modes"] and all(m["shapes"] for m in entry["input_modes"])
        assert entry["equivalents"] or entry["notes"], f"{entry['name']} names no anchor"
        assert entry["parameters"]["type"] == "object"
        for name, schema in entry["parameters"].get("properties", {}).items():
            assert "default" in schema, f"{entry['name']}.{name} has no default"
    by_name = {entry["name"]: entry for entry in entries}
    assert NO_CURVE <= set(by_name)
    assert all(not by_name[name]["curve"] for name in NO_CURVE)
    assert [name for name, entry in by_name.items() if entry["targets"] == "none"] == ["triplet_margin"]
    assert by_name["triplet_margin"]["input_modes"][0]["targets"] == []
    assert by_name["pairwise_logistic"]["aliases"] == ["ranknet"]


async def test_entry_by_alias_is_the_canonical_entry(client):
    canonical = (await client.get("/v1/losses/mean_squared_error")).json()
    for alias in ("mse", "l2"):
        assert (await client.get(f"/v1/losses/{alias}")).json() == canonical
    huber = (await client.get("/v1/losses/huber")).json()
    assert huber["parameters"]["properties"]["delta"]["default"] == 1.0
    assert huber["parameters"]["properties"]["delta"]["exclusiveMinimum"] == 0


def test_registry_refuses_duplicate_names():
    definition = registry.get("huber")
    with pytest.raises(ValueError, match="already registered"):
        registry.add(definition)
