"""Statuses fit gRPC's trailer limit: an error that echoes a huge value still arrives with its code and reason."""

from __future__ import annotations

import grpc
import pytest

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.common.errors import InvalidArgument
from services.common.grpc_errors import TRAILER_BUDGET_BYTES, _trailer_bytes, abort_args, error_info_from_metadata, fit_to_trailer
from services.dataset.server import build_server
from tests.grpc_harness import expect_error, running


@pytest.mark.parametrize("size", [10, 5_000, 100_000])
def test_message_and_metadata_are_shortened_to_fit(size):
    value = "é" * size  # percent-encoded in grpc-message: 6 bytes a character
    exc = InvalidArgument(f"name {value!r} is bad", reason="INVALID_NAME", metadata={"name": value, **{f"k{i}": value for i in range(50)}})
    message, metadata = fit_to_trailer(exc)
    assert _trailer_bytes(exc, message, metadata) <= TRAILER_BUDGET_BYTES
    assert message.startswith("name '") and (size > 100 or message == exc.message)
    _, details, trailing = abort_args(exc)
    assert details == message and error_info_from_metadata(trailing)[0] == "INVALID_NAME"


def test_lone_surrogates_are_escaped_not_an_encoding_error():
    exc = InvalidArgument("bad value '\ud800'", reason="INVALID_FIELD", metadata={"value": "\udfff"})
    _, details, trailing = abort_args(exc)
    assert details == "bad value '\\ud800'" and error_info_from_metadata(trailing)[1] == {"value": "\\udfff"}


@pytest.mark.parametrize("length", [129, 5_000, 60_000])
async def test_an_id_of_thousands_of_characters_is_invalid_argument_naming_the_field(make_settings, length):
    """It once answered RESOURCE_EXHAUSTED: the status echoing the id overflowed the client's 8 KiB trailer limit."""
    async with running(build_server, make_settings("dataset")) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        _, metadata = await expect_error(stub.GetDataset(pb.GetDatasetRequest(name="datasets/" + "a" * length)),
                                         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME", "at most 128 characters")
        assert metadata["field"] == "name"
