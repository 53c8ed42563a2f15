"""One error table: each domain error maps to a gRPC code and an HTTP status, and back by reason."""

import grpc
import pytest

from services.common import errors
from services.common.grpc_errors import abort_args, error_info_from_metadata


@pytest.mark.parametrize(
    "cls,code,http",
    [
        (errors.InvalidArgument, "INVALID_ARGUMENT", 400),
        (errors.NotFound, "NOT_FOUND", 404),
        (errors.AlreadyExists, "ALREADY_EXISTS", 409),
        (errors.FailedPrecondition, "FAILED_PRECONDITION", 412),
        (errors.PayloadTooLarge, "RESOURCE_EXHAUSTED", 413),
        (errors.ResourceExhausted, "RESOURCE_EXHAUSTED", 429),
        (errors.Unavailable, "UNAVAILABLE", 503),
    ],
)
def test_table(cls, code, http):
    exc = cls("fix this", reason="SOME_REASON")
    assert exc.grpc_code == code and exc.http_status == http
    status_code, message, trailing = abort_args(exc)
    assert status_code == grpc.StatusCode[code] and message == "fix this"
    reason, _ = error_info_from_metadata(trailing)
    assert reason == "SOME_REASON"


def test_reason_picks_the_http_status_where_codes_are_shared():
    assert errors.http_status_for("RESOURCE_EXHAUSTED", "PAYLOAD_TOO_LARGE") == 413
    assert errors.http_status_for("RESOURCE_EXHAUSTED", "QUOTA") == 429  # unknown reason: the generic class
    assert errors.http_status_for("RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED") == 429
    assert errors.http_status_for("NOT_FOUND", "DATASET_NOT_FOUND") == 404
    assert errors.http_status_for("UNIMPLEMENTED") == 501
