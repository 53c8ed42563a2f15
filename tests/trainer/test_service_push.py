"""A run whose job asks to push its model: pushed to the (fake) hub when it completes; when the hub
cannot be reached the run still completes, the model is kept, and an alert says so."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID
from services.common.settings import load_settings
from services.trainer.server import build_server
from tests.fakes.fake_hub import FAKE_USER, VALID_TOKEN, fake_hub_fixture  # noqa: F401 (the fake_hub fixture)
from tests.grpc_harness import expect_error, running
from tests.trainer.test_service import ENV, hyper, rows
from tests.trainer.helpers import TRAIN_ROWS

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def lfs_not_xet(monkeypatch):
    """The fake hub speaks LFS, not Xet; the push runs in this process, so the switch reaches it."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


async def finish(stub, run_id: str, saving: run_pb2.ModelSaving) -> list[run_pb2.RunEvent]:
    run = run_pb2.Run(model=TINY_MODEL_ID, hyperparameters=hyper(max_steps=2), model_saving=saving)
    await stub.CreateRun(pb.CreateRunRequest(run_id=run_id, run=run, train_rows=rows(TRAIN_ROWS)))
    call = stub.StreamRunEvents(pb.StreamRunEventsRequest(name=f"runs/{run_id}"))
    return [e async for e in call]


async def test_push_on_completion_and_a_clear_alert_when_the_hub_is_unreachable(fake_hub, tmp_path):
    env = ENV | {"FINETUNE_TRAINER_HUB_ENDPOINT": fake_hub.endpoint, "FINETUNE_TRAINER_HUB_TOKEN": VALID_TOKEN,
                 "FINETUNE_TRAINER_PUSH_TIMEOUT_SECONDS": "5"}
    settings = load_settings("trainer", env, port=0, data_dir=tmp_path)
    async with running(build_server, settings) as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        events = await asyncio.wait_for(finish(stub, "pushed", run_pb2.ModelSaving(save_model=True, model_name="support-v1", push_to_hub=True)), 180)
        assert events[-1].state.state == run_pb2.RUN_STATE_COMPLETED
        repo = fake_hub.repos[f"{FAKE_USER}/support-v1"]
        assert repo.private and "config.json" in repo.contents and "README.md" in repo.contents
        assert any(e.WhichOneof("event") == "log" and "pushed" in e.log.message for e in events)

        unreachable = run_pb2.ModelSaving(save_model=True, model_name="kept", push_to_hub=True, hub_endpoint="http://127.0.0.1:9",
                                          hub_token="hf_the_callers_own")  # another hub takes only the caller's token
        events = await asyncio.wait_for(finish(stub, "kept", unreachable), 180)
        assert events[-1].state.state == run_pb2.RUN_STATE_COMPLETED
        alerts = [e.alert for e in events if e.WhichOneof("event") == "alert" and e.alert.code == "PUSH_FAILED"]
        assert alerts and "kept" in alerts[0].message
    assert (tmp_path / "trainer" / "runs" / "kept" / "artifacts" / "model" / "config.json").exists()


async def test_the_trainers_token_never_goes_to_a_hub_the_caller_chose(tmp_path):
    """A caller once named any host as hub_endpoint and the push sent the trainer's HUB_TOKEN there."""
    env = ENV | {"FINETUNE_TRAINER_HUB_ENDPOINT": "http://127.0.0.1:9/", "FINETUNE_TRAINER_HUB_TOKEN": VALID_TOKEN}
    settings = load_settings("trainer", env, port=0, data_dir=tmp_path)
    async with running(build_server, settings) as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        for endpoint in ("http://attacker.example", "https://huggingface.co"):
            saving = run_pb2.ModelSaving(save_model=True, push_to_hub=True, hub_endpoint=endpoint)
            run = run_pb2.Run(model=TINY_MODEL_ID, hyperparameters=hyper(max_steps=2), model_saving=saving)
            _, metadata = await expect_error(
                stub.CreateRun(pb.CreateRunRequest(run_id="elsewhere", run=run, train_rows=rows(TRAIN_ROWS))),
                grpc.StatusCode.INVALID_ARGUMENT, "HUB_ENDPOINT_NOT_CONFIGURED", "give model_saving.hub_token to push elsewhere")
            assert metadata["field"] == "model_saving.hub_endpoint"
        assert not (tmp_path / "trainer" / "runs" / "elsewhere").exists()
        for endpoint in ("http://127.0.0.1:9", "HTTP://127.0.0.1:9/"):  # the configured hub, however spelled
            saving = run_pb2.ModelSaving(push_to_hub=True, hub_endpoint=endpoint)
            run = run_pb2.Run(model=TINY_MODEL_ID, hyperparameters=hyper(max_steps=1), model_saving=saving)
            created = await stub.CreateRun(pb.CreateRunRequest(run_id=f"configured{len(endpoint)}", run=run, train_rows=rows(TRAIN_ROWS)))
            await stub.CancelRun(pb.CancelRunRequest(name=created.name))


async def test_a_run_that_brought_its_own_token_never_pushes_with_the_trainers(fake_hub, tmp_path):
    """The run's token is kept 0600 in its folder; gone, the push fails rather than use the trainer's account."""
    env = ENV | {"FINETUNE_TRAINER_HUB_ENDPOINT": fake_hub.endpoint, "FINETUNE_TRAINER_HUB_TOKEN": VALID_TOKEN}
    settings = load_settings("trainer", env, port=0, data_dir=tmp_path)
    async with running(build_server, settings) as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        saving = run_pb2.ModelSaving(save_model=True, model_name="own-token", push_to_hub=True, hub_token="hf_the_jobs_own")
        run = run_pb2.Run(model=TINY_MODEL_ID, hyperparameters=hyper(max_steps=2), model_saving=saving)
        created = await stub.CreateRun(pb.CreateRunRequest(run_id="own", run=run, train_rows=rows(TRAIN_ROWS)))
        assert not created.model_saving.hub_token  # never answered
        token_file = tmp_path / "trainer" / "runs" / "own" / ".hub_token"
        assert token_file.read_text() == "hf_the_jobs_own" and token_file.stat().st_mode & 0o777 == 0o600
        token_file.unlink()
        events = [e async for e in stub.StreamRunEvents(pb.StreamRunEventsRequest(name="runs/own"))]
    assert events[-1].state.state == run_pb2.RUN_STATE_COMPLETED
    alerts = [e.alert for e in events if e.WhichOneof("event") == "alert" and e.alert.code == "PUSH_FAILED"]
    assert alerts and "hub token run 'runs/own' was given is gone" in alerts[0].message
    assert f"{FAKE_USER}/own-token" not in fake_hub.repos
