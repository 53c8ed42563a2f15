"""The web dashboard's static files: served at / on every port, client routes fall back to index.html,
hashed assets cached for good, gzip when asked, API paths never answered with the page."""

from __future__ import annotations

import gzip

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from services.common.settings import load_settings

INDEX = b"<!doctype html><html><head><script type=module src=/assets/app-1a2b.js></script></head><body></body></html>"
SCRIPT = b"console.log('dashboard');" * 100


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "app-1a2b.js").write_bytes(SCRIPT)
    (tmp_path / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    return tmp_path


def app_client(web_dir, **overrides) -> TestClient:
    return TestClient(create_app(load_settings("gateway", {"FINETUNE_GATEWAY_WEB_DIR": str(web_dir)}, **overrides)))


def test_the_page_and_every_client_route_answer_index_html(dist):
    client = app_client(dist)
    for path in ("/", "/jobs", "/jobs/job_1751023766790_b0zqofldb", "/datasets/new?x=1"):
        r = client.get(path)
        assert r.status_code == 200 and r.content == INDEX, path
        assert r.headers["content-type"].startswith("text/html") and r.headers["cache-control"] == "no-cache"


def test_assets_are_cached_for_good_and_gzipped_when_asked(dist):
    client = app_client(dist)
    r = client.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.content == SCRIPT  # httpx decodes it
    assert r.headers["content-encoding"] == "gzip" and "immutable" in r.headers["cache-control"]
    assert r.headers["content-type"].startswith("text/javascript") or r.headers["content-type"].startswith("application/javascript")
    raw = client.get("/assets/app-1a2b.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == SCRIPT
    assert len(gzip.compress(SCRIPT)) < len(SCRIPT)
    again = client.get("/assets/app-1a2b.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.head("/").status_code == 200


def test_api_paths_and_missing_assets_stay_json_errors(dist):
    client = app_client(dist)
    for path in ("/api/nothing", "/v1/nothing", "/assets/gone-123.js"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND", path
    r = client.post("/jobs", json={})
    assert r.status_code in (404, 405) and "error" in r.json()
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")


def test_an_unbuilt_dashboard_says_how_to_build_it(tmp_path):
    r = app_client(tmp_path / "missing").get("/")
    assert r.status_code == 503 and "make web" in r.text


def test_with_a_token_the_page_is_public_and_the_api_is_not(dist):
    client = app_client(dist, api_token="s3cret")
    assert client.get("/").status_code == 200 and client.get("/jobs/x").status_code == 200
    assert client.get("/assets/app-1a2b.js").status_code == 200
    assert client.get("/v1/datasets").status_code == 401 and client.get("/api/jobs").status_code == 401
    assert client.post("/jobs").status_code == 401  # only reads of the page itself are public
