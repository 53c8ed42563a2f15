"""The interceptor every server shares, on a real server: requests that are not the method's protobuf message,
enum numbers the enum does not define, and the token, all refused naming what is wrong."""

from __future__ import annotations

import grpc
import pytest

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.common.request_checks import has_enums, undefined_enum_error
from services.dataset.server import build_server
from tests.grpc_harness import expect_error, running

GET = "/finetune.dataset.v1.DatasetService/GetDataset"
UPLOAD = "/finetune.dataset.v1.DatasetService/UploadDataset"
ROWS = "/finetune.dataset.v1.DatasetService/ReadDatasetRows"


def raw(channel, kind: str, path: str):
    return getattr(channel, kind)(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)


async def test_a_request_that_is_not_protobuf_is_invalid_argument_not_unknown(make_settings):
    async with running(build_server, make_settings("dataset")) as channel:
        await expect_error(raw(channel, "unary_unary", GET)(b"\xff\xff\xff\xff"), grpc.StatusCode.INVALID_ARGUMENT,
                           "MALFORMED_REQUEST", "is not a protobuf message")

        async def chunks():
            yield pb.UploadDatasetRequest(metadata=pb.UploadMetadata(filename="a.csv")).SerializeToString()
            yield b"\xff\xff\xff"

        await expect_error(raw(channel, "stream_unary", UPLOAD)(chunks()), grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        await expect_error(stub.GetDataset(pb.GetDatasetRequest(name="datasets/nope")), grpc.StatusCode.NOT_FOUND)


async def test_an_undefined_enum_number_is_invalid_argument_naming_the_field(make_settings):
    """`split: 99` was read as the default split."""
    async with running(build_server, make_settings("dataset")) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        _, metadata = await expect_error(anext(aiter(stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name="datasets/x", split=99)))),
                                         grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ENUM_VALUE", "split has no value 99: use one of SPLIT_TRAIN")
        assert metadata == {"field": "split", "value": "99"}


def test_enums_are_found_at_any_depth_and_in_repeated_fields():
    from finetune.jobs.v1 import job_pb2, jobs_service_pb2 as jobs

    nested = jobs.CreateSweepRequest()
    nested.sweep.algorithm = 42
    assert undefined_enum_error(nested).metadata["field"] == "sweep.algorithm"
    listed = jobs.ListJobsResponse(jobs=[job_pb2.Job(state=job_pb2.JOB_STATE_QUEUED), job_pb2.Job(state=99)])
    assert undefined_enum_error(listed).metadata["field"] == "jobs[1].state"
    assert undefined_enum_error(jobs.ListJobsRequest(state=job_pb2.JOB_STATE_QUEUED)) is None
    assert not has_enums(pb.GetDatasetRequest.DESCRIPTOR) and has_enums(jobs.CreateSweepRequest.DESCRIPTOR)


@pytest.mark.parametrize("header", ["Bearer s3cret", "bearer s3cret", "BEARER   s3cret"])
async def test_the_servers_token_check_takes_the_scheme_in_any_case(make_settings, header):
    async with running(build_server, make_settings("dataset", api_token="s3cret")) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        await stub.ListDatasets(pb.ListDatasetsRequest(), metadata=(("authorization", header),))
        await expect_error(stub.ListDatasets(pb.ListDatasetsRequest(), metadata=(("authorization", "Basic s3cret"),)),
                           grpc.StatusCode.UNAUTHENTICATED)
