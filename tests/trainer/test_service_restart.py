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


async def _completes_from(events: Events, relaunched, checkpoint: int) -> None:
    """The run completes, the relaunched worker training every step after `checkpoint` once, in order."""
    items = await events.done()
    assert_contiguous(items)
    assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED
    steps = [e.step for e in items[items.index(relaunched):] if e.WhichOneof("event") == "step"]
    assert [e.step for e in steps] == list(range(checkpoint + 1, steps[-1].total_steps + 1))


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _service_env(tmp_path) -> dict:
    return {**ENV, "FINETUNE_DATA_DIR": str(tmp_path), "FINETUNE_TRAINER_PORT": str(_free_port()),
            "FINETUNE_TRAINER_WARM_WORKERS": "0", "FINETUNE_LOG_LEVEL": "WARNING"}


async def _connect(env: dict):
    channel = await _serving(f"127.0.0.1:{env['FINETUNE_TRAINER_PORT']}")
    return channel, trainer_service_pb2_grpc.TrainerServiceStub(channel)


async def _relaunched(env: dict, name: str):
    """The restarted trainer's stream of the run, and the run's state event of its second worker."""
    channel, stub = await _connect(env)
    events = Events(stub, name)
    relaunched = await events.wait(lambda e: is_state(run_pb2.RUN_STATE_RUNNING)(e) and e.state.attempt == 2)
    return channel, stub, events, relaunched


async def _checkpointed_run(env: dict, tmp_path_factory, run_id: str, **values):
    """A run of the tiny model on the trainer of `env`, past its first checkpoint: (channel, stub, run, its
    events, its worker process)."""
    channel, stub = await _connect(env)
    model = str(tiny_model_dir(tmp_path_factory))
    run = await stub.CreateRun(create_request(run_id, validation=False, model=model, save_steps=2, **values))
    events = Events(stub, run.name)
    await events.wait(is_kind("checkpoint"))
    return channel, stub, run, events, psutil.Process(await worker_pid(load_settings("trainer", env), run_id))


async def test_sigkill_of_the_service_kills_its_worker_and_the_restarted_service_resumes_the_run(tmp_path_factory, tmp_path):
    env = _service_env(tmp_path)
    first = _start(env, tmp_path / "first.log")
    try:
        channel, stub, run, events, worker = await _checkpointed_run(env, tmp_path_factory, "survivor", max_steps=12)
        await stub.PauseRun(pb.PauseRunRequest(name=run.name))  # hold it mid-run
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
        channel, stub, events, relaunched = await _relaunched(env, run.name)
        assert relaunched.state.message.startswith("the trainer restarted; resuming from checkpoint-")
        await events.wait(is_state(run_pb2.RUN_STATE_PAUSED), start=events.items.index(relaunched))
        await stub.ResumeRun(pb.ResumeRunRequest(name=run.name))
        resumed_from = int(relaunched.state.message.rsplit("-", 1)[1])
        await _completes_from(events, relaunched, resumed_from)
        assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).attempts == 2
        await channel.close()
    finally:
        _stop(second)


async def test_sigterm_checkpoints_running_runs_first_so_the_next_service_loses_no_step(tmp_path_factory, tmp_path):
    """save_steps=0 writes no checkpoint on its own: what the next service resumes from is the one taken on SIGTERM."""
    model = str(tiny_model_dir(tmp_path_factory))
    env = _service_env(tmp_path)
    first = _start(env, tmp_path / "first.log")
    try:
        channel, stub = await _connect(env)
        run = await stub.CreateRun(create_request("graceful", validation=False, model=model, save_steps=0, epochs=4))
        events = Events(stub, run.name)
        seen = await events.wait(lambda e: e.WhichOneof("event") == "step" and e.step.step >= 3)
        events.task.cancel()
        await channel.close()
        first.send_signal(signal.SIGTERM)
        assert first.wait(40) == 0
    finally:
        if first.poll() is None:
            first.kill()

    second = _start(env, tmp_path / "second.log")
    try:
        channel, stub, events, relaunched = await _relaunched(env, run.name)
        before = events.items[:events.items.index(relaunched)]
        saved = [e.log.message for e in before if e.WhichOneof("event") == "log" and "is stopping" in e.log.message]
        assert len(saved) == 1 and "saved checkpoint-" in saved[0], saved
        step = int(saved[0].split("checkpoint-", 1)[1].split(";", 1)[0])
        assert step >= seen.step.step
        assert relaunched.state.message == f"the trainer restarted; resuming from checkpoint-{step}"
        await _completes_from(events, relaunched, step)
        await channel.close()
    finally:
        _stop(second)


async def test_a_cancel_is_kept_across_a_sigkill_of_the_service_the_next_one_does_not_resume_the_run(tmp_path_factory, tmp_path):
    """The worker is stopped (SIGSTOP) so it cannot act on the cancel before the service dies."""
    env = _service_env(tmp_path)
    first = _start(env, tmp_path / "first.log")
    try:
        channel, stub, run, events, worker = await _checkpointed_run(env, tmp_path_factory, "cancelled", epochs=1000)
        worker.suspend()
        answered = await stub.CancelRun(pb.CancelRunRequest(name=run.name))
        assert answered.state == run_pb2.RUN_STATE_RUNNING  # asked, not yet done: the worker is stopped
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        psutil.wait_procs([worker], timeout=10)
        events.task.cancel()
        await channel.close()
    finally:
        first.kill()

    second = _start(env, tmp_path / "second.log")
    try:
        channel, stub = await _connect(env)
        items = await Events(stub, run.name).done()
        assert items[-1].state.state == run_pb2.RUN_STATE_CANCELLED
        assert not [e for e in items if e.WhichOneof("event") == "state" and e.state.attempt == 2], "the cancelled run was resumed"
        done = await stub.GetRun(pb.GetRunRequest(name=run.name))
        assert done.state == run_pb2.RUN_STATE_CANCELLED and done.attempts == 1
        assert (await stub.GetCapacity(pb.GetCapacityRequest())).active_runs == 0
        await channel.close()
    finally:
        _stop(second)
