"""The worker link (`finetune.trainer.internal.v1.WorkerLinkService`): one bidirectional gRPC stream per
worker attempt carries the worker's events up and the trainer's commands down.

The worker appends each event to its journal (`events.jsonl` in the run directory, durable per event) and
`JournalLink` streams the journal from the offset the trainer's welcome names; the trainer stores each
event with its journal offset in one transaction and acknowledges the offset once it is committed. After a
reconnect, or in a new worker on the same run directory, the journal is sent again from the stored offset
and the trainer skips what it holds: every event is stored exactly once, whichever process wrote it, and
subscribers see it only once stored. Commands are numbered per attempt; the trainer resends those the
worker has not acknowledged, and the worker ignores a number it has seen.

The trainer side is `LinkServer` (its own port, for its workers only; each attempt's token, written 0600 in
`link.json` in the run directory, authenticates the stream). The worker side runs on a thread of its own,
so training never waits on the network; `drain` waits at the end until the trainer has stored everything.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Protocol

import grpc

from finetune.trainer.internal.v1 import worker_link_pb2 as pb
from finetune.trainer.internal.v1 import worker_link_pb2_grpc as pb_grpc
from services.common.errors import FinetuneError, InvalidArgument
from services.common.grpc_errors import abort_args
from services.trainer.control import Command, QueueControl

log = logging.getLogger("finetune.trainer.link")

LINK_FILE = "link.json"  # {"address", "run", "attempt", "token", "sample_interval"}: written 0600 by the trainer per attempt
NODE_ENV = "FINETUNE_WORKER_NODE"  # the node's name in a remote worker's resource samples (its Ray node address)
_RECONNECT_MAX_SECONDS = 2.0
_FINAL = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.FAILED_PRECONDITION)  # not worth another try


def write_link_file(run_dir: Path, *, address: str, run: str, attempt: int, token: str, sample_interval: float = 0.0) -> None:
    """The attempt's link settings, readable by the trainer's user only (the token is a secret). With a
    `sample_interval` the worker sends a resource sample of its node that often (a worker the trainer's own
    samples cannot see: on another node)."""
    path = Path(run_dir) / LINK_FILE
    partial = path.with_name(LINK_FILE + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as f:
        json.dump({"address": address, "run": run, "attempt": attempt, "token": token,
                   "sample_interval": sample_interval}, f)
    os.replace(partial, path)


def read_link_file(run_dir: Path) -> dict | None:
    """The link settings of a worker started by a trainer; None for a worker run by hand."""
    try:
        return json.loads((Path(run_dir) / LINK_FILE).read_text())
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------- worker side


@dataclass
class _Session:
    """One stream's state on the worker side."""

    read_from: int = -1  # journal offset to send from; known once welcomed
    welcomed: threading.Event = field(default_factory=threading.Event)
    acks: list[int] = field(default_factory=list)  # command ids to acknowledge
    dead: bool = False


class JournalLink:
    """Streams a journal to the trainer and feeds the trainer's commands to `commands`, reconnecting until
    closed. `wrote(size)` tells it the journal grew; `drain` waits until the trainer has stored it all.

    A trainer that rejects the attempt (a stale token: a newer worker owns the run, or the run is over)
    ends this process at once, before it can write to a run directory that is no longer its own."""

    def __init__(self, journal: Path, settings: dict, commands: QueueControl,
                 on_rejected: Callable[[str], None] | None = None, settings_file: Path | None = None, base: int = 0) -> None:
        self.journal = Path(journal)
        self.base = base  # the journal offset of the file's first byte (a journal begun on another node's attempt)
        self.settings = dict(settings)
        self.settings_file = settings_file  # re-read before each reconnect: a restarted trainer listens elsewhere
        self.commands = commands
        self.on_rejected = on_rejected or _exit_rejected
        self.welcome: pb.Welcome | None = None
        self.welcomed = threading.Event()
        self._cond = threading.Condition()
        self.journal.touch()
        self._written = base + self.journal.stat().st_size
        self._stored = -1
        self._last_command = 0
        self._sample: str | None = None  # the newest resource sample not yet sent (JSON)
        self._closed = False
        self._channel: grpc.Channel | None = None
        self._thread = threading.Thread(target=self._run, name="worker-link", daemon=True)

    def start(self) -> JournalLink:
        self._thread.start()
        interval = float(self.settings.get("sample_interval") or 0.0)
        if interval > 0:
            threading.Thread(target=self._sample_forever, args=(interval,), name="worker-samples", daemon=True).start()
        return self

    def _sample_forever(self, interval: float) -> None:
        """Sample this node and this worker's process tree every `interval` seconds; only the newest unsent one
        is kept (a sample is a reading, not a record)."""
        from services.trainer.monitor import ProcessUsage, ResourceSampler, sample_with_process

        sampler, usage, node = ResourceSampler(self.journal.parent), ProcessUsage(), os.environ.get(NODE_ENV) or socket.gethostname()
        usage.cpu_percent(os.getpid())  # primes the process's counter: its first reading would say 0
        while not self._closed:
            time.sleep(interval)
            try:
                sample = {**sample_with_process(sampler, usage, os.getpid()), "node": node}
            except Exception:  # noqa: BLE001 - a failed sample is skipped, never fatal to training
                log.exception("resource sample failed")
                continue
            with self._cond:
                self._sample = json.dumps(sample)
                self._cond.notify_all()

    def wrote(self, size: int) -> None:
        with self._cond:
            self._written = max(self._written, size)
            self._cond.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every journal byte is stored by the trainer (at most `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._stored < self._written:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._channel is not None:
            self._channel.close()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = 0.05
        while not self._closed:
            self._follow_trainer()
            session = _Session()
            self._channel = grpc.insecure_channel(self.settings["address"])
            stub = pb_grpc.WorkerLinkServiceStub(self._channel)
            try:
                responses = stub.Connect(self._requests(session),
                                         metadata=[("authorization", f"Bearer {self.settings['token']}")])
                for response in responses:
                    self._take(session, response)
                    delay = 0.05
            except grpc.RpcError as exc:
                if self._closed:
                    return
                if exc.code() in _FINAL:
                    self.on_rejected(f"the trainer refused this worker: {exc.details()}")
                    return
                log.warning("worker link: %s (%s); reconnecting", exc.code().name, exc.details())
            finally:
                with self._cond:
                    session.dead = True
                    self._cond.notify_all()
                self._channel.close()
            time.sleep(delay)
            delay = min(_RECONNECT_MAX_SECONDS, delay * 2)

    def _follow_trainer(self) -> None:
        """A trainer that restarted (and re-attached to this worker) rewrites the link file with its new address,
        keeping this attempt and its token."""
        if self.settings_file is None:
            return
        try:
            fresh = json.loads(Path(self.settings_file).read_text())
        except (OSError, ValueError):
            return
        if (fresh.get("attempt"), fresh.get("token")) == (self.settings["attempt"], self.settings["token"]):
            self.settings["address"] = fresh.get("address", self.settings["address"])

    def _take(self, session: _Session, response: pb.ConnectResponse) -> None:
        kind = response.WhichOneof("message")
        if kind == "welcome":
            with self._cond:
                session.read_from = response.welcome.stored_offset
                self._stored = max(self._stored, response.welcome.stored_offset)
                self._cond.notify_all()
            self.welcome = response.welcome
            session.welcomed.set()
            self.welcomed.set()
        elif kind == "event_ack":
            with self._cond:
                self._stored = max(self._stored, response.event_ack.stored_offset)
                self._cond.notify_all()
        elif kind == "command":
            command = response.command
            if command.id > self._last_command:
                self._last_command = command.id
                value = command.value if command.HasField("value") else None
                try:
                    self.commands.send(Command.from_dict({"command": command.command, "value": value}))
                except InvalidArgument as exc:
                    log.warning("ignored command %r: %s", command.command, exc.message)
            with self._cond:
                session.acks.append(command.id)
                self._cond.notify_all()

    def _requests(self, session: _Session):
        """The stream's messages: the hello, then journal lines and command acknowledgements as they come."""
        yield pb.ConnectRequest(hello=pb.Hello(run=str(self.settings["run"]), attempt=int(self.settings["attempt"]),
                                               pid=os.getpid(), node=socket.gethostname()))
        while not session.welcomed.wait(0.5):
            if session.dead or self._closed:
                return
        position, partial = max(session.read_from, self.base), b""
        with open(self.journal, "rb") as journal:
            journal.seek(position - self.base)
            while True:
                with self._cond:
                    while not (session.dead or self._closed or session.acks or self._written > position or self._sample):
                        self._cond.wait()
                    if session.dead or self._closed:
                        return
                    acks, session.acks = session.acks, []
                    sample, self._sample = self._sample, None
                    upto = self._written
                for command_id in acks:
                    yield pb.ConnectRequest(command_ack=pb.CommandAck(id=command_id))
                if sample:
                    yield pb.ConnectRequest(resources=pb.ResourceSample(json=sample))
                if upto > position:
                    data = partial + journal.read(upto - position)
                    offset = position - len(partial)
                    position = upto
                    *lines, partial = data.split(b"\n")
                    for line in lines:
                        offset += len(line) + 1
                        yield pb.ConnectRequest(event=pb.JournalEvent(
                            end_offset=offset, json=line.decode("utf-8", errors="replace")))


def _exit_rejected(message: str) -> None:
    log.error("%s; exiting", message)
    logging.shutdown()
    os._exit(3)


# ---------------------------------------------------------------------------------------------- trainer side


class LinkedRuns(Protocol):
    """What the link server needs from the supervisor."""

    def link_session(self, hello: pb.Hello, authorization: str) -> LinkSession: ...


class LinkSession:
    """The trainer's end of one worker stream: what to send (`outgoing`), and `take` for what arrives."""

    def __init__(self, welcome: pb.Welcome, take: Callable[[pb.ConnectRequest], bool], flush: Callable[[], Any],
                 offset: Callable[[], int], on_close: Callable[[LinkSession], None]) -> None:
        self.outgoing: asyncio.Queue[pb.ConnectResponse] = asyncio.Queue()
        self.outgoing.put_nowait(pb.ConnectResponse(welcome=welcome))
        self.closed = asyncio.Event()
        self._take, self._flush, self._offset, self._on_close = take, flush, offset, on_close
        self._recorded = asyncio.Event()

    def send_command(self, command_id: int, command: Command) -> None:
        message = pb.WorkerCommand(id=command_id, command=command.name)
        if command.value is not None:
            message.value = command.value
        self.outgoing.put_nowait(pb.ConnectResponse(command=message))

    def close(self) -> None:
        self.closed.set()

    async def serve(self, requests: AsyncIterator[pb.ConnectRequest]) -> AsyncIterator[pb.ConnectResponse]:
        """Read the worker's messages and acknowledge stored events while sending `outgoing`."""
        tasks = [asyncio.ensure_future(self._read(requests)), asyncio.ensure_future(self._acknowledge()),
                 asyncio.ensure_future(self.closed.wait())]
        get = None
        try:
            while True:
                get = asyncio.ensure_future(self.outgoing.get())
                done, _ = await asyncio.wait([get, *tasks], return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    for task in done:
                        task.result()  # a reading error ends the stream with its status
                    return
                yield get.result()
        finally:
            for task in [*tasks, get]:
                if task is not None:
                    task.cancel()
            await asyncio.gather(*(t for t in [*tasks, get] if t is not None), return_exceptions=True)
            self.closed.set()
            self._on_close(self)

    async def _read(self, requests: AsyncIterator[pb.ConnectRequest]) -> None:
        async for request in requests:
            if self.closed.is_set():
                return
            if self._take(request):
                self._recorded.set()

    async def _acknowledge(self) -> None:
        """Group acknowledgement: each ack names the offset stored by the newest commit."""
        while True:
            await self._recorded.wait()
            self._recorded.clear()
            offset = self._offset()
            await self._flush()
            self.outgoing.put_nowait(pb.ConnectResponse(event_ack=pb.EventAck(stored_offset=offset)))


class _Servicer(pb_grpc.WorkerLinkServiceServicer):
    def __init__(self, runs: LinkedRuns) -> None:
        self.runs = runs

    async def Connect(self, request_iterator, context):  # noqa: N802 - gRPC's method name
        authorization = dict(context.invocation_metadata() or ()).get("authorization", "")
        try:
            first = await anext(aiter(request_iterator), None)
            if first is None or first.WhichOneof("message") != "hello":
                raise InvalidArgument("the first message of a worker link must be its hello", reason="HELLO_REQUIRED")
            session = self.runs.link_session(first.hello, authorization)
        except FinetuneError as exc:
            await context.abort(*abort_args(exc))
            return
        async for response in session.serve(request_iterator):
            yield response


class LinkServer:
    """The trainer's worker-link server: loopback by default (local workers), a reachable address for workers
    on other nodes."""

    def __init__(self, runs: LinkedRuns, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = grpc.aio.server()
        pb_grpc.add_WorkerLinkServiceServicer_to_server(_Servicer(runs), self.server)
        self.host = host
        self.port = self.server.add_insecure_port(f"{host}:{port}")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop(grace=1.0)
