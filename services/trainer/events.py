"""Each run's event log: one writer numbers events, stores them in batches and fans them out to subscribers.

Guarantees:
- Sequence numbers start at 1 and grow by one per event, per run, without gaps; a restarted trainer
  continues from the largest stored number (the log is opened from the store).
- Stored before seen: an event reaches subscribers only once its batch is committed (group commit:
  whatever was published while the previous batch was being written goes in the next one), so no
  subscriber ever holds a sequence number that a crash could hand to another event.
- A subscriber names the last sequence it saw and receives every later event exactly once, in order:
  first from the store (or the in-memory tail of stored events), then live.
- Publishing never waits for a subscriber or the database: each subscriber has a bounded queue, and
  one that falls behind is marked overflowed and re-reads what it missed, then follows live again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Protocol

log = logging.getLogger("finetune.trainer.events")


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded event: `type` is step, eval, resources, state, log, alert or checkpoint."""

    run_id: str
    seq: int
    type: str
    time: float  # unix seconds; the worker's clock for the events it wrote
    data: dict[str, Any]

    @property
    def is_final(self) -> bool:
        """The event of a final run state: nothing follows it."""
        return self.type == "state" and bool(self.data.get("final"))


class EventStore(Protocol):
    async def append_events(self, run_id: str, events: list[Event], run_values: dict[str, Any]) -> None: ...

    async def read_events(self, run_id: str, after_seq: int, limit: int = 500) -> list[Event]: ...

    async def max_seq(self, run_id: str) -> int: ...


class _Subscriber:
    __slots__ = ("queue", "overflowed")

    def __init__(self, size: int):
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.overflowed = False


@dataclass
class _RunLog:
    run_id: str
    next_seq: int
    recent: collections.deque  # the newest stored events: catch-up without a database read
    pending: list[Event] = field(default_factory=list)
    run_values: dict[str, Any] = field(default_factory=dict)  # row updates to store with the next batch
    subscribers: set[_Subscriber] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    writer: bool = False


class EventLog:
    """The event logs of all runs. Publish from the event loop's thread only."""

    def __init__(self, store: EventStore, *, queue_size: int = 1024, recent_size: int = 4096, flush_interval: float = 0.0,
                 read_batch: int = 500):
        self.store = store
        self.queue_size = queue_size
        self.recent_size = recent_size
        self.flush_interval = flush_interval
        self.read_batch = read_batch
        self._logs: dict[str, _RunLog] = {}
        self._opening: dict[str, asyncio.Future] = {}
        self._flusher: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self._dirty = asyncio.Event()  # something to store: the flusher sleeps until then
        self.listeners: list[Callable[[Event], None]] = []  # told of each event once stored (alert webhooks); must not block

    # Lifecycle

    async def start(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_forever(), name="event-flusher")

    async def stop(self) -> None:
        """Stop the background flusher (never mid-write) and store what is pending."""
        if self._flusher is not None:
            self._stopping.set()
            self._dirty.set()
            await self._flusher
            self._flusher = None
        await self.flush()

    async def open(self, run_id: str, *, writer: bool = False) -> None:
        """Load the run's log (its next sequence number) if it is not in memory; `writer` keeps it there."""
        await self._get(run_id)
        if writer:
            self._logs[run_id].writer = True

    async def release(self, run_id: str) -> None:
        """The writer is done with the run: store what is pending and let the log go once nobody reads it."""
        await self.flush(run_id)
        run_log = self._logs.get(run_id)
        if run_log is not None:
            run_log.writer = False
            self._forget_if_idle(run_log)

    async def _get(self, run_id: str) -> _RunLog:
        run_log = self._logs.get(run_id)
        if run_log is not None:
            return run_log
        opening = self._opening.get(run_id)
        if opening is None:
            opening = asyncio.get_running_loop().create_future()
            self._opening[run_id] = opening
            try:
                last = await self.store.max_seq(run_id)
                run_log = _RunLog(run_id, last + 1, collections.deque(maxlen=self.recent_size))
                self._logs[run_id] = run_log
                opening.set_result(run_log)
            except BaseException as exc:
                opening.set_exception(exc)
                raise
            finally:
                self._opening.pop(run_id, None)
            return run_log
        return await asyncio.shield(opening)

    def _forget_if_idle(self, run_log: _RunLog) -> None:
        if not run_log.writer and not run_log.subscribers and not run_log.pending and not run_log.run_values:
            if self._logs.get(run_log.run_id) is run_log:
                del self._logs[run_log.run_id]

    # Writing

    def publish(self, run_id: str, type: str, data: dict[str, Any], *, at: float | None = None,
                run_values: dict[str, Any] | None = None) -> Event:
        """Number one event and queue it for storing (subscribers get it once stored); never blocks. The
        log must be open."""
        run_log = self._logs[run_id]
        event = Event(run_id, run_log.next_seq, type, time.time() if at is None else at, data)
        run_log.next_seq += 1
        run_log.pending.append(event)
        if run_values:
            run_log.run_values.update(run_values)
        self._dirty.set()
        return event

    @staticmethod
    def _deliver(run_log: _RunLog, batch: list[Event]) -> None:
        run_log.recent.extend(batch)
        for sub in run_log.subscribers:
            if sub.overflowed:
                continue
            for event in batch:
                try:
                    sub.queue.put_nowait(event)
                except asyncio.QueueFull:
                    sub.overflowed = True  # it re-reads what it missed; the producer never waits
                    break

    def update_run(self, run_id: str, **values: Any) -> None:
        """Row values to store with the run's next batch (so they never get ahead of the events)."""
        self._logs[run_id].run_values.update(values)
        self._dirty.set()

    def last_seq(self, run_id: str) -> int:
        run_log = self._logs.get(run_id)
        return run_log.next_seq - 1 if run_log else 0

    async def flush(self, run_id: str | None = None) -> None:
        """Store pending events now (all runs', or one run's)."""
        logs = [self._logs[run_id]] if run_id in self._logs else [] if run_id else list(self._logs.values())
        for run_log in logs:
            await self._flush_one(run_log)

    async def _flush_one(self, run_log: _RunLog) -> None:
        async with run_log.lock:
            if not run_log.pending and not run_log.run_values:
                return
            batch, values = run_log.pending, run_log.run_values
            run_log.pending, run_log.run_values = [], {}
            if batch:
                values = {**values, "last_seq": batch[-1].seq}
            # Shielded, with the outcome handled in a callback: a caller cancelled mid-write must neither lose
            # the batch nor leave it both stored and pending.
            write = asyncio.ensure_future(self.store.append_events(run_log.run_id, batch, values))
            write.add_done_callback(lambda done: self._stored(run_log, batch, values, done))
            await asyncio.shield(write)

    def _stored(self, run_log: _RunLog, batch: list[Event], values: dict, write: asyncio.Future) -> None:
        if write.cancelled() or write.exception() is not None:
            run_log.pending = batch + run_log.pending
            run_log.run_values = {**values, **run_log.run_values}
            self._dirty.set()
        else:
            self._deliver(run_log, batch)
            for listener in self.listeners:
                for event in batch:
                    try:
                        listener(event)
                    except Exception:  # noqa: BLE001 - a listener's bug never stops the stream
                        log.exception("event listener failed on %s event %d", event.run_id, event.seq)

    async def _flush_forever(self) -> None:
        """Group commit: store what was published as soon as the previous batch is written; flush_interval
        spaces commits out (more events per batch, fewer commits) at the price of that much latency."""
        while not self._stopping.is_set():
            await self._dirty.wait()
            self._dirty.clear()
            failed = False
            for run_log in list(self._logs.values()):
                try:
                    await self._flush_one(run_log)
                except Exception:  # noqa: BLE001 - the database may be back next time; events stay queued
                    failed = True
                    log.exception("storing events of run %s failed; will retry", run_log.run_id)
            if failed or self.flush_interval:
                await asyncio.sleep(max(self.flush_interval, 1.0 if failed else 0.0))

    # Reading

    async def subscribe(self, run_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Every event after `after_seq`, once each, in order; ends after the run's final event."""
        run_log = await self._get(run_id)
        if after_seq and await self._ended_by(run_log, after_seq):
            return  # a client that saw the final event asks again (a page opened after the run): nothing follows
        sub = _Subscriber(self.queue_size)
        run_log.subscribers.add(sub)
        last = after_seq
        try:
            while True:
                # Catch up on stored events; live ones queue up meanwhile.
                async for event in self._catch_up(run_log, last):
                    yield event
                    last = event.seq
                    if event.is_final:
                        return
                # Live: until the queue overflowed or shows a gap, then catch up again.
                while not sub.overflowed:
                    event = await sub.queue.get()
                    if event.seq <= last:
                        continue
                    if event.seq != last + 1:
                        break
                    yield event
                    last = event.seq
                    if event.is_final:
                        return
                if sub.overflowed:
                    sub.queue = asyncio.Queue(self.queue_size)
                    sub.overflowed = False
        finally:
            run_log.subscribers.discard(sub)
            self._forget_if_idle(run_log)

    async def _ended_by(self, run_log: _RunLog, seq: int) -> bool:
        """Whether the run's newest event is final and at or before `seq`."""
        newest = run_log.next_seq - 1
        if newest < 1 or newest > seq:
            return False
        if run_log.recent and run_log.recent[-1].seq == newest:
            return run_log.recent[-1].is_final
        if run_log.pending and run_log.pending[-1].seq == newest:
            return run_log.pending[-1].is_final
        stored = await self.store.read_events(run_log.run_id, newest - 1, 1)
        return bool(stored) and stored[0].seq == newest and stored[0].is_final

    async def _catch_up(self, run_log: _RunLog, last: int) -> AsyncIterator[Event]:
        """Stored events after `last`, in order and without a hole: from the in-memory tail when it reaches
        back far enough, else from the database first."""
        recent = list(run_log.recent)
        if not recent or recent[0].seq > last + 1:
            while True:
                batch = await self.store.read_events(run_log.run_id, last, self.read_batch)
                for event in batch:
                    if event.seq != last + 1:
                        return  # a batch still being committed; the live loop catches up again
                    yield event
                    last = event.seq
                if len(batch) < self.read_batch:
                    break
            recent = list(run_log.recent)
        for event in recent:
            if event.seq <= last:
                continue
            if event.seq != last + 1:
                return
            yield event
            last = event.seq
