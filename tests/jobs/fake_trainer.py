"""An in-process TrainerService with scripted runs: each run reports the validation losses its script gives,
one evaluation per `step_seconds`, then completes; or it holds until the test finishes it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from google.protobuf import json_format

from finetune.trainer.v1 import run_pb2, trainer_service_pb2, trainer_service_pb2_grpc
from services.common.errors import AlreadyExists, FailedPrecondition, NotFound, ResourceExhausted
from services.common.ids import parse_name
from services.common.server import create_host

STATE = {"pending": 1, "running": 2, "paused": 3, "completed": 4, "failed": 5, "cancelled": 6}
ACTIVE = ("pending", "running", "paused")


@dataclass
class FakeRun:
    id: str
    request: run_pb2.Run
    state: str = "running"
    events: list = field(default_factory=list)
    progress: dict = field(default_factory=dict)
    error: str = ""
    error_reason: str = ""
    task: asyncio.Task | None = None

    @property
    def hyperparameters(self) -> dict:
        return {f.name: v for f, v in self.request.hyperparameters.ListFields()}


class FakeTrainer(trainer_service_pb2_grpc.TrainerServiceServicer):
    """`script(run) -> list of validation losses` plays them and completes; None holds the run open."""

    def __init__(self, max_runs: int = 1, script: Callable[[FakeRun], list[float] | None] | None = None, step_seconds: float = 0.02,
                 gpus: int = 8):
        self.max_runs = max_runs
        self.gpus = gpus
        self.script = script
        self.step_seconds = step_seconds
        self.runs: dict[str, FakeRun] = {}
        self.created: list[str] = []  # CreateRun order, accepted ones only
        self.calls: list[tuple[str, str]] = []  # (method, run id)
        self.refuse: Exception | None = None  # raised by CreateRun when set
        self.before_answer: Callable[[str], Awaitable[None]] | None = None  # awaited by a control call before it answers
        self.held_gpus = 0  # GPUs another workload holds: not free for runs
        self._changed = asyncio.Event()

    # --- test controls -------------------------------------------------------------------------

    def emit(self, run: FakeRun, kind: str, body: dict) -> None:
        event = run_pb2.RunEvent(sequence=len(run.events) + 1, run=f"runs/{run.id}")
        json_format.ParseDict({kind: body}, event)
        run.events.append(event)
        self._changed.set()
        self._changed = asyncio.Event()

    def set_state(self, run: FakeRun, state: str, message: str = "") -> None:
        previous, run.state = run.state, state
        self.emit(run, "state", {"state": STATE[state], "previousState": STATE[previous], "message": message})

    def finish(self, run_id: str, state: str = "completed", validation_loss: float | None = 1.0, error_reason: str = "") -> None:
        run = self.runs[run_id]
        run.progress.update(train_loss=0.5, elapsed_seconds=3600.0, tokens_per_second=1000.0, step=4, total_steps=4, percent=100.0)
        if validation_loss is not None:
            run.progress.update(validation_loss=validation_loss, best_validation_loss=validation_loss)
        if state == "failed":
            run.error, run.error_reason = "the worker ran out of memory", error_reason or "OUT_OF_MEMORY"
        self.set_state(run, state)

    def active(self) -> list[str]:
        return [r.id for r in self.runs.values() if r.state in ACTIVE]

    # --- the service ---------------------------------------------------------------------------

    async def CreateRun(self, request, context):
        run_id = parse_name(request.run_id, "runs")
        self.calls.append(("CreateRun", run_id))
        if self.refuse is not None:
            raise self.refuse
        if run_id in self.runs:
            raise AlreadyExists(f"run 'runs/{run_id}' already exists", reason="RUN_EXISTS")
        if len(self.active()) >= self.max_runs:
            raise ResourceExhausted("the trainer is full", reason="TRAINER_AT_CAPACITY")
        run = FakeRun(run_id, request.run)
        self.runs[run_id] = run
        self.created.append(run_id)
        self.set_state(run, "running", "worker started")
        losses = self.script(run) if self.script else None
        if losses is not None:
            run.task = asyncio.create_task(self._play(run, losses))
        return self._proto(run)

    async def _play(self, run: FakeRun, losses: list[float]) -> None:
        for step, loss in enumerate(losses, start=1):
            await asyncio.sleep(self.step_seconds)
            while run.state == "paused":
                await asyncio.sleep(self.step_seconds)
            if run.state != "running":
                return
            self.emit(run, "step", {"step": step, "totalSteps": len(losses), "trainLoss": loss + 0.1,
                                    "tokensPerSecond": 500.0, "elapsedSeconds": step * 60.0})
            self.emit(run, "evaluation", {"step": step, "validationLoss": loss})
            run.progress.update(step=step, validation_loss=loss)
        await asyncio.sleep(self.step_seconds)
        if run.state == "running":
            self.finish(run.id, validation_loss=losses[-1] if losses else None)

    async def GetRun(self, request, context):
        return self._proto(self._get(request.name))

    async def StreamRunEvents(self, request, context):
        run = self._get(request.name)
        seen = request.after_sequence
        while True:
            waiter = self._changed
            for event in run.events[seen:]:
                seen = event.sequence
                yield event
            if run.state not in ACTIVE and seen >= len(run.events):
                return
            await waiter.wait()

    async def PauseRun(self, request, context):
        return await self._control(request.name, "pause", ("running",), "paused")

    async def ResumeRun(self, request, context):
        return await self._control(request.name, "resume", ("paused",), "running")

    async def CancelRun(self, request, context):
        return await self._control(request.name, "cancel", ACTIVE, "cancelled")

    async def _control(self, name: str, command: str, allowed: tuple, target: str):
        run = self._get(name)
        self.calls.append((command, run.id))
        if run.state not in allowed:
            raise FailedPrecondition(f"run is {run.state}", reason="RUN_STATE_CONFLICT")
        self.set_state(run, target)
        if self.before_answer is not None:
            await self.before_answer(command)
        return self._proto(run)

    async def GetCapacity(self, request, context):
        in_use = sum(self.runs[r].request.gpu_count for r in self.active()) + self.held_gpus
        return trainer_service_pb2.Capacity(active_runs=len(self.active()), max_concurrent_runs=self.max_runs, gpu_count=self.gpus,
                                            free_runs=max(0, self.max_runs - len(self.active())),
                                            free_gpus=max(0, self.gpus - in_use), backend="fake")

    def _get(self, name: str) -> FakeRun:
        run_id = parse_name(name, "runs")
        if run_id not in self.runs:
            raise NotFound(f"run 'runs/{run_id}' does not exist", reason="RUN_NOT_FOUND")
        return self.runs[run_id]

    def _proto(self, run: FakeRun) -> run_pb2.Run:
        out = run_pb2.Run(name=f"runs/{run.id}", job_id=run.request.job_id, state=STATE[run.state], model=run.request.model,
                          dataset=run.request.dataset, hyperparameters=run.request.hyperparameters, gpu_count=run.request.gpu_count,
                          error=run.error, error_reason=run.error_reason, attempts=1, last_sequence=len(run.events),
                          output_dir=f"/runs/{run.id}/artifacts" if run.state == "completed" else "")
        json_format.ParseDict({k: v for k, v in run.progress.items()}, out.progress, ignore_unknown_fields=True)
        return out


def build_fake_trainer(fake: FakeTrainer):
    """A `build_server`-style factory serving `fake`."""

    def build(settings):
        host = create_host(settings, [(trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, fake)],
                           ["finetune.trainer.v1.TrainerService"])
        return host, host.port

    return build
