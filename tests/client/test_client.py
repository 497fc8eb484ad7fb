"""The client against a real server process: every method, answers equal to the core's, problems."""

from __future__ import annotations

import numpy as np
import pytest

from service.client import AsyncClient, Client, ProblemError, SplitError, to_json
from service.client import local as in_process
from service.client.arrays import NPZ_FROM_ELEMENTS
from service.losses import LossSpec, Options, evaluate, get

from .conftest import API_KEY, MAX_ELEMENTS
from .proxy import fault_proxy


def core(predictions, targets, losses, weights=None, **options):
    """The in-process core's results for the same request (the reference)."""
    specs = [LossSpec(get(name), get(name).params(**params)) for name, params in losses]
    include = frozenset(options.pop("include", ["stats"]))
    return evaluate(
        specs,
        np.asarray(predictions, float),
        np.asarray(targets, float),
        None if weights is None else np.asarray(weights, float),
        Options(include=include, **options),
    )


@pytest.fixture
def client(server):
    with Client(server.base, API_KEY, max_elements=MAX_ELEMENTS) as client:
        yield client


def data(n, d=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n,) if d is None else (n, d)
    return rng.normal(size=shape), rng.normal(size=shape), rng.uniform(0.1, 2.0, size=n)


def test_catalogue_and_one_entry(client):
    entries = client.losses()
    names = [entry.name for entry in entries]
    assert "mean_squared_error" in names and "huber" in names and len(names) == len(set(names))
    huber = client.loss("huber")
    assert huber.parameters["properties"]["delta"]["default"] == 1.0
    assert client.loss("mse").name == "mean_squared_error"  # aliases resolve


def test_unknown_loss_is_a_problem_with_suggestions(client):
    with pytest.raises(ProblemError) as caught:
        client.loss("msee")
    problem = caught.value
    assert problem.status == 404 and problem.type.endswith("unknown-loss")
    assert "mse" in problem.detail and problem.errors[0].location == "path.name"
    assert problem.request_id


@pytest.mark.parametrize("n", [10, 5000])  # a JSON body, then an NPZ body
def test_evaluate_equals_the_core(client, server, n):
    p, t, w = data(n, 3)
    with fault_proxy(server.base) as proxy, Client(proxy.base, API_KEY) as spied:
        result = spied.evaluate(
            p,
            t,
            ["mse", {"name": "huber", "delta": 0.5}],
            w,
            include=["stats", "per_sample", "gradient", "breakdown", "inputs"],
        )
    expected_type = "application/x-npz" if 2 * n * 3 + n >= NPZ_FROM_ELEMENTS else "application/json"
    assert [seen.content_type for seen in proxy.forwarded] == [expected_type]
    reference = core(
        p,
        t,
        [("mse", {}), ("huber", {"delta": 0.5})],
        w,
        include=["stats", "per_sample", "gradient", "breakdown"],
    )
    assert result.n_samples == n and [r.loss for r in result.results] == ["mean_squared_error", "huber"]
    for got, want in zip(result.results, reference, strict=True):
        assert got.value == want.value and got.count == want.count and got.weight_sum == want.weight_sum
        assert got.params == want.params
        np.testing.assert_array_equal(got.per_sample, want.per_sample)
        np.testing.assert_array_equal(got.gradient, want.gradient)
        assert got.stats.quantiles == want.stats.quantiles and got.stats.std == want.stats.std
        assert [(row.index, row.loss) for row in got.stats.top] == want.stats.top
        assert [g.value for g in got.breakdown.groups] == [g.value for g in want.breakdown.groups]
    assert result.inputs.predictions.count == 3 * n
    assert result["huber"] is result.results[1]


def test_array_likes_and_dtypes(client):
    as_lists = client.evaluate([[0.1, 0.9], [0.3, 0.7]], [[0.0, 1.0], [1.0, 0.0]], "mse", [1, 2])
    assert as_lists.results[0].value == pytest.approx(0.33)
    labels = client.evaluate(
        np.log(np.full((4, 3), 1 / 3)),
        np.array([0, 1, 2, 1], dtype=np.uint8),
        {"name": "cross_entropy", "input": "log_probabilities"},
    )
    assert labels.results[0].value == pytest.approx(np.log(3))
    single = np.linspace(0, 1, 6000, dtype=np.float32)
    result = client.evaluate(single, single[::-1], "mae", include=["per_sample"])
    reference = core(single, single[::-1], [("mae", {})], include=["per_sample"])[0]
    np.testing.assert_array_equal(result.results[0].per_sample, reference.per_sample)


def test_list_encoded_arrays_decode_the_same(client):
    p, t, _ = data(50)
    as_base64 = client.evaluate(p, t, "mse", include=["per_sample", "gradient"])
    as_lists = client.evaluate(p, t, "mse", include=["per_sample", "gradient"], array_encoding="list")
    np.testing.assert_array_equal(as_base64.results[0].gradient, as_lists.results[0].gradient)
    np.testing.assert_array_equal(as_base64.results[0].per_sample, as_lists.results[0].per_sample)


def test_non_finite_values_come_back_as_nan_and_none(client):
    p = np.array([0.0, np.nan, 1.0])
    result = client.evaluate(
        p, np.zeros(3), "mse", nan_policy="propagate", include=["per_sample"], array_encoding="list"
    )
    assert result.results[0].value is None
    assert np.isnan(result.results[0].per_sample[1]) and result.results[0].per_sample[2] == 1.0
    assert b'"value":null' in to_json(result)


def test_contract_problem_is_located(client):
    with pytest.raises(ProblemError) as caught:
        client.evaluate([0.1, 0.2], [0.0, 1.0], {"name": "huber", "delta": -1})
    assert caught.value.status == 422 and caught.value.errors[0].location == "body.losses[0].delta"
    with pytest.raises(ProblemError) as caught:
        client.evaluate([0.1, float("nan")], [0.0, 1.0], "mse")
    assert caught.value.errors[0].location == "body.predictions[1]"
    with pytest.raises(TypeError, match="unexpected options"):
        client.evaluate([0.1], [0.0], "mse", reduce="sum")  # type: ignore[call-arg]


def test_wrong_key_is_401_and_limits_beyond_the_clients_are_413(server):
    with Client(server.base, "wrong") as client, pytest.raises(ProblemError) as caught:
        client.losses()
    assert caught.value.status == 401 and caught.value.title == "Authentication required"
    # A client that believes the limit is higher than the service's gets the service's 413.
    with Client(server.base, API_KEY) as client, pytest.raises(ProblemError) as caught:
        client.evaluate(np.zeros(MAX_ELEMENTS + 1), np.zeros(MAX_ELEMENTS + 1), "mse")
    assert caught.value.status == 413 and caught.value.errors[0].location == "body.predictions"


def test_curve(client):
    result = client.curve("huber", [{"delta": 0.5}, {"delta": 2.0}], start=-2, stop=2, num=5)
    np.testing.assert_array_equal(result.x, [-2, -1, 0, 1, 2])
    assert [c.params["delta"] for c in result.curves] == [0.5, 2.0]
    np.testing.assert_allclose(result.curves[1].value, [2.0, 0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(result.curves[0].gradient, [-0.5, -0.5, 0.0, 0.5, 0.5])
    with pytest.raises(ProblemError) as caught:
        client.curve("cross_entropy")
    assert caught.value.status == 422


def test_request_reaches_any_endpoint(client):
    assert client.request("GET", "/v1/losses/mae")["name"] == "mean_absolute_error"
    answer = client.request(
        "POST", "/v1/evaluate", {"losses": ["mse"], "predictions": [1.0], "targets": [0.0]}
    )
    assert answer["results"][0]["value"] == 1.0


# ---- arrays beyond the element limit: split where the merge is exact ------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "sum_over_batch_size", "none"])
def test_split_equals_the_whole(client, server, reduction):
    n = MAX_ELEMENTS + 7  # (n, 2) arrays: requests of 10,000, 10,000 and 7 rows
    p, t, w = data(n, 2, seed=1)
    p[5, 1] = np.nan
    p[n - 3, 0] = np.inf
    options = {"reduction": reduction, "nan_policy": "omit", "include": ["per_sample", "gradient"]}
    with fault_proxy(server.base) as proxy, Client(proxy.base, API_KEY, max_elements=MAX_ELEMENTS) as spied:
        result = spied.evaluate(p, t, ["mse", "huber"], w, **options)
    assert sum(seen.path == "/v1/evaluate" for seen in proxy.forwarded) == 3
    reference = core(p, t, [("mse", {}), ("huber", {})], w, **options)
    assert result.n_samples == n
    for got, want in zip(result.results, reference, strict=True):
        assert got.reduction == reduction and got.count == want.count and got.omitted == want.omitted == 2
        if reduction == "none":
            assert got.value is None
        else:
            assert got.value == pytest.approx(want.value, rel=1e-12)
        assert got.weight_sum == pytest.approx(want.weight_sum, rel=1e-12)
        np.testing.assert_array_equal(got.per_sample, want.per_sample)
        np.testing.assert_allclose(got.gradient, want.gradient, rtol=1e-12, atol=0)


def test_split_under_propagate_is_unknown_as_a_whole(client):
    p, t, _ = data(MAX_ELEMENTS + 10)
    p[-1] = np.nan
    result = client.evaluate(p, t, "mse", nan_policy="propagate", include=["gradient"])
    assert result.results[0].value is None and result.results[0].weight_sum is None
    assert np.isnan(result.results[0].gradient).all()


def test_split_refuses_what_does_not_merge_exactly(client):
    p, t, _ = data(MAX_ELEMENTS + 1)
    with pytest.raises(SplitError, match="quantiles"):
        client.evaluate(p, t, "mse")  # stats by default
    with pytest.raises(SplitError, match="root_mean_squared_error"):
        client.evaluate(p, t, ["mse", "rmse"], include=[])
    with pytest.raises(SplitError, match="rows"):
        client.evaluate(p, t[:-1], "mse", include=[])


def test_split_problem_is_located_in_the_whole_array(client):
    p, t, _ = data(MAX_ELEMENTS + 100)
    p[MAX_ELEMENTS + 50] = np.nan
    with pytest.raises(ProblemError) as caught:
        client.evaluate(p, t, "mse", include=[])
    where = f"predictions[{MAX_ELEMENTS + 50}]"
    assert caught.value.errors[0].location == f"body.{where}" and where in caught.value.detail


# ---- the asyncio client, and the in-process transport ----------------------------------------


@pytest.mark.anyio
async def test_async_client_has_the_same_methods(server):
    p, t, w = data(3000, 2)
    async with AsyncClient(server.base, API_KEY, max_elements=MAX_ELEMENTS) as client:
        assert len(await client.losses()) > 20
        assert (await client.loss("l1")).name == "mean_absolute_error"
        result = await client.evaluate(p, t, "mse", w, include=["gradient"])
        curve = await client.curve("mae", num=3)
        assert (await client.request("GET", "/v1/losses/l2"))["name"] == "mean_squared_error"
        with pytest.raises(ProblemError):
            await client.evaluate(p, t[:-1], "mse")
        split = await client.evaluate(np.tile(p, (4, 1)), np.tile(t, (4, 1)), "mse", include=[])
    reference = core(p, t, [("mse", {})], w, include=["gradient"])[0]
    assert result.results[0].value == reference.value
    np.testing.assert_array_equal(result.results[0].gradient, reference.gradient)
    np.testing.assert_array_equal(curve.curves[0].value, [3.0, 0.0, 3.0])
    assert split.results[0].value == pytest.approx(core(p, t, [("mse", {})])[0].value, rel=1e-12)


def test_local_answers_equal_remote_answers(client):
    p, t, w = data(6000, 2, seed=3)
    options = {"include": ["stats", "per_sample", "gradient", "breakdown", "inputs"]}
    remote = client.evaluate(p, t, ["mse", "log_cosh"], w, **options)
    with Client(transport=in_process.transport()) as local:
        assert to_json(local.evaluate(p, t, ["mse", "log_cosh"], w, **options)) == to_json(remote)
        assert to_json(local.curve("huber")) == to_json(client.curve("huber"))
