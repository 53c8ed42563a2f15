"""The optional API token: off by default; when set, every path but health and docs needs it, and the
gateway forwards it to the services, which check it themselves."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from services.common.settings import load_settings
from tests.gateway.conftest import gateway_settings

TOKEN = "s3cret"


@pytest.fixture(scope="module")
def guarded_dataset(servers, module_dir) -> str:
    """A second dataset service that itself requires the token."""
    from services.dataset.server import build_server

    settings = load_settings("dataset", {}, port=0, data_dir=module_dir / "guarded", api_token=TOKEN)
    settings.data_dir.mkdir(exist_ok=True)
    return servers.start(build_server, settings)[1]


@pytest.fixture
def guarded(make_client, guarded_dataset):
    return make_client(dataset_address=guarded_dataset, api_token=TOKEN)


def test_off_by_default(client):
    assert client.get("/v1/datasets").status_code == 200


def test_token_required_everywhere_but_health_and_docs(guarded):
    r = guarded.get("/v1/datasets")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer" and r.json()["error"]["code"] == "UNAUTHENTICATED"
    assert guarded.get("/v1/datasets", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.post("/api/preview-csv", files={"file": ("a.csv", b"input,output\na,b\n")}).status_code == 401
    for path in ("/health", "/openapi.json", "/docs"):
        assert guarded.get(path).status_code in (200, 503), path


def test_token_is_forwarded_to_the_service(guarded):
    r = guarded.get("/v1/datasets", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text  # the guarded dataset service accepted the forwarded metadata


def test_service_rejection_maps_to_401(make_client, guarded_dataset):
    # Gateway without a token in front of a service that wants one: the service's answer comes back as 401.
    r = make_client(dataset_address=guarded_dataset).get("/v1/datasets")
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHENTICATED"


def test_websocket_needs_the_token_too(guarded):
    with pytest.raises(WebSocketDisconnect) as closed:
        with guarded.websocket_connect("/ws/training/job_1") as ws:
            ws.receive_json()
    assert closed.value.code == 1008 and "missing or wrong API token" in closed.value.reason


def test_browser_preflight_from_the_dashboard_needs_no_token(guarded):
    headers = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    r = guarded.options("/api/preview-csv", headers=headers)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"
    r = guarded.get("/v1/datasets", headers={"Origin": "http://localhost:3000", "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_settings_read_the_token_from_the_environment():
    settings = gateway_settings("127.0.0.1:1", "127.0.0.1:2", {"FINETUNE_GATEWAY_API_TOKEN": TOKEN})
    assert settings.api_token == TOKEN


@pytest.mark.parametrize("header", [f"bearer {TOKEN}", f"BEARER {TOKEN}", f"Bearer   {TOKEN}", f"bEaReR {TOKEN} "])
def test_the_scheme_is_case_insensitive_at_the_gateway_and_at_the_service(guarded, header):
    """RFC 9110: the auth scheme is case-insensitive. The guarded dataset service checks the forwarded header too."""
    r = guarded.get("/v1/datasets", headers={"Authorization": header})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("header", [f"Basic {TOKEN}", "Bearer", f"Bearer{TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"])
def test_anything_but_the_token_in_the_bearer_scheme_is_401(guarded, header):
    assert guarded.get("/v1/datasets", headers={"Authorization": header}).status_code == 401


def test_health_shows_a_caller_without_the_token_only_names_and_statuses(guarded):
    anonymous = guarded.get("/health").json()["services"]
    assert anonymous and all(set(e) == {"service", "grpc_service", "status"} for e in anonymous)
    known = guarded.get("/health", headers={"Authorization": f"Bearer {TOKEN}"}).json()["services"]
    assert all(e["address"].startswith("127.0.0.1:") for e in known)
