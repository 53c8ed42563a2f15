"""Errors: gRPC statuses to HTTP through the shared table, one JSON shape, 400s that name the field, no 500s."""

from __future__ import annotations

import grpc
import pytest

from gateway.errors import upstream_error
from services.common.errors import AlreadyExists, FailedPrecondition, ResourceExhausted
from services.common.grpc_errors import abort_args


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str, trailing=()):
        self._code, self._details, self._trailing = code, details, trailing

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailing


def from_domain(exc) -> FakeRpcError:
    code, details, trailing = abort_args(exc)
    return FakeRpcError(code, details, trailing)


@pytest.mark.parametrize(
    "error, status, code, reason",
    [
        (from_domain(AlreadyExists("taken", reason="MODEL_EXISTS")), 409, "ALREADY_EXISTS", "MODEL_EXISTS"),
        (from_domain(FailedPrecondition("finished", reason="JOB_FINISHED")), 412, "FAILED_PRECONDITION", "JOB_FINISHED"),
        (from_domain(ResourceExhausted("busy", reason="TRAINER_AT_CAPACITY")), 429, "RESOURCE_EXHAUSTED", "TRAINER_AT_CAPACITY"),
        (FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "no token"), 401, "UNAUTHENTICATED", "UNAUTHENTICATED"),
        (FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), 504, "DEADLINE_EXCEEDED", "UPSTREAM_TIMEOUT"),
        (FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused"), 503, "UNAVAILABLE", "SERVICE_UNAVAILABLE"),
        (FakeRpcError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!"), 501, "UNIMPLEMENTED", "UNIMPLEMENTED"),
    ],
)
def test_statuses_map_through_the_shared_table(error, status, code, reason):
    api = upstream_error(error, "jobs")
    assert (api.status_code, api.code, api.reason) == (status, code, reason)
    assert api.body()["error"]["message"]


def test_bad_json_body_is_400(client):
    r = client.post("/v1/datasets/dataset_0_x:repair", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == "MALFORMED_JSON"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"min_input_chars": "many"}, "min_input_chars"),
        ({"keepEmpty": "perhaps"}, "keepEmpty"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_wrong_types_and_unknown_fields_are_400_naming_the_field(client, body, field):
    r = client.post("/v1/datasets/dataset_0_x:repair", json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["reason"] == "INVALID_FIELD" and field in err["message"]


def test_body_that_is_not_an_object_is_400(client):
    r = client.post("/v1/datasets/dataset_0_x:repair", json=[1, 2])
    assert r.status_code == 400 and r.json()["error"]["reason"] == "INVALID_BODY"
    for path in ("/v1/datasets/dataset_0_x:repair", "/api/jobs"):  # null is not "no body": it was read as {}
        r = client.post(path, content=b"null", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["reason"] == "INVALID_BODY", r.text
        assert "not null" in r.json()["error"]["message"]


def test_query_parameter_mistakes_are_400(client):
    r = client.get("/v1/datasets", params={"page_size": "lots"})
    assert r.status_code == 400 and r.json()["error"]["metadata"]["field"] == "page_size"
    r = client.get("/v1/datasets", params={"colour": "blue"})
    assert r.status_code == 400
    assert "page_size" in r.json()["error"]["message"]  # lists what is accepted


def test_unknown_path_is_404_and_wrong_method_405(client):
    r = client.get("/v1/nothing/here")
    assert r.status_code == 404 and r.json()["error"]["reason"] == "ROUTE_NOT_FOUND"
    r = client.put("/v1/datasets/dataset_0_x")
    assert r.status_code == 405 and r.json()["error"]["reason"] == "METHOD_NOT_ALLOWED"
    assert r.headers["allow"] == "DELETE, GET, HEAD, PATCH"


def test_unreachable_service_is_503_naming_it(make_client, unused_address):
    client = make_client(dataset_address=unused_address)
    r = client.get("/v1/datasets")
    assert r.status_code == 503
    err = r.json()["error"]
    assert (err["code"], err["reason"], err["metadata"]) == ("UNAVAILABLE", "SERVICE_UNAVAILABLE", {"service": "dataset"})
    assert "dataset service" in err["message"]



@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b'{"min_input_chars": ' + b"[" * 33 + b"]" * 33 + b"}",
])
def test_a_body_nested_too_deep_is_400(client, body):
    """100,000 levels once raised RecursionError in the gateway: a 500."""
    r = client.post("/v1/datasets/dataset_0_x:repair", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["reason"] == "JSON_TOO_DEEP" and "32 levels" in r.json()["error"]["message"]


def test_a_utf8_byte_order_mark_is_read_as_json_and_other_encodings_are_400(client):
    bom = client.post("/v1/datasets/dataset_0_x:repair", content=b'\xef\xbb\xbf{"keep_empty": true}', headers={"content-type": "application/json"})
    assert bom.json()["error"]["reason"] == "DATASET_NOT_FOUND", bom.text  # parsed, and the service was asked
    latin1 = client.post("/v1/datasets/dataset_0_x:repair", content='{"tags": "café"}'.encode("latin-1"), headers={"content-type": "application/json"})
    assert latin1.status_code == 400 and "not UTF-8" in latin1.json()["error"]["message"]


def test_a_lone_surrogate_escape_in_a_body_is_400_with_an_encodable_message(client):
    for body in (b'{"no_such_field\\ud800": 1}', b'{"dataset": {"display_name": "x\\udfff"}}'):
        r = client.patch("/v1/datasets/dataset_0_x", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "INVALID_ARGUMENT"


def test_a_5xx_closes_the_connection(make_client, unused_address):
    r = make_client(dataset_address=unused_address).get("/v1/datasets")
    assert r.status_code == 503 and r.headers["connection"] == "close"
