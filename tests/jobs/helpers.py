"""What the jobs tests share: requests in the guide's shapes, a fake dataset lookup, servers in process on
port 0, and polling."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time

import grpc
from google.protobuf import duration_pb2

from finetune.jobs.v1 import configuration_pb2, job_pb2, jobs_service_pb2 as pb, jobs_service_pb2_grpc, sweep_pb2 as spb
from finetune.trainer.v1 import run_pb2
from services.catalog.builtin_models import BUILTIN_MODELS, SPECIAL_TOKENS, builtin_parameters, is_builtin
from services.common.errors import NotFound
from services.common.server import channel_options
from services.common.settings import MB
from services.jobs.clients import DatasetInfo, ModelCheck
from services.jobs.server import build_server
from tests.grpc_harness import expect_error  # noqa: F401 (re-exported for the jobs tests)

TINY = "finetune-builtin/tiny-llama-3m"
HIGH, MEDIUM, LOW = job_pb2.JOB_PRIORITY_HIGH, job_pb2.JOB_PRIORITY_MEDIUM, job_pb2.JOB_PRIORITY_LOW


def job_request(name: str = "job", *, priority: int = MEDIUM, dataset: str = "dataset_small", model: str = TINY,
                timeout_s: float = 0, gpu_count: int = 0, tags=(), **values) -> pb.CreateJobRequest:
    request = pb.CreateJobRequest(
        name=name, tags=list(tags), priority=priority, gpu_count=gpu_count,
        configuration=job_pb2.JobConfiguration(model=job_pb2.ResourceReference(uid=model),
                                               dataset=job_pb2.ResourceReference(uid=dataset),
                                               hyperparameters=run_pb2.Hyperparameters(**values)))
    if timeout_s:
        request.timeout.CopyFrom(duration_pb2.Duration(seconds=int(timeout_s)))
    return request


def state_name(value: int) -> str:
    return job_pb2.JobState.Name(value).removeprefix("JOB_STATE_").lower()


async def get_job(stub, job: str):
    return await stub.GetJob(pb.GetJobRequest(name=job if job.startswith("jobs/") else f"jobs/{job}"))


def in_state(*states: str):
    return lambda job: state_name(job.state) in states


def sweep_request(ranges, *, algorithm=spb.SEARCH_ALGORITHM_BAYESIAN, max_trials=3, parallel=1, pruning=False,
                  dataset="dataset_small", **fixed) -> pb.CreateSweepRequest:
    return pb.CreateSweepRequest(sweep=spb.Sweep(
        display_name="lr search", algorithm=algorithm, max_trials=max_trials, parallel_trials=parallel, pruning=pruning, seed=7,
        configuration=job_pb2.JobConfiguration(model=job_pb2.ResourceReference(uid=TINY), dataset=job_pb2.ResourceReference(uid=dataset),
                                               hyperparameters=run_pb2.Hyperparameters(**fixed)),
        search_space=[configuration_pb2.ParameterRange(**r) for r in ranges]))


def sweep_state(sweep) -> str:
    return spb.SweepState.Name(sweep.state).removeprefix("SWEEP_STATE_").lower()


FAST_ENV = {
    "FINETUNE_JOBS_POLL_INTERVAL_SECONDS": "0.1",
    "FINETUNE_JOBS_TRAINER_LOST_AFTER_SECONDS": "1",
    "FINETUNE_JOBS_TIMEOUT_GRACE_SECONDS": "0",
    "FINETUNE_JOBS_METRICS_INTERVAL_SECONDS": "0",
    "FINETUNE_JOBS_SWEEP_POLL_SECONDS": "0.2",
}


class FakeDatasets:
    """The dataset service's GetDataset, from a dict."""

    def __init__(self, **datasets: DatasetInfo):
        self.datasets = {"dataset_small": DatasetInfo("dataset_small", "Small Q&A", 500, 50),
                         "dataset_noval": DatasetInfo("dataset_noval", "No validation", 2000, 0), **datasets}

    async def __call__(self, dataset_id: str) -> DatasetInfo:
        if dataset_id not in self.datasets:
            raise NotFound(f"dataset 'datasets/{dataset_id}' does not exist", reason="DATASET_NOT_FOUND")
        return self.datasets[dataset_id]


LLAMA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def builtin_only_checker():
    """The catalog's answer for built-in models (size, shape, LoRA targets); any other model is named as unknown."""

    async def check(model_id: str, values: dict) -> ModelCheck:
        if is_builtin(model_id):
            spec = BUILTIN_MODELS[model_id]
            return ModelCheck([], builtin_parameters(model_id), LLAMA_TARGETS, spec.hidden_size, spec.num_layers,
                              256 + len(SPECIAL_TOKENS))
        return ModelCheck([f"model {model_id!r} is not known here: use a built-in model (finetune-builtin/...)"])

    return check


@contextlib.asynccontextmanager
async def serve(build, settings):
    """(host, "127.0.0.1:port") of a started server; stopped after."""
    host, port = build(settings)
    await host.start()
    try:
        yield host, f"127.0.0.1:{port}"
    finally:
        await host.stop(0)


@contextlib.asynccontextmanager
async def jobs_client(settings, datasets=None, models=None):
    """A started jobs service and a stub to it."""
    build = functools.partial(build_server, datasets=datasets or FakeDatasets(), models=models or builtin_only_checker())
    async with serve(build, settings) as (host, address):
        channel = grpc.aio.insecure_channel(address, options=channel_options(16 * MB))
        try:
            yield jobs_service_pb2_grpc.JobsServiceStub(channel)
        finally:
            await channel.close()


async def wait_for(get, predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll `await get()` until `predicate(value)`; the last value on success. A failed call counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await get()
        except grpc.aio.AioRpcError as exc:
            value = exc
        else:
            if predicate(value):
                return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value:\n{value}")
        await asyncio.sleep(0.05)


