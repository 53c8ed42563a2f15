"""The trainer's bookkeeping, without training: a run's slot is free only once its (real) worker process has
exited, the crash count is of crashes in a row, and generations have bounded threads of their own."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from pathlib import Path

import pytest_asyncio

from finetune.trainer.v1 import trainer_service_pb2 as pb
from services.common.db import create_engine
from services.common.errors import ResourceExhausted
from services.trainer import generation
from services.trainer.events import EventLog
from services.trainer.service import TrainerServicer
from services.trainer.store import COMPLETED, RUNNING, RunRow, TrainerStore, now
from services.trainer.supervisor import Supervisor, SupervisorOptions


@contextlib.asynccontextmanager
async def bare_supervisor(tmp_path: Path, **options):
    """A supervisor on a fresh SQLite store, not started, whose runs need no preparation."""
    store = TrainerStore(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trainer.db'}"))
    await store.prepare()
    events = EventLog(store)
    await events.start()

    async def no_preparation(request, config):
        raise AssertionError("not used")

    try:
        yield Supervisor(store, events, SupervisorOptions(data_dir=tmp_path, warm_workers=0, **options), no_preparation)
    finally:
        await events.stop()
        await store.close()


@pytest_asyncio.fixture
async def supervisor(tmp_path):
    async with bare_supervisor(tmp_path, max_restarts=2) as supervisor:
        yield supervisor


async def running_handle(supervisor: Supervisor, run_id: str, tmp_path: Path):
    row = await supervisor.store.add_run(RunRow(id=run_id, state=RUNNING, run_dir=str(tmp_path / run_id), create_time=now()))
    handle = supervisor._handles[run_id] = supervisor._handle_from_row(row)
    supervisor._slots.add(run_id)
    await supervisor.events.open(run_id, writer=True)
    return handle


async def test_the_slot_is_free_and_the_final_state_told_only_once_the_worker_has_exited(supervisor, tmp_path):
    handle = await running_handle(supervisor, "lingering", tmp_path)
    # A worker that wrote its final state but takes a while to exit (interpreter and CUDA teardown).
    handle.proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(1.5)")
    seen = []
    publish = supervisor.events.publish

    def watch(run_id, kind, data, **kwargs):
        if kind == "state":
            seen.append((handle.proc.returncode, supervisor.capacity()[0]))
        return publish(run_id, kind, data, **kwargs)

    supervisor.events.publish = watch
    finishing = asyncio.create_task(supervisor._finish(handle, COMPLETED, "done"))
    await asyncio.sleep(0.5)
    assert not finishing.done() and supervisor.capacity()[0] == 1  # the worker still holds its slot
    await finishing
    assert seen == [(0, 0)]  # told after the exit, with the slot free
    assert (await supervisor.store.get_run("lingering")).state == COMPLETED


async def test_a_new_checkpoint_between_crashes_starts_the_count_again(supervisor, tmp_path):
    handle = await running_handle(supervisor, "crashy", tmp_path)
    for _ in range(2):
        assert await supervisor._end(handle, returncode=-9) is False  # relaunch 1 and 2 of max_restarts 2
    supervisor._record(handle, {"type": "checkpoint", "step": 4, "path": "checkpoints/checkpoint-4"})
    assert handle.crashes == 0
    supervisor._record(handle, {"type": "checkpoint", "step": 4, "path": "checkpoints/checkpoint-4"})  # the same again
    for _ in range(2):
        assert await supervisor._end(handle, returncode=-9) is False
    assert await supervisor._end(handle, returncode=-9) is True  # the third in a row ends it
    row = await supervisor.store.get_run("crashy")
    assert row.state == "failed" and row.error_reason == "WORKER_CRASHED" and "3 times in a row" in row.error


async def test_generations_run_on_their_own_bounded_threads_and_never_stall_the_default_pool(supervisor, tmp_path, monkeypatch):
    release = threading.Event()

    def slow_generation(model_dir, prompt, max_new_tokens, temperature, *sampling):  # a long generation, held by the test
        yield "a"
        release.wait(30)
        yield "b"

    monkeypatch.setattr(generation, "stream_generate", slow_generation)
    (tmp_path / "done" / "artifacts" / "adapter").mkdir(parents=True)
    await supervisor.store.add_run(RunRow(id="done", state=COMPLETED, run_dir=str(tmp_path / "done"), create_time=now()))
    servicer = TrainerServicer(supervisor.store, supervisor.events, supervisor, generate_threads=2, max_generations=8)
    request = pb.GenerateRequest(name="runs/done", prompt="hi", max_new_tokens=4)
    streams = [servicer.Generate(request, None) for _ in range(8)]
    firsts = await asyncio.gather(*(anext(s) for s in streams[:2]))  # two generate, six wait for a thread
    waiting = [asyncio.ensure_future(anext(s)) for s in streams[2:]]
    assert [f.text for f in firsts] == ["a", "a"]
    assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 5) == "free"  # the default pool is not theirs
    try:
        await anext(servicer.Generate(request, None))
        raise AssertionError("a ninth generation was admitted")
    except ResourceExhausted as exc:
        assert exc.reason == "GENERATION_BUSY" and exc.grpc_code == "RESOURCE_EXHAUSTED"
    release.set()
    texts = [[r.text async for r in s] for s in streams[:2]] + [[(await w).text] + [r.text async for r in s]
                                                                 for w, s in zip(waiting, streams[2:])]
    assert all(t == ["b", ""] for t in texts[:2]) and all(t == ["a", "b", ""] for t in texts[2:])
    servicer.close()
