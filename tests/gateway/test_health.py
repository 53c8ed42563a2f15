"""GET /health: every service's grpc.health.v1 status; 200 only when all are SERVING."""

from __future__ import annotations

from gateway.routes import service_descriptors, service_short_name
from tests.gateway.conftest import set_health


def statuses(response) -> dict[str, str]:
    return {entry["service"]: entry["status"] for entry in response.json()["services"]}


def test_all_serving_is_200_listing_each_service(client):
    r = client.get("/health")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "SERVING"
    assert statuses(r) == {service_short_name(s): "SERVING" for s in service_descriptors()}


def test_one_service_not_serving_is_503(client, other_services, grpc_loop):
    host, _ = other_services
    name = next(s.full_name for s in service_descriptors() if service_short_name(s) != "dataset")
    set_health(grpc_loop, host, name, serving=False)
    try:
        r = client.get("/health")
    finally:
        set_health(grpc_loop, host, name, serving=True)
    assert r.status_code == 503
    assert r.json()["status"] == "NOT_SERVING"
    down = {k for k, v in statuses(r).items() if v != "SERVING"}
    assert down == {name.split(".")[1]}


def test_unreachable_service_is_503_and_named(make_client, unused_address):
    r = make_client(dataset_address=unused_address).get("/health")
    assert r.status_code == 503
    assert statuses(r)["dataset"] == "UNREACHABLE"
    assert all(v == "SERVING" for k, v in statuses(r).items() if k != "dataset")
