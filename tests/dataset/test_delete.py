"""Deleting a dataset: refused while an unfinished job needs it (the real jobs service is asked), refused
when the jobs service cannot be asked, and never racing an upload of the same content into a row whose
file is gone."""

from __future__ import annotations

import asyncio
import functools
import socket
import threading

import grpc

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from finetune.jobs.v1 import jobs_service_pb2 as jpb, jobs_service_pb2_grpc
from services.dataset.server import build_server
from services.dataset.service import DatasetServicer
from services.jobs.clients import GrpcDatasetLookup
from services.jobs.server import build_server as build_jobs_server
from tests.dataset.test_service import upload_stream
from tests.grpc_harness import expect_error, running
from tests.jobs.helpers import FAST_ENV, builtin_only_checker, job_request, serve

CSV = b"input,output\n" + b"".join(f"question {i},answer {i}\n".encode() for i in range(20))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_dataset_an_unfinished_job_needs_is_not_deleted(make_settings):
    dataset_port = _free_port()
    jobs = make_settings("jobs", {**FAST_ENV, "FINETUNE_JOBS_TRAINER_ADDRESSES": "127.0.0.1:1"},  # no trainer: jobs stay queued
                         dataset_address=f"127.0.0.1:{dataset_port}")
    dataset_lookup = GrpcDatasetLookup(jobs.dataset_address)
    build_jobs = functools.partial(build_jobs_server, datasets=dataset_lookup, models=builtin_only_checker())
    async with serve(build_jobs, jobs) as (jobs_host, jobs_address):
        settings = make_settings("dataset", port=dataset_port, jobs_address=jobs_address)
        async with running(build_server, settings) as channel, grpc.aio.insecure_channel(jobs_address) as jobs_channel:
            stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
            jobs_stub = jobs_service_pb2_grpc.JobsServiceStub(jobs_channel)
            needed = await stub.UploadDataset(upload_stream(CSV, display_name="needed"))
            spare = await stub.UploadDataset(upload_stream(CSV + b"one more,row\n", display_name="spare"))
            job = await jobs_stub.CreateJob(job_request("waits", dataset=needed.name.removeprefix("datasets/")))

            _, metadata = await expect_error(stub.DeleteDataset(pb.DeleteDatasetRequest(name=needed.name)),
                                             grpc.StatusCode.FAILED_PRECONDITION, "DATASET_IN_USE",
                                             f"still needed by 1 unfinished job: {job.name}; cancel them or let them end")
            assert metadata["jobs"] == job.name and metadata["count"] == "1"
            assert (await stub.GetDataset(pb.GetDatasetRequest(name=needed.name))).name == needed.name
            await jobs_stub.CancelJob(jpb.CancelJobRequest(name=job.name))
            await stub.DeleteDataset(pb.DeleteDatasetRequest(name=needed.name))  # no unfinished job needs it now
            await expect_error(stub.GetDataset(pb.GetDatasetRequest(name=needed.name)), grpc.StatusCode.NOT_FOUND)

            await jobs_host.stop(0)
            await expect_error(stub.DeleteDataset(pb.DeleteDatasetRequest(name=spare.name)), grpc.StatusCode.UNAVAILABLE,
                               "JOBS_SERVICE_UNAVAILABLE", "cannot be reached to check that no unfinished job needs")
            assert (await stub.GetDataset(pb.GetDatasetRequest(name=spare.name))).name == spare.name
    await dataset_lookup.close()


async def test_an_upload_of_the_same_content_as_a_dataset_being_deleted_keeps_its_file(make_settings, monkeypatch):
    """The interleaving that lost the file: the upload is checked (its content hashed) while the only other
    dataset with that content is deleted, and only then stored."""
    checked, deleted = threading.Event(), threading.Event()
    prepare = DatasetServicer._prepare_upload

    def prepare_then_wait(self, *args):
        result = prepare(self, *args)
        checked.set()
        assert deleted.wait(30)
        return result

    async with running(build_server, make_settings("dataset")) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        first = await stub.UploadDataset(upload_stream(CSV, validation_fraction=0.2, seed=3))
        monkeypatch.setattr(DatasetServicer, "_prepare_upload", prepare_then_wait)
        second = asyncio.ensure_future(stub.UploadDataset(upload_stream(CSV, validation_fraction=0.2, seed=3)))
        await asyncio.to_thread(checked.wait, 30)
        await stub.DeleteDataset(pb.DeleteDatasetRequest(name=first.name))  # its files had no other user yet
        deleted.set()
        again = await second
        assert again.content_sha256 == first.content_sha256
        rows = [r async for b in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=again.name)) for r in b.rows]
        assert len(rows) == 16 and rows[0].input.startswith("question")
