"""CreateRun stores the run PENDING and answers; the model and rows are prepared after. Against a dataset
service that holds its rows back: a cancel stops the preparation, and a trainer that stops mid-preparation
prepares the run again when it starts."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest

from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID, builtin_model_dir
from services.common.settings import load_settings
from services.trainer.server import build_server
from services.trainer.synthetic import synthetic_rows
from tests.fakes.slow_dataset import SlowDatasets
from tests.jobs.helpers import serve
from tests.trainer.helpers import tiny_model_dir
from tests.trainer.test_service import ENV, Events, hyper, is_state

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory)


def trainer_settings(tmp_path, tiny, dataset_address: str):
    model_dir = builtin_model_dir(tmp_path / "trainer", TINY_MODEL_ID)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    if not model_dir.exists():
        model_dir.symlink_to(tiny)
    env = {**ENV, "FINETUNE_TRAINER_WARM_WORKERS": "0"}
    return load_settings("trainer", env, port=0, data_dir=tmp_path / "trainer", dataset_address=dataset_address)


def from_dataset(run_id: str, **values) -> pb.CreateRunRequest:
    return pb.CreateRunRequest(run_id=run_id, run=run_pb2.Run(model=TINY_MODEL_ID, dataset="datasets/slow",
                                                              hyperparameters=hyper(**values)))


async def test_create_answers_pending_at_once_and_a_cancel_stops_the_preparation(tmp_path, tiny, make_settings):
    gate = SlowDatasets(synthetic_rows(8, seed=1))
    async with serve(gate.build, make_settings("dataset")) as (_, dataset_address):
        async with serve(build_server, trainer_settings(tmp_path, tiny, dataset_address)) as (_, address):
            async with grpc.aio.insecure_channel(address) as channel:
                stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
                run = await asyncio.wait_for(stub.CreateRun(from_dataset("held", max_steps=2)), 10)
                assert run.state == run_pb2.RUN_STATE_PENDING and run.attempts == 0
                await asyncio.wait_for(gate.waiting.wait(), 30)
                assert (await stub.GetCapacity(pb.GetCapacityRequest())).active_runs == 1  # preparing holds its slot
                events = Events(stub, run.name)
                cancelled = await stub.CancelRun(pb.CancelRunRequest(name=run.name))
                await events.wait(is_state(run_pb2.RUN_STATE_CANCELLED))
                done = await stub.GetRun(pb.GetRunRequest(name=run.name))
                assert cancelled.name == run.name and done.state == run_pb2.RUN_STATE_CANCELLED and done.attempts == 0
                assert (await stub.GetCapacity(pb.GetCapacityRequest())).active_runs == 0


async def test_a_trainer_stopped_mid_preparation_prepares_the_run_again_at_its_next_start(tmp_path, tiny, make_settings):
    gate = SlowDatasets(synthetic_rows(8, seed=1))
    async with serve(gate.build, make_settings("dataset")) as (_, dataset_address):
        settings = trainer_settings(tmp_path, tiny, dataset_address)
        async with serve(build_server, settings) as (host, address):
            async with grpc.aio.insecure_channel(address) as channel:
                stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
                await stub.CreateRun(from_dataset("restarted", max_steps=2))
                await asyncio.wait_for(gate.waiting.wait(), 30)
        gate.waiting.clear()
        settings = dataclasses.replace(settings, port=int(address.rsplit(":", 1)[1]))
        async with serve(build_server, settings) as (_, address):
            async with grpc.aio.insecure_channel(address) as channel:
                stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
                await asyncio.wait_for(gate.waiting.wait(), 30)  # asked for the rows again
                assert (await stub.GetRun(pb.GetRunRequest(name="runs/restarted"))).state == run_pb2.RUN_STATE_PENDING
                gate.release()
                items = await Events(stub, "runs/restarted").done()
                states = [run_pb2.RunState.Name(e.state.state) for e in items if e.WhichOneof("event") == "state"]
                assert states == ["RUN_STATE_PENDING", "RUN_STATE_RUNNING", "RUN_STATE_COMPLETED"] and gate.reads == 2
                done = await stub.GetRun(pb.GetRunRequest(name="runs/restarted"))
                assert done.attempts == 1 and done.progress.step == 2
