"""kill -9 of the whole trainer service mid-run: its worker dies with it, and the next trainer resumes the run."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.common.settings import load_settings
from tests.trainer.helpers import tiny_model_dir
from tests.trainer.test_service import ENV, Events, assert_contiguous, create_request, is_kind, is_state, worker_pid

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict, log_path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "services.trainer.server"], env={**os.environ, **env},
                                stdout=log, stderr=subprocess.STDOUT)


async def _serving(address: str) -> grpc.aio.Channel:
    channel = grpc.aio.insecure_channel(address)
    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(600):
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return channel
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"the trainer at {address} never became SERVING")


async def test_sigkill_of_the_service_kills_its_worker_and_the_restarted_service_resumes_the_run(tmp_path_factory, tmp_path):
    model = str(tiny_model_dir(tmp_path_factory))
    port = _free_port()
    env = {**ENV, "FINETUNE_DATA_DIR": str(tmp_path), "FINETUNE_TRAINER_PORT": str(port),
           "FINETUNE_TRAINER_WARM_WORKERS": "0", "FINETUNE_LOG_LEVEL": "WARNING"}
    settings = load_settings("trainer", env)
    first = _start(env, tmp_path / "first.log")
    try:
        channel = await _serving(f"127.0.0.1:{port}")
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        run = await stub.CreateRun(create_request("survivor", validation=False, model=model, max_steps=12, save_steps=2))
        events = Events(stub, run.name)
        await events.wait(is_kind("checkpoint"))
        await stub.PauseRun(pb.PauseRunRequest(name=run.name))  # hold it mid-run
        worker = psutil.Process(await worker_pid(settings, "survivor"))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        gone, alive = psutil.wait_procs([worker], timeout=10)
        assert not alive, "the worker outlived the trainer"
        events.task.cancel()
        await channel.close()
    finally:
        first.kill()

    second = _start(env, tmp_path / "second.log")
    try:
        channel = await _serving(f"127.0.0.1:{port}")
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        events = Events(stub, run.name)
        relaunched = await events.wait(lambda e: is_state(run_pb2.RUN_STATE_RUNNING)(e) and e.state.attempt == 2)
        assert relaunched.state.message.startswith("the trainer restarted; resuming from checkpoint-")
        await events.wait(is_state(run_pb2.RUN_STATE_PAUSED), start=events.items.index(relaunched))
        await stub.ResumeRun(pb.ResumeRunRequest(name=run.name))
        items = await events.done()
        assert_contiguous(items)
        assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED
        resumed_from = int(relaunched.state.message.rsplit("-", 1)[1])
        after = [e.step.step for e in items[items.index(relaunched):] if e.WhichOneof("event") == "step"]
        assert after == list(range(resumed_from + 1, 13))
        assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).attempts == 2
        await channel.close()
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
