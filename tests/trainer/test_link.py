"""The worker link: a real supervisor's link server and the worker's real `JournalLink` (or a raw gRPC client
where a test needs a worker that misbehaves): each journal line stored once across reconnects and new
workers, commands resent until acknowledged and taken once, stale or wrong tokens refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from finetune.trainer.internal.v1 import worker_link_pb2 as pb
from finetune.trainer.internal.v1 import worker_link_pb2_grpc as pb_grpc
from services.trainer.control import Command, QueueControl
from services.trainer.link import JournalLink
from services.trainer.store import RUNNING, RunRow, now
from services.trainer.supervisor import Supervisor
from services.trainer.worker import EVENTS_FILE, EventWriter
from tests.trainer.test_supervisor import bare_supervisor

TOKEN = "attempt-one-token"


@pytest_asyncio.fixture
async def supervisor(tmp_path):
    async with bare_supervisor(tmp_path) as supervisor:
        await supervisor.start()
        yield supervisor
        await supervisor.stop()


async def linked_run(supervisor: Supervisor, run_id: str, tmp_path: Path):
    """A running run of attempt 1 whose worker (the test) holds `TOKEN`."""
    run_dir = tmp_path / run_id
    run_dir.mkdir()
    row = await supervisor.store.add_run(RunRow(id=run_id, state=RUNNING, run_dir=str(run_dir), create_time=now(), attempts=1))
    handle = supervisor._handles[run_id] = supervisor._handle_from_row(row)
    handle.link_token = TOKEN
    await supervisor.events.open(run_id, writer=True)
    return handle


def settings(supervisor: Supervisor, run_id: str, token: str = TOKEN, attempt: int = 1) -> dict:
    return {"address": supervisor.link.address, "run": run_id, "attempt": attempt, "token": token}


def journal_steps(writer: EventWriter, steps) -> None:
    for step in steps:
        writer({"type": "step", "step": step, "train_loss": 1.0 / step, "time": 1000.0 + step})


async def stored_steps(supervisor: Supervisor, run_id: str) -> list[int]:
    await supervisor.events.flush(run_id)
    events = await supervisor.store.read_events(run_id, 0, limit=10_000)
    return [e.data["step"] for e in events if e.type == "step"]


async def drained(link: JournalLink) -> bool:
    return await asyncio.to_thread(link.drain, 10.0)


async def test_each_journal_line_is_stored_once_across_reconnects_and_a_new_worker(supervisor, tmp_path):
    handle = await linked_run(supervisor, "journal", tmp_path)
    journal = handle.run_dir / EVENTS_FILE
    writer = EventWriter(journal)
    journal_steps(writer, range(1, 4))  # written before the worker connects: sent after the welcome

    link = JournalLink(journal, settings(supervisor, "journal"), QueueControl()).start()
    writer.on_write = link.wrote
    journal_steps(writer, range(4, 7))  # written live
    assert await drained(link)
    assert await stored_steps(supervisor, "journal") == [1, 2, 3, 4, 5, 6]

    # The stream breaks (the trainer drops it): the link reconnects by itself and goes on from the stored offset.
    handle.session.close()
    await asyncio.sleep(0.2)
    journal_steps(writer, range(7, 9))
    assert await drained(link)
    link.close()

    # A new worker on the same run directory: lines its predecessor wrote but never sent go first.
    journal_steps(writer, range(9, 11))
    writer.close()
    second = JournalLink(journal, settings(supervisor, "journal"), QueueControl()).start()
    assert await drained(second)
    second.close()
    assert await stored_steps(supervisor, "journal") == list(range(1, 11))
    assert handle.offset == journal.stat().st_size
    assert (await supervisor.store.get_run("journal")).events_offset == journal.stat().st_size


async def test_a_resent_line_the_trainer_holds_is_acknowledged_not_stored_again(supervisor, tmp_path):
    handle = await linked_run(supervisor, "resent", tmp_path)
    line = json.dumps({"type": "step", "step": 1, "train_loss": 0.5})
    end = len(line) + 1
    async with grpc.aio.insecure_channel(supervisor.link.address) as channel:
        stub = pb_grpc.WorkerLinkServiceStub(channel)
        call = stub.Connect(metadata=[("authorization", f"Bearer {TOKEN}")])
        await call.write(pb.ConnectRequest(hello=pb.Hello(run="resent", attempt=1)))
        assert (await call.read()).welcome.stored_offset == 0
        for _ in range(3):  # the same line three times, as a worker that lost the acknowledgements would
            await call.write(pb.ConnectRequest(event=pb.JournalEvent(end_offset=end, json=line)))
        ack = (await call.read()).event_ack.stored_offset
        await call.done_writing()
        assert ack == end
    assert await stored_steps(supervisor, "resent") == [1]
    assert handle.offset == end


async def test_commands_are_resent_until_acknowledged_and_taken_once(supervisor, tmp_path):
    handle = await linked_run(supervisor, "commands", tmp_path)
    supervisor._send(handle, Command("set_learning_rate", 2e-4))  # before any worker is connected
    async with grpc.aio.insecure_channel(supervisor.link.address) as channel:
        call = pb_grpc.WorkerLinkServiceStub(channel).Connect(metadata=[("authorization", f"Bearer {TOKEN}")])
        await call.write(pb.ConnectRequest(hello=pb.Hello(run="commands", attempt=1)))
        assert (await call.read()).HasField("welcome")
        first = (await call.read()).command
        assert (first.id, first.command, first.value) == (1, "set_learning_rate", 2e-4)
        call.cancel()  # gone without acknowledging it
    assert [i for i, _ in handle.commands] == [1]

    commands = QueueControl()
    link = JournalLink(handle.run_dir / EVENTS_FILE, settings(supervisor, "commands"), commands).start()
    try:
        await asyncio.to_thread(link.welcomed.wait, 10)
        supervisor._send(handle, Command("pause"))
        for _ in range(100):
            if not handle.commands:
                break
            await asyncio.sleep(0.05)
        assert handle.commands == []  # both acknowledged
        # A reconnect does not hand the same command over twice.
        handle.session.close()
        await asyncio.sleep(0.3)
        assert commands.poll() == [Command("set_learning_rate", 2e-4), Command("pause")]
    finally:
        link.close()


async def test_wrong_tokens_stale_attempts_and_unknown_runs_are_refused(supervisor, tmp_path):
    await linked_run(supervisor, "guarded", tmp_path)
    refusals = []

    async def refused(run: str, token: str, attempt: int) -> grpc.StatusCode:
        async with grpc.aio.insecure_channel(supervisor.link.address) as channel:
            call = pb_grpc.WorkerLinkServiceStub(channel).Connect(metadata=[("authorization", f"Bearer {token}")])
            await call.write(pb.ConnectRequest(hello=pb.Hello(run=run, attempt=attempt)))
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await call.read()
            return error.value.code()

    assert await refused("guarded", "not-the-token", 1) == grpc.StatusCode.UNAUTHENTICATED
    assert await refused("guarded", TOKEN, 2) == grpc.StatusCode.UNAUTHENTICATED  # an attempt that is not current
    assert await refused("nobody", TOKEN, 1) == grpc.StatusCode.FAILED_PRECONDITION

    # The worker's side: a refused worker stops at once (a real one exits before touching the run again).
    link = JournalLink(tmp_path / "guarded" / EVENTS_FILE, settings(supervisor, "guarded", token="stale"),
                       QueueControl(), on_rejected=refusals.append).start()
    await asyncio.to_thread(link._thread.join, 10)
    assert refusals and "wrong or stale link token" in refusals[0]
    link.close()
