"""The event log and the trainer store on SQLite and PostgreSQL: sequence numbers, exactly-once catch-up, fan-out."""

from __future__ import annotations

import asyncio

import pytest

from services.common.db import create_engine
from services.trainer.events import EventLog
from services.trainer.store import COMPLETED, RUNNING, RunRow, TrainerStore


@pytest.fixture
async def store(database_url):
    engine = create_engine(database_url)
    store = TrainerStore(engine)
    await store.prepare()
    await store.add_run(RunRow(id="r1", job_id="job-1", state=RUNNING, run_dir="/tmp/r1"))
    yield store
    await store.close()


async def test_event_batch_updates_the_run_row_in_the_formats_of_the_orm(store, database_url):
    """SQLite batches go through a plain sqlite3 connection: the values it writes must read back, compare
    and sort exactly as those the ORM writes (datetimes, booleans, JSON text)."""
    from datetime import datetime, timezone

    from sqlalchemy import text

    from services.trainer.events import Event

    ended = datetime(2026, 11, 25, 3, 4, 5, 678901, tzinfo=timezone.utc)
    await store.add_run(RunRow(id="orm", state=RUNNING))
    await store.update_run("orm", state=COMPLETED, stopped_early=True, end_time=ended, progress='{"step": 3}')
    await store.append_events("r1", [Event("r1", 1, "step", 1.5, {"step": 1, "train_loss": float("nan")}),
                                     Event("r1", 2, "log", 1.6, {"message": "ü"})],
                              {"state": COMPLETED, "stopped_early": True, "end_time": ended, "progress": '{"step": 3}',
                               "last_seq": 2})
    by_orm, by_batch = await store.get_run("orm"), await store.get_run("r1")
    for column in ("state", "stopped_early", "end_time", "progress"):
        assert getattr(by_batch, column) == getattr(by_orm, column), column
    assert by_batch.last_seq == 2 and by_batch.update_time >= by_orm.update_time
    async with store.engine.connect() as conn:  # the stored text itself, as other readers see it
        raw = (await conn.execute(text("SELECT id, end_time FROM trainer_runs WHERE id IN ('orm', 'r1') ORDER BY id"))).all()
    assert raw[0][1] == raw[1][1]
    events = await store.read_events("r1", 0)
    assert [e.seq for e in events] == [1, 2] and events[1].data == {"message": "ü"}
    assert events[0].data["train_loss"] != events[0].data["train_loss"]  # NaN kept


async def _collect(log: EventLog, run_id: str, after: int = 0) -> list:
    return [e async for e in log.subscribe(run_id, after)]


def _final(log: EventLog, run_id: str = "r1"):
    return log.publish(run_id, "state", {"state": COMPLETED, "final": True}, run_values={"state": COMPLETED})


async def test_sequences_persist_and_reconnect_gets_each_later_event_once(store):
    log = EventLog(store, flush_interval=0.01)
    await log.start()
    await log.open("r1", writer=True)
    for step in range(1, 8):
        log.publish("r1", "step", {"step": step, "train_loss": 1.0 / step}, run_values={"events_offset": step * 10})
    await log.flush("r1")  # some stored...
    log.publish("r1", "step", {"step": 8, "train_loss": float("nan")})  # ...and some only in memory
    _final(log)
    assert [e.seq for e in await _collect(log, "r1")] == list(range(1, 10))
    assert [e.seq for e in await _collect(log, "r1", after=4)] == [5, 6, 7, 8, 9]
    # A client that has seen the final event (a page opened after the run resumes after it) gets an ended
    # stream at once, from memory and, after a restart, from the database; it once waited forever.
    assert await asyncio.wait_for(_collect(log, "r1", after=9), 5) == []
    assert await asyncio.wait_for(_collect(log, "r1", after=12), 5) == []
    await log.release("r1")
    await log.stop()

    row = await store.get_run("r1")
    assert (row.state, row.last_seq, row.events_offset) == (COMPLETED, 9, 70)
    stored = await store.read_events("r1", 0)
    assert [e.type for e in stored][-2:] == ["step", "state"] and stored[-2].data["train_loss"] != stored[-2].data["train_loss"]

    # A new log (a restarted trainer) continues from the largest stored sequence number.
    again = EventLog(store)
    await again.open("r1", writer=True)
    assert await asyncio.wait_for(_collect(again, "r1", after=9), 5) == []
    assert again.publish("r1", "log", {"message": "after restart"}).seq == 10
    await again.flush()
    assert [e.seq for e in await store.read_events("r1", 8)] == [9, 10]


async def test_many_subscribers_see_identical_streams_and_a_slow_one_never_blocks(store):
    log = EventLog(store, queue_size=4, flush_interval=0.01)
    await log.start()
    await log.open("r1", writer=True)
    fast = [asyncio.create_task(_collect(log, "r1")) for _ in range(20)]
    log.publish("r1", "log", {"message": "start"})
    slow = log.subscribe("r1")
    first = await anext(slow)  # subscribed, then stops reading while 300 events go by
    for step in range(300):
        log.publish("r1", "step", {"step": step})  # never awaits: a full queue marks the subscriber overflowed
        if step % 50 == 0:
            await asyncio.sleep(0)
    _final(log)
    rest = [e async for e in slow]
    streams = await asyncio.gather(*fast)
    expected = list(range(1, 303))
    assert [first.seq] + [e.seq for e in rest] == expected
    assert all([e.seq for e in s] == expected for s in streams)
    await log.stop()


async def test_events_reach_subscribers_only_once_stored_then_the_stream_ends_at_the_final_event(store):
    log = EventLog(store)  # no background flusher: storing happens when the test says
    await log.open("r1", writer=True)
    log.publish("r1", "log", {"message": "before"})
    task = asyncio.create_task(_collect(log, "r1"))
    await asyncio.sleep(0.05)
    assert not task.done() and await store.read_events("r1", 0) == []
    await log.flush()
    log.publish("r1", "step", {"step": 1})
    _final(log)
    await asyncio.sleep(0.05)
    assert not task.done()  # published, not yet stored: not seen
    await log.flush()
    events = await asyncio.wait_for(task, 5)
    assert [e.type for e in events] == ["log", "step", "state"] and events[-1].is_final


async def test_store_queries(store):
    await store.add_run(RunRow(id="r2", job_id="job-1", state=COMPLETED, run_dir="/tmp/r2"))
    assert (await store.current_run()).id == "r1"  # the active run wins over a newer finished one
    assert (await store.current_run("job-1")).id == "r1"
    log = EventLog(store)
    await log.open("r1", writer=True)
    for step in (1, 2, 3, 2, 3, 4):  # steps 2 and 3 repeated after a resume from checkpoint-1
        log.publish("r1", "step", {"step": step, "train_loss": float(step * 10)})
    log.publish("r1", "eval", {"step": 4, "validation_loss": 0.5, "perplexity": 1.6})
    await log.flush()
    history = await store.step_history("r1", last_n=3)
    assert [p["step"] for p in history] == [2, 3, 4]
    assert history[-1]["validation_loss"] == 0.5 and "validation_loss" not in history[0]
    assert len(await store.step_history("r1")) == 4
    rows, total = await store.list_runs(0, 10, job_id="job-1")
    assert total == 2 and {r.id for r in rows} == {"r1", "r2"}
