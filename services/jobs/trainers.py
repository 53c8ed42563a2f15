"""The trainer endpoints the queue dispatches to: one channel each, calls that raise domain errors, and runs
and events as plain values so the dispatcher needs no protobuf."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator

import grpc

from finetune.trainer.v1 import run_pb2, trainer_service_pb2, trainer_service_pb2_grpc
from services.common import hyperparameters
from services.common.errors import FinetuneError
from services.common.grpc_errors import from_rpc_error
from services.common.server import channel_options
from services.common.settings import MB

RUN_STATES = {
    run_pb2.RUN_STATE_PENDING: "pending",
    run_pb2.RUN_STATE_RUNNING: "running",
    run_pb2.RUN_STATE_PAUSED: "paused",
    run_pb2.RUN_STATE_COMPLETED: "completed",
    run_pb2.RUN_STATE_FAILED: "failed",
    run_pb2.RUN_STATE_CANCELLED: "cancelled",
}
ACTIVE_RUN_STATES = ("pending", "running", "paused")
_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200),
              ("grpc.max_reconnect_backoff_ms", 1000)]


@dataclass
class RunStatus:
    """What a trainer says about a run."""

    run_id: str
    state: str
    progress: dict = field(default_factory=dict)
    error: str = ""
    error_reason: str = ""
    attempts: int = 0
    output_dir: str = ""
    last_sequence: int = 0
    gpu_count: int = 0
    placement: str = ""  # where its worker runs: `local`, `ray node <ip>`

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_RUN_STATES


@dataclass
class RunEventInfo:
    """One trainer event, reduced to what the jobs service follows."""

    sequence: int
    kind: str  # step, evaluation, state, checkpoint, other
    step: int = 0
    total_steps: int = 0
    train_loss: float | None = None
    validation_loss: float | None = None
    tokens_per_second: float = 0.0
    elapsed_seconds: float = 0.0
    percent: float = 0.0
    state: str = ""
    message: str = ""


@dataclass
class Capacity:
    active: int
    maximum: int
    gpus: int = 0  # GPUs a run may ask for: the trainer machine's, or its Ray cluster's
    free: int = 0  # runs it would accept now (its slots and, on Ray, what the cluster's free resources can place)
    free_gpus: int = 0  # GPUs free now (on Ray: the cluster's, other workloads counted)
    backend: str = "local"

    def fits(self, gpu_count: int) -> bool:
        """Whether a run of `gpu_count` GPUs can start there now."""
        return self.free > 0 and self.free_gpus >= gpu_count


@dataclass
class DispatchRequest:
    run_id: str
    model: str
    dataset: str  # datasets/{id}
    hyperparameters: dict
    model_saving: dict
    gpu_count: int = 0
    workers: int = 0


def progress_dict(progress: run_pb2.RunProgress) -> dict:
    out = {f.name: v for f, v in progress.ListFields()}
    return out


def run_status(run: run_pb2.Run) -> RunStatus:
    return RunStatus(run_id=run.name.removeprefix("runs/"), state=RUN_STATES.get(run.state, "pending"),
                     progress=progress_dict(run.progress), error=run.error, error_reason=run.error_reason,
                     attempts=run.attempts, output_dir=run.output_dir, last_sequence=run.last_sequence, gpu_count=run.gpu_count,
                     placement=run.placement)


def event_info(event: run_pb2.RunEvent) -> RunEventInfo:
    kind = event.WhichOneof("event")
    info = RunEventInfo(sequence=event.sequence, kind=kind if kind in ("step", "evaluation", "state", "checkpoint") else "other")
    if kind == "step":
        s = event.step
        info.step, info.total_steps, info.train_loss = s.step, s.total_steps, s.train_loss
        info.tokens_per_second, info.elapsed_seconds, info.percent = s.tokens_per_second, s.elapsed_seconds, s.percent
    elif kind == "evaluation":
        info.step, info.validation_loss = event.evaluation.step, event.evaluation.validation_loss
    elif kind == "state":
        info.state, info.message = RUN_STATES.get(event.state.state, ""), event.state.message
    elif kind == "checkpoint":
        info.step = event.checkpoint.step
    return info


class TrainerPool:
    """Channels to the configured trainer endpoints, made in the running event loop on first use."""

    def __init__(self, addresses: list[str], *, rpc_timeout: float = 30.0, api_token: str = ""):
        self.addresses = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
        self.rpc_timeout = rpc_timeout
        self._metadata = (("authorization", f"Bearer {api_token}"),) if api_token else ()
        self._stubs: dict[str, trainer_service_pb2_grpc.TrainerServiceStub] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}

    def stub(self, address: str) -> trainer_service_pb2_grpc.TrainerServiceStub:
        if address not in self._stubs:
            channel = grpc.aio.insecure_channel(address, options=channel_options(64 * MB) + _RECONNECT)
            self._channels[address] = channel
            self._stubs[address] = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        return self._stubs[address]

    async def close(self) -> None:
        channels, self._channels, self._stubs = list(self._channels.values()), {}, {}
        for channel in channels:
            await channel.close()

    async def _call(self, address: str, method: str, request, timeout: float | None = None):
        try:
            return await getattr(self.stub(address), method)(request, timeout=timeout or self.rpc_timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    async def capacity(self, address: str) -> Capacity:
        answer = await self._call(address, "GetCapacity", trainer_service_pb2.GetCapacityRequest(), timeout=5.0)
        return Capacity(answer.active_runs, answer.max_concurrent_runs, answer.gpu_count, answer.free_runs, answer.free_gpus,
                        answer.backend or "local")

    async def capacities(self) -> dict[str, Capacity | FinetuneError]:
        """Every endpoint's capacity, or the error that stood for it (an unreachable one is Unavailable)."""

        async def one(address: str):
            try:
                return await self.capacity(address)
            except FinetuneError as exc:
                return exc

        results = await asyncio.gather(*(one(a) for a in self.addresses))
        return dict(zip(self.addresses, results))

    async def most_gpus(self) -> int | None:
        """The most GPUs any trainer has; None when none answers (then nobody knows)."""
        answers = [c.gpus for c in (await self.capacities()).values() if isinstance(c, Capacity)]
        return max(answers) if answers else None

    async def create_run(self, address: str, request: DispatchRequest) -> RunStatus:
        run = run_pb2.Run(job_id=request.run_id, model=request.model, dataset=request.dataset, gpu_count=request.gpu_count,
                          workers=request.workers, hyperparameters=hyperparameters.to_proto(request.hyperparameters))
        for name, value in request.model_saving.items():
            setattr(run.model_saving, name, value)
        # Quick whatever the model: the trainer stores the run PENDING and prepares it after answering.
        answer = await self._call(address, "CreateRun", trainer_service_pb2.CreateRunRequest(run=run, run_id=request.run_id))
        return run_status(answer)

    async def get_run(self, address: str, run_id: str) -> RunStatus:
        return run_status(await self._call(address, "GetRun", trainer_service_pb2.GetRunRequest(name=f"runs/{run_id}"), timeout=10.0))

    async def control(self, address: str, run_id: str, command: str) -> RunStatus:
        """`pause`, `resume` or `cancel` a run."""
        method, request = {
            "pause": ("PauseRun", trainer_service_pb2.PauseRunRequest),
            "resume": ("ResumeRun", trainer_service_pb2.ResumeRunRequest),
            "cancel": ("CancelRun", trainer_service_pb2.CancelRunRequest),
        }[command]
        return run_status(await self._call(address, method, request(name=f"runs/{run_id}")))

    async def generate(self, address: str, request: trainer_service_pb2.GenerateRequest, timeout: float = 300.0) -> str:
        """The whole text of a Generate (a completed run's answer). Raises domain errors."""
        try:
            return "".join([p.text async for p in self.stub(address).Generate(request, timeout=timeout, metadata=self._metadata)])
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    async def events(self, address: str, run_id: str, after: int) -> AsyncIterator[RunEventInfo]:
        """The run's events after `after`; ends after its final state. Raises domain errors (Unavailable...)."""
        call = self.stub(address).StreamRunEvents(
            trainer_service_pb2.StreamRunEventsRequest(name=f"runs/{run_id}", after_sequence=after), metadata=self._metadata)
        try:
            async for event in call:
                yield event_info(event)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        finally:
            call.cancel()
