"""/ui/: the dashboard's files, served from the package with their content types, caching and CSP."""

from __future__ import annotations

import re

import pytest

from service.ui import STATIC
from service.ui.routes import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.anyio


def referenced_assets() -> list[str]:
    return re.findall(r'(?:href|src)="([^"#:]+)"', (STATIC / "index.html").read_text())


async def test_ui_redirects_to_the_page(client):
    response = await client.get("/ui")
    assert response.status_code == 308
    assert response.headers["location"] == "ui/"
    followed = await client.get("/ui", follow_redirects=True)
    assert followed.status_code == 200 and str(followed.url).endswith("/ui/")


async def test_the_page_is_html_with_a_strict_policy(client):
    response = await client.get("/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == (STATIC / "index.html").read_bytes()
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    for directive in ("script-src", "style-src", "connect-src", "img-src"):
        assert directives[directive] == "'self'", directive
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"]


@pytest.mark.parametrize(
    ("suffix", "content_type", "cache"),
    [
        (".js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
        (".css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"),
        (".svg", "image/svg+xml", "no-cache"),
    ],
)
async def test_every_asset_of_the_page_is_served(client, suffix, content_type, cache):
    (name,) = [asset for asset in referenced_assets() if asset.endswith(suffix)]
    response = await client.get(f"/ui/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == cache
    assert response.content == (STATIC / name).read_bytes()


async def test_a_known_version_is_not_sent_again(client):
    first = await client.get("/ui/")
    again = await client.get("/ui/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/ui/missing.js", "/ui/..%2Froutes.py", "/ui/%2e%2e/__init__.py"])
async def test_unknown_files_are_a_404_problem(client, path):
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_page_loads_without_a_key_while_the_api_needs_one(make_client):
    async with make_client(api_keys=["secret"]) as client:
        assert (await client.get("/v1/losses")).status_code == 401
        for path in ["/ui/", *(f"/ui/{asset}" for asset in referenced_assets())]:
            assert (await client.get(path)).status_code == 200, path


async def test_the_dashboard_is_not_in_the_api_document(client):
    paths = (await client.get("/v1/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]


async def test_requests_are_counted_under_the_dashboard_route(client):
    await client.get("/ui/")
    await client.get("/ui/missing.js")
    metrics = (await client.get("/metrics")).text
    assert 'route="/ui/{path:path}",status="200"' in metrics
    assert 'route="/ui/{path:path}",status="404"' in metrics
