"""Real jobs on the tiny built-in model: the real dataset server and trainer in process, a few steps each.

A job trains end to end across a restart of the jobs service (nothing lost, nothing run twice); a trainer
killed mid-job comes back and the job resumes from its checkpoint; a grid and a Bayesian sweep run side
by side. Slow (real training), so few steps and one dataset for the module."""

from __future__ import annotations

import csv
import dataclasses
import io

import grpc
import pytest
import pytest_asyncio

from finetune.dataset.v1 import dataset_service_pb2 as dpb, dataset_service_pb2_grpc
from finetune.jobs.v1 import configuration_pb2 as cpb, jobs_service_pb2 as pb, jobs_service_pb2_grpc, sweep_pb2 as spb
from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as tpb, trainer_service_pb2_grpc
from services.common.settings import load_settings
from services.dataset.server import build_server as build_dataset_server
from services.jobs import uid
from services.jobs.server import build_server as build_jobs_server
from services.trainer.server import build_server as build_trainer_server
from services.trainer.synthetic import synthetic_rows
from tests.jobs.helpers import FAST_ENV, builtin_only_checker, get_job, in_state, job_request, state_name, sweep_request, sweep_state, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SMALL = dict(batch_size=4, max_seq_length=64, learning_rate=1e-3, epochs=5, eval_steps=2, save_steps=2, lora_dropout=0.0)
TRAINER_ENV = {"FINETUNE_TRAINER_EVAL_ROWS": "2", "FINETUNE_TRAINER_SAMPLE_GENERATIONS": "0", "FINETUNE_TRAINER_NUM_THREADS": "1",
               "FINETUNE_TRAINER_MAX_CONCURRENT_RUNS": "2"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dataset(tmp_path_factory):
    """(dataset service address, an uploaded dataset of 32 training and 8 validation rows)."""
    settings = load_settings("dataset", {}, port=0, data_dir=tmp_path_factory.mktemp("dataset"))
    host, port = build_dataset_server(settings)
    await host.start()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["input", "output"])
    writer.writeheader()
    writer.writerows(synthetic_rows(40, seed=1, min_length=5, max_length=40))

    def upload():
        yield dpb.UploadDatasetRequest(metadata=dpb.UploadMetadata(filename="rows.csv", validation_fraction=0.2, seed=1))
        yield dpb.UploadDatasetRequest(chunk=buffer.getvalue().encode())

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        uploaded = await dataset_service_pb2_grpc.DatasetServiceStub(channel).UploadDataset(upload())
    yield f"127.0.0.1:{port}", uploaded.name.removeprefix("datasets/")
    await host.stop(0)


@pytest.fixture(scope="module")
def trainer_dir(tmp_path_factory):
    """One data dir for the module's trainers: the tiny model is built once."""
    return tmp_path_factory.mktemp("trainer")


class Stack:
    """A trainer and a jobs service on one dataset service; either can be stopped and started again."""

    def __init__(self, tmp_path, dataset_address: str, trainer_dir, **jobs_env):
        self.trainer_settings = load_settings("trainer", TRAINER_ENV, port=0, data_dir=trainer_dir, dataset_address=dataset_address,
                                              database_url=f"sqlite+aiosqlite:///{tmp_path / 'trainer.db'}")
        self.jobs_env = jobs_env
        self.jobs_settings = None
        self.dataset_address = dataset_address
        self.tmp_path = tmp_path
        self.trainer_host = self.jobs_host = None
        self.channels: list[grpc.aio.Channel] = []

    async def start_trainer(self) -> str:
        self.trainer_host, port = build_trainer_server(self.trainer_settings)
        await self.trainer_host.start()
        self.trainer_settings = dataclasses.replace(self.trainer_settings, port=port)  # the same port after a restart
        return f"127.0.0.1:{port}"

    async def start_jobs(self):
        if self.jobs_settings is None:
            env = dict(FAST_ENV, FINETUNE_JOBS_TRAINER_ADDRESSES=f"127.0.0.1:{self.trainer_settings.port}",
                       **{f"FINETUNE_JOBS_{k.upper()}": str(v) for k, v in self.jobs_env.items()})
            self.jobs_settings = load_settings("jobs", env, port=0, data_dir=self.tmp_path / "jobs", dataset_address=self.dataset_address)
        self.jobs_host, port = build_jobs_server(self.jobs_settings, models=builtin_only_checker())  # the catalog's answer
        await self.jobs_host.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.channels.append(channel)
        return jobs_service_pb2_grpc.JobsServiceStub(channel)

    def trainer_stub(self):
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.trainer_settings.port}")
        self.channels.append(channel)
        return trainer_service_pb2_grpc.TrainerServiceStub(channel)

    async def close(self):
        for channel in self.channels:
            await channel.close()
        for host in (self.jobs_host, self.trainer_host):
            if host is not None:
                await host.stop(0)


@pytest_asyncio.fixture(loop_scope="module")
async def stack(tmp_path, dataset, trainer_dir):
    made = []

    def make(**jobs_env):
        made.append(Stack(tmp_path, dataset[0], trainer_dir, **jobs_env))
        return made[-1]

    yield make
    for s in made:
        await s.close()


async def test_a_job_trains_end_to_end_across_a_restart_of_the_jobs_service(stack, dataset):
    s = stack()
    await s.start_trainer()
    stub = await s.start_jobs()
    job = await stub.CreateJob(job_request("tiny e2e", dataset=dataset[1], max_steps=8, **SMALL))
    await wait_for(lambda: get_job(stub, job.name), lambda j: state_name(j.state) == "running" and j.metrics.step >= 1,
                   timeout=60, what="training under way")
    await s.jobs_host.stop(0)  # the jobs service goes away mid-job ...
    stub = await s.start_jobs()  # ... and comes back on the same database
    done = await wait_for(lambda: get_job(stub, job.name), in_state("completed", "failed"), timeout=90, what="job end")
    assert state_name(done.state) == "completed", done.error
    assert done.attempts == 1 and done.metrics.step == 8 and done.metrics.total_steps == 8
    assert done.metrics.final_loss > 0 and done.metrics.final_validation_loss > 0 and done.metrics.training_time_seconds > 0
    assert done.metrics.tokens_per_second > 0 and done.output_dir
    assert [t.reason for t in done.transitions] == ["SUBMITTED", "ENQUEUED", "DISPATCHED", "RUN_COMPLETED"]

    runs = await s.trainer_stub().ListRuns(tpb.ListRunsRequest(job_id=job.job_uid))
    assert runs.total_size == 1 and runs.runs[0].name == f"runs/{job.job_uid}" and runs.runs[0].attempts == 1  # ran once
    best = await stub.GetBestConfiguration(pb.GetBestConfigurationRequest(mode="manual"))
    assert best.best_job == job.name and best.best_validation_loss == pytest.approx(done.metrics.final_validation_loss)


async def test_a_killed_trainer_comes_back_and_the_job_resumes_from_its_checkpoint(stack, dataset):
    s = stack(trainer_lost_after_seconds=1)
    await s.start_trainer()
    stub = await s.start_jobs()
    trainer = s.trainer_stub()
    job = await stub.CreateJob(job_request("survives", dataset=dataset[1], max_steps=24, **SMALL))
    await wait_for(lambda: trainer.GetRun(tpb.GetRunRequest(name=f"runs/{job.job_uid}")),
                   lambda r: r.progress.checkpoint_step >= 2, timeout=60, what="a checkpoint")
    await s.trainer_host.stop(0)  # kills the worker mid-run
    lost = await wait_for(lambda: get_job(stub, job.name), in_state("queued"), timeout=30, what="job back in the queue")
    assert lost.transitions[-1].reason == "TRAINER_LOST"
    await s.start_trainer()  # the trainer resumes the run from its checkpoint; the job adopts it
    done = await wait_for(lambda: get_job(stub, job.name), in_state("completed", "failed"), timeout=120, what="job end")
    assert state_name(done.state) == "completed", done.error
    reasons = [t.reason for t in done.transitions]
    assert reasons[:3] == ["SUBMITTED", "ENQUEUED", "DISPATCHED"] and "TRAINER_LOST" in reasons and reasons[-1] == "RUN_COMPLETED"
    assert done.attempts == 2 and done.metrics.step == 24

    run = await trainer.GetRun(tpb.GetRunRequest(name=f"runs/{job.job_uid}"))
    assert run.attempts == 2 and run.state == run_pb2.RUN_STATE_COMPLETED  # one run, relaunched once
    messages = [e.state.message async for e in trainer.StreamRunEvents(tpb.StreamRunEventsRequest(name=run.name))
                if e.WhichOneof("event") == "state"]
    assert any("resuming from checkpoint-" in m and "checkpoint-0" not in m for m in messages), messages
    assert (await trainer.ListRuns(tpb.ListRunsRequest(job_id=job.job_uid))).total_size == 1


async def test_grid_and_bayesian_sweeps_on_the_tiny_model(stack, dataset):
    s = stack()
    await s.start_trainer()
    stub = await s.start_jobs()
    fixed = dict(SMALL, max_steps=4)
    fixed.pop("learning_rate")
    grid = sweep_request([{"parameter": "learning_rate", "values": [5e-4, 2e-3]}], algorithm=spb.SEARCH_ALGORITHM_GRID,
                         max_trials=2, dataset=dataset[1], **fixed)
    bayes = sweep_request([{"parameter": "learning_rate", "min": 1e-4, "max": 3e-3, "log_scale": True}],
                          algorithm=spb.SEARCH_ALGORITHM_BAYESIAN, max_trials=2, pruning=True, dataset=dataset[1], **fixed)
    sweeps = [await stub.CreateSweep(grid), await stub.CreateSweep(bayes)]
    for sweep in sweeps:
        done = await wait_for(lambda sw=sweep: stub.GetSweep(pb.GetSweepRequest(name=sw.name)), lambda x: sweep_state(x) != "running",
                              timeout=150, what=f"{sweep.name} done")
        assert sweep_state(done) == "completed", done.error
        assert done.completed_trials + done.pruned_trials == 2 and done.completed_trials >= 1
        assert done.best_trial.validation_loss > 0 and uid.decode(done.best_trial.configuration_uid).mode == "automated"
        trials = (await stub.ListSweepTrials(pb.ListSweepTrialsRequest(parent=sweep.name))).trials
        assert len({t.parameters.learning_rate for t in trials}) == 2
    promoted = await stub.PromoteSweepTrial(pb.PromoteSweepTrialRequest(name=sweeps[0].name))
    assert promoted.mode == cpb.CONFIGURATION_MODE_AUTOMATED and promoted.hyperparameters.learning_rate in (5e-4, 2e-3)
