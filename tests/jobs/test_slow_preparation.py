"""A run whose preparation (the dataset's rows, a model download) is slower than the dispatcher's CreateRun
deadline, with one and with two real trainers: the trainer answers CreateRun at once with the run PENDING,
the job is RUNNING on one trainer with one attempt, and it trains once to the end when the rows come."""

from __future__ import annotations

import asyncio
import contextlib
import functools

import grpc
import pytest
import pytest_asyncio

from finetune.jobs.v1 import jobs_service_pb2_grpc
from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as tpb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID, builtin_model_dir
from services.common.settings import load_settings
from services.jobs.clients import DatasetInfo
from services.jobs.server import build_server as build_jobs_server
from services.trainer.server import build_server as build_trainer_server
from services.trainer.synthetic import synthetic_rows
from tests.fakes.slow_dataset import SlowDatasets
from tests.jobs.helpers import FAST_ENV, FakeDatasets, builtin_only_checker, get_job, in_state, job_request, serve, wait_for
from tests.trainer.helpers import tiny_model_dir

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

DEADLINE_S = 1.0  # the jobs service's RPC deadline, CreateRun's included
TRAINER_ENV = {"FINETUNE_TRAINER_EVAL_ROWS": "2", "FINETUNE_TRAINER_SAMPLE_GENERATIONS": "0", "FINETUNE_TRAINER_NUM_THREADS": "1",
               "FINETUNE_TRAINER_WARM_WORKERS": "0"}
SMALL = dict(batch_size=4, max_seq_length=64, learning_rate=1e-3, epochs=1, max_steps=2, save_steps=0, lora_dropout=0.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory)


@pytest_asyncio.fixture(loop_scope="module")
async def world(tmp_path, tiny, make_settings):
    """start(n): a slow dataset service, n real trainers on it (each its own data dir, the tiny model built
    once) and a jobs service dispatching to them; (the gate, a jobs stub, trainer stubs)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(trainers: int):
            gate = SlowDatasets(synthetic_rows(16, seed=3, min_length=5, max_length=30))
            _, dataset_address = await stack.enter_async_context(serve(gate.build, make_settings("dataset")))
            addresses = []
            for n in range(trainers):
                data_dir = tmp_path / f"trainer-{n}"
                model_dir = builtin_model_dir(data_dir, TINY_MODEL_ID)
                model_dir.parent.mkdir(parents=True)
                model_dir.symlink_to(tiny)
                settings = load_settings("trainer", TRAINER_ENV, port=0, data_dir=data_dir, dataset_address=dataset_address)
                addresses.append((await stack.enter_async_context(serve(build_trainer_server, settings)))[1])
            env = dict(FAST_ENV, FINETUNE_JOBS_TRAINER_ADDRESSES=",".join(addresses),
                       FINETUNE_JOBS_RPC_TIMEOUT_SECONDS=str(DEADLINE_S))
            datasets = FakeDatasets(dataset_slow=DatasetInfo("dataset_slow", "Slow", 16, 0))
            build = functools.partial(build_jobs_server, datasets=datasets, models=builtin_only_checker())
            _, jobs_address = await stack.enter_async_context(serve(build, load_settings("jobs", env, port=0, data_dir=tmp_path / "jobs")))
            channels = [await stack.enter_async_context(grpc.aio.insecure_channel(a)) for a in [jobs_address, *addresses]]
            return (gate, jobs_service_pb2_grpc.JobsServiceStub(channels[0]),
                    [trainer_service_pb2_grpc.TrainerServiceStub(c) for c in channels[1:]])

        yield start


async def runs_of(trainers, job_uid: str) -> list[list[run_pb2.Run]]:
    return [list((await t.ListRuns(tpb.ListRunsRequest(job_id=job_uid))).runs) for t in trainers]


@pytest.mark.parametrize("trainers", [1, 2])
async def test_a_preparation_slower_than_the_deadline_runs_the_job_once(world, trainers):
    gate, stub, trainer_stubs = await world(trainers)
    job = await stub.CreateJob(job_request("slow rows", dataset="dataset_slow", **SMALL))
    await asyncio.wait_for(gate.waiting.wait(), 60)  # the run is preparing: its rows are held back
    running = await wait_for(lambda: get_job(stub, job.name), in_state("running"), what="the job dispatched")
    assert running.attempts == 1 and [t.reason for t in running.transitions] == ["SUBMITTED", "ENQUEUED", "DISPATCHED"]

    # Longer than the CreateRun deadline, on purpose: nothing may be retried or sent to the other trainer.
    await asyncio.sleep(3 * DEADLINE_S)
    runs = await runs_of(trainer_stubs, job.job_uid)
    assert sorted(len(r) for r in runs) == [0] * (trainers - 1) + [1], runs
    [run] = [r for rs in runs for r in rs]
    assert run.state == run_pb2.RUN_STATE_PENDING and run.attempts == 0
    still = await get_job(stub, job.name)
    assert still.attempts == 1 and len(still.transitions) == 3 and gate.reads == 1

    gate.release()
    done = await wait_for(lambda: get_job(stub, job.name), in_state("completed", "failed"), timeout=120, what="the job's end")
    assert in_state("completed")(done), done.error
    assert done.attempts == 1 and done.metrics.step == 2
    assert [t.reason for t in done.transitions] == ["SUBMITTED", "ENQUEUED", "DISPATCHED", "RUN_COMPLETED"]
    runs = await runs_of(trainer_stubs, job.job_uid)
    assert sum(len(r) for r in runs) == 1 and gate.reads == 1
    [run] = [r for rs in runs for r in rs]
    assert run.state == run_pb2.RUN_STATE_COMPLETED and run.attempts == 1  # one worker, once
