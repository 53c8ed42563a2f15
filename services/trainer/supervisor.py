"""Runs' worker processes: launch, follow their events, pass commands, relaunch after a crash, resume after a restart.

Each run executes in its own worker process (`services.trainer.worker`; torchrun for several GPUs), so a
crash, an OOM kill or a cancel never takes the trainer down. The supervisor is the single writer of a
run's events: the worker streams its journal over the worker link (`services.trainer.link`) and the
supervisor records each line with the next sequence number, storing the journal offset in the same
transaction; commands go down the same stream. A worker that reconnects, and the next worker on the same run
directory (after a crash or a restart of the trainer), resend the journal from the stored offset.

A run is stored PENDING as soon as CreateRun has checked it; its model and rows are prepared after the
answer, and a trainer that restarts meanwhile prepares it again.

Never lose work: a worker that dies without writing a final state is relaunched on the same run
directory (the recipe resumes from its newest checkpoint) up to `max_restarts` times in a row (a new
checkpoint between crashes starts the count again); runs left active by a trainer that died are
relaunched when it starts, unless they were cancelled (a cancel is stored before CancelRun answers). Pause and a learning-rate change are repeated to a relaunched worker.
Workers die with the trainer (PR_SET_PDEATHSIG) and leftovers are killed on start, so two workers never
share a run directory; a run's slot is free only once its worker has exited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import secrets
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from huggingface_hub import constants as hub_constants

from finetune.trainer.internal.v1 import worker_link_pb2 as link_pb
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FinetuneError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from services.common.ids import new_id, parse_name
from services.common.hyperparameters import TrainingConfig, gpu_shortfall, workers_problem
from services.trainer.control import Command
from services.common.tokens import bearer_matches
from services.trainer.link import LinkServer, LinkSession, read_link_file, write_link_file
from services.trainer.checkpoint import list_checkpoints
from services.trainer.events import EventLog
from services.trainer.monitor import AlertRules, ProcessUsage, ResourceSampler, Thresholds, process_tree_rss
from services.trainer.processes import WarmPool, create_time, die_with_parent, kill_run_workers, kill_tree
from services.trainer.publish import push_to_hub
from services.trainer.store import (
    ACTIVE_STATES,
    CANCELLED,
    COMPLETED,
    FAILED,
    PAUSED,
    PENDING,
    RUNNING,
    RunRow,
    TrainerStore,
    dumps,
    now,
)
from services.trainer.worker import RUN_SPEC, WORKER_LOG, read_jsonl, worker_command, write_run_spec

log = logging.getLogger("finetune.trainer.supervisor")

HUB_TOKEN_FILE = ".hub_token"
PLACE_WAIT_SECONDS = 3.0  # how long CreateRun waits for room on the Ray cluster before it refuses
PUBLISHED = ".published"  # in a run folder: its inputs are in the storage (with a storage URL)
# Which states allow each command.
ALLOWED = {
    "pause": (RUNNING,),
    "resume": (PAUSED,),
    "cancel": ACTIVE_STATES,
    "set_learning_rate": (RUNNING, PAUSED),
    "save_checkpoint": (RUNNING, PAUSED),
    "stop_early": (RUNNING, PAUSED),
    "profile": (RUNNING,),
}
_ALREADY_DONE = {("pause", PAUSED, True), ("resume", RUNNING, False)}  # (command, state, sticky pause): nothing to do
_STEP_FIELDS = ("step", "total_steps", "epoch", "train_loss", "learning_rate", "grad_norm", "tokens_per_second",
                "samples_per_second", "elapsed_seconds", "eta_seconds", "tokens")


@dataclass(frozen=True)
class SupervisorOptions:
    data_dir: Path
    max_concurrent_runs: int = 1
    max_restarts: int = 3  # relaunches after worker crashes in a row (no new checkpoint between) before the run fails
    warm_workers: int = 1  # standby workers with torch/transformers already imported
    sample_interval: float = 1.0
    link_host: str = "127.0.0.1"  # where the worker link listens (its workers connect there)
    link_port: int = 0  # its port (0: any free one; a fixed one lets workers find a restarted trainer by themselves)
    link_close_grace: float = 2.0  # after a worker exits, how long its stream gets to deliver what it carried
    ack_timeout: float = 10.0  # how long pause/resume wait for the worker to confirm
    cancel_grace: float = 30.0  # after a cancel, the worker is killed if it has not exited by then
    exit_grace: float = 20.0  # after its final state, the worker is killed if it has not exited by then
    stop_checkpoint_timeout: float = 10.0  # on a graceful stop, how long running workers get to checkpoint
    thresholds: Thresholds = Thresholds()
    artifacts: dict = field(default_factory=dict)  # ArtifactOptions defaults (eval_rows, max_new_tokens...)
    num_threads: int | None = None
    gpu_count: int = 0
    python: str = sys.executable
    hub_token: str = ""  # used to push when a run's request brings none (never in place of one it brought)
    hub_endpoint: str = ""  # the hub to push to when a run's request names none (empty: the real hub)
    push_timeout: float = 120.0
    prepare_retries: int = 3  # a preparation that finds the dataset service or the hub down tries again (1, 2, 4 s)
    backend: str = "local"  # where workers run: "local" (child processes) or "ray" (actors on the Ray cluster)
    ray_address: str = ""  # the cluster's address for backend "ray" ("auto": the one this node belongs to)
    ray_resources: dict = field(default_factory=dict)  # custom Ray resources every run's actor asks for
    storage_url: str = ""  # storage every node sees (services.trainer.storage); empty: the data folder is shared

    @property
    def runs_dir(self) -> Path:
        return Path(self.data_dir) / "trainer" / "runs"


@dataclass
class RunRequest:
    """What CreateRun asks for."""

    run_id: str = ""
    job_id: str = ""
    model: str = ""
    dataset: str = ""
    hyperparameters: dict = field(default_factory=dict)
    model_saving: dict = field(default_factory=dict)  # save_model, model_name, push_to_hub, make_public, hub_endpoint
    hub_token: str = ""
    gpu_count: int = 0
    workers: int = 0  # data-parallel ranks: 0 for one per GPU (one on the CPU)
    train_rows: list[dict] = field(default_factory=list)
    validation_rows: list[dict] = field(default_factory=list)


@dataclass
class PreparedInputs:
    model_path: Path
    train_rows: list[dict]
    validation_rows: list[dict]


Prepare = Callable[[RunRequest, TrainingConfig], Awaitable[PreparedInputs]]


@dataclass
class _Handle:
    """One supervised run."""

    run_id: str
    run_dir: Path
    state: str
    gpu_count: int
    gpus: list[int]
    progress: dict
    sticky: dict  # {"paused", "learning_rate", "learning_rate_step", "cancel_requested", "worker_terminal", "gpus"}
    offset: int
    attempt: int
    push: dict = field(default_factory=dict)
    own_hub_token: bool = False  # the request brought a hub token (kept 0600 in the run folder): push with it only
    crashes: int = 0
    proc: asyncio.subprocess.Process | None = None
    preparing: asyncio.Future | None = None  # fetching the model and rows, before the first launch
    cancel_requested: bool = False
    finished: bool = False  # the final state is recorded; only the process may still be exiting
    summary: dict = field(default_factory=dict)
    rules: AlertRules = field(default_factory=AlertRules)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    checkpointed: asyncio.Event = field(default_factory=asyncio.Event)  # set by each checkpoint event
    activity: asyncio.Event = field(default_factory=asyncio.Event)  # set by each recorded journal line
    link_token: str = ""  # the current attempt's: its worker's stream must bring it
    session: LinkSession | None = None  # the current worker's stream
    commands: list[tuple[int, Command]] = field(default_factory=list)  # sent to this attempt, not yet acknowledged
    next_command: int = 1
    workers: int = 0  # as requested (see `ranks`)
    sample: dict | None = None  # the newest resource sample a remote worker sent of its node

    @property
    def ranks(self) -> int:
        """The worker processes of one attempt: as asked, else one per GPU, else one."""
        return self.workers or max(1, self.gpu_count)

    def sticky_json(self) -> str:
        return dumps({**self.sticky, "gpus": self.gpus})

    def set_state(self, state: str) -> None:
        self.state = state
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait_for_state(self, wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.state != wanted and (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                return


class Supervisor:
    """Admits, launches and watches runs; the only writer of their events and active state."""

    def __init__(self, store: TrainerStore, events: EventLog, options: SupervisorOptions, prepare: Prepare,
                 sampler: ResourceSampler | None = None):
        self.store = store
        self.events = events
        self.options = options
        self.prepare = prepare
        self.sampler = sampler or ResourceSampler(options.data_dir)
        self.pool = WarmPool(options.warm_workers, options.python, options.runs_dir.parent)
        self._handles: dict[str, _Handle] = {}
        self._slots: set[str] = set()  # run ids admitted: being prepared or active
        self._gpus_in_use: set[int] = set()
        self._admission = asyncio.Lock()
        self._sampler_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # each run's supervision, until its worker has exited
        self._usage = ProcessUsage()
        self.gpu_count = options.gpu_count  # the GPUs runs may ask for: this machine's, or the Ray cluster's
        self.link: LinkServer | None = None
        self._started = False  # the runs a previous trainer left active are known
        self.ray = None
        if options.backend == "ray":
            from services.trainer.ray_backend import RayBackend

            self.ray = RayBackend(options.ray_address, options.ray_resources)
        self.storage = None
        if options.storage_url:
            if self.ray is None:
                raise InvalidArgument("FINETUNE_TRAINER_STORAGE_URL is for workers on other nodes: set "
                                      "FINETUNE_TRAINER_BACKEND=ray too, or leave it empty", reason="INVALID_SETTING")
            from services.trainer.storage import RunStorage

            self.storage = RunStorage(options.storage_url)

    # ------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Resume the runs a previous trainer left active, then start sampling and the warm pool."""
        self.options.runs_dir.mkdir(parents=True, exist_ok=True)
        if self.ray is not None:
            await self.ray.connect()
            self.gpu_count = await self.ray.gpu_count()
        if self.storage is not None:
            await asyncio.to_thread(self.storage.check)
        self.link = LinkServer(self, self.options.link_host, self.options.link_port)
        await self.link.start()
        for row in await self.store.runs_in_states(ACTIVE_STATES):
            handle = self._handles[row.id] = self._handle_from_row(row)
            self._slots.add(row.id)
            self._gpus_in_use.update(handle.gpus)
            await self.events.open(row.id, writer=True)
            self._watch(handle, recovering=True)
        self._started = True
        self._sampler_task = asyncio.create_task(self._sample_forever(), name="resource-sampler")
        await self.pool.fill()

    async def stop(self) -> None:
        """Have the running workers checkpoint their current step (bounded by `stop_checkpoint_timeout`), then
        kill them: their runs stay active in the database and resume from there at the next start. Ray actors
        train on: the next trainer re-attaches to them."""
        live = [h for h in self._handles.values()
                if not h.finished and h.proc is not None and h.proc.returncode is None and not _remote(h.proc)]
        if live and self.options.stop_checkpoint_timeout > 0:
            await asyncio.gather(*(self._checkpoint_before_stop(h) for h in live), return_exceptions=True)
        tasks = list(self._tasks)
        if self._sampler_task:
            tasks.append(self._sampler_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.pool.stop()
        if self.link is not None:
            await self.link.stop()

    async def _checkpoint_before_stop(self, handle: _Handle) -> None:
        step = int(handle.progress.get("step") or 0)
        if step <= int(handle.progress.get("checkpoint_step") or 0):
            return  # nothing trained since the last checkpoint
        self._send(handle, Command("save_checkpoint"))
        deadline = time.monotonic() + self.options.stop_checkpoint_timeout
        while int(handle.progress.get("checkpoint_step") or 0) < step and handle.proc.returncode is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            handle.checkpointed.clear()
            try:
                await asyncio.wait_for(handle.checkpointed.wait(), left)
            except asyncio.TimeoutError:
                break
        saved = int(handle.progress.get("checkpoint_step") or 0)
        if saved >= step:
            message = f"the trainer is stopping: saved checkpoint-{saved}; the run resumes from it when the trainer starts again"
            level = "info"
        else:
            message = (f"the trainer is stopping: no checkpoint of step {step} within {self.options.stop_checkpoint_timeout:g} s; "
                       f"the run resumes from " + (f"checkpoint-{saved}" if saved else "the start") + " when the trainer starts again")
            level = "warning"
        self.events.publish(handle.run_id, "log", {"level": level, "source": "trainer", "message": message})

    def capacity(self) -> tuple[int, int, int]:
        """(active runs, maximum, GPUs visible)."""
        return len(self._slots), self.options.max_concurrent_runs, self.gpu_count

    async def free_capacity(self) -> dict:
        """What a new run can have now (GetCapacity): `free_gpus` and `free_runs`, from the Ray cluster's free
        resources on the ray backend (less what runs accepted but not yet placed will take)."""
        slots = max(0, self.options.max_concurrent_runs - len(self._slots))
        if self.ray is None:
            return {"free_gpus": max(0, self.gpu_count - len(self._gpus_in_use)), "free_runs": slots, "backend": "local"}
        gpus, workers = await self._cluster_room(self.ray.worker_demand(0))
        return {"free_gpus": gpus, "free_runs": min(slots, workers), "backend": "ray"}

    async def _cluster_room(self, demand: dict) -> tuple[int, int]:
        """(GPUs free on the Ray cluster, workers of `demand` its nodes can place), less what the runs accepted but
        not placed yet will take."""
        gpus, placeable = await self.ray.free(demand)
        unplaced = [h for h in self._handles.values() if not h.finished and h.proc is None]
        return max(0, gpus - sum(h.gpu_count for h in unplaced)), max(0, placeable - sum(h.ranks for h in unplaced))

    def pid_of(self, run_id: str) -> int | None:
        handle = self._handles.get(run_id)
        if handle is None or handle.finished or handle.proc is None or handle.proc.returncode is not None:
            return None
        if _remote(handle.proc):
            return None  # on another node: this machine's samples do not see it
        return handle.proc.pid

    def active_pids(self) -> list[int]:
        return [pid for run_id in self._handles if (pid := self.pid_of(run_id))]

    # ------------------------------------------------------------------------------ create

    async def create_run(self, request: RunRequest) -> RunRow:
        """Check what can be checked at once, store the run PENDING and answer: the preparation (the model's
        download, the dataset's rows) runs after, as the run's first stage, so that however slow it is it
        never holds the caller (a long-running operation in AIP-151's sense: GetRun or StreamRunEvents tell
        how it goes, and a preparation that fails ends the run FAILED with the reason)."""
        config = TrainingConfig.from_dict(request.hyperparameters)
        if not request.model.strip():
            raise InvalidArgument("run.model is required: a built-in id, a local model directory or a hub id",
                                  reason="MODEL_REQUIRED", metadata={"field": "run.model"})
        if request.gpu_count < 0:
            raise InvalidArgument(f"gpu_count must be 0 or more, got {request.gpu_count}", reason="INVALID_GPU_COUNT")
        if request.gpu_count > self.gpu_count:
            raise FailedPrecondition(gpu_shortfall(request.gpu_count, self.gpu_count), reason="NOT_ENOUGH_GPUS")
        if problem := workers_problem(request.workers, request.gpu_count):
            raise InvalidArgument(problem, reason="INVALID_WORKERS", metadata={"field": "run.workers"})
        if request.dataset and request.train_rows:
            raise InvalidArgument("give either run.dataset or train_rows, not both", reason="ROWS_CONFLICT")
        if not request.dataset and not request.train_rows:
            raise InvalidArgument("the run needs training rows: set run.dataset to 'datasets/{id}' or send train_rows",
                                  reason="ROWS_REQUIRED")
        if request.dataset:
            request.dataset = "datasets/" + parse_name(request.dataset, "datasets")
        if request.model_saving.get("push_to_hub") and not request.hub_token:
            self._check_own_token_endpoint(request.model_saving.get("hub_endpoint") or "")
        run_id = parse_name(request.run_id, "runs") if request.run_id else new_id("run")
        gpus = await self._admit(run_id, request.gpu_count, request.workers or max(1, request.gpu_count))
        try:
            try:
                await self.store.get_run(run_id)
            except NotFound:
                pass
            else:
                raise _already_exists(run_id)
            row = await self._accept(run_id, request, config, gpus)
        except BaseException:
            self._release_slot(run_id, gpus)
            raise
        handle = self._handles[run_id] = self._handle_from_row(row)
        await self.events.open(run_id, writer=True)
        self.events.publish(run_id, "state", {"state": PENDING, "previous": "", "attempt": 0,
                                              "message": "run accepted; preparing the model and the rows"})
        self._watch(handle)
        return row

    def _configured_hub(self) -> str:
        return (self.options.hub_endpoint or hub_constants.ENDPOINT).rstrip("/")

    def _check_own_token_endpoint(self, endpoint: str) -> None:
        """The trainer's own HUB_TOKEN goes only to the hub it is configured for: a caller who names another hub
        brings a token of their own (a caller-chosen host must never receive the server's credentials)."""
        if endpoint and endpoint.strip().rstrip("/").lower() != self._configured_hub().lower():
            raise InvalidArgument(
                f"model_saving.hub_endpoint {endpoint!r} is not this trainer's hub ({self._configured_hub()}), and "
                "the trainer's own hub token is sent only there: give model_saving.hub_token to push elsewhere, "
                "or leave hub_endpoint empty", reason="HUB_ENDPOINT_NOT_CONFIGURED",
                metadata={"field": "model_saving.hub_endpoint"})

    def _watch(self, handle: _Handle, recovering: bool = False) -> None:
        task = asyncio.create_task(self._supervise(handle, recovering), name=f"run-{handle.run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _admit(self, run_id: str, gpu_count: int, ranks: int) -> list[int]:
        async with self._admission:
            if run_id in self._slots:
                raise _already_exists(run_id)
            if len(self._slots) >= self.options.max_concurrent_runs:
                raise ResourceExhausted(
                    f"the trainer already runs {len(self._slots)} of at most {self.options.max_concurrent_runs} "
                    "concurrent runs; try again when one ends", reason="TRAINER_AT_CAPACITY",
                    metadata={"active_runs": len(self._slots), "max_concurrent_runs": self.options.max_concurrent_runs})
            if self.ray is not None:
                await self._admit_on_cluster(gpu_count, ranks)
                self._slots.add(run_id)
                return []  # Ray picks the GPUs
            free = [i for i in range(self.gpu_count) if i not in self._gpus_in_use]
            if gpu_count > len(free):
                raise ResourceExhausted(f"{gpu_count} GPU(s) asked for, {len(free)} free; try again when a run ends",
                                        reason="TRAINER_AT_CAPACITY", metadata={"free_gpus": len(free)})
            self._slots.add(run_id)
            self._gpus_in_use.update(free[:gpu_count])
            return free[:gpu_count]

    async def _admit_on_cluster(self, gpu_count: int, ranks: int) -> None:
        """Refuse a run the Ray cluster cannot place now (its GPUs, or a node's room for each of its workers). Ray
        frees an ended run's resources a moment after its actor is killed: that moment is waited for."""
        per_worker = self.ray.worker_demand(gpu_count // ranks if gpu_count else 0)
        deadline = time.monotonic() + PLACE_WAIT_SECONDS
        while True:
            gpus, workers = await self._cluster_room(per_worker)
            if (gpu_count <= gpus and ranks <= workers) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        if gpu_count > gpus or ranks > workers:
            wanted = f"{gpu_count} GPU(s) and " if gpu_count else ""
            raise ResourceExhausted(
                f"the Ray cluster cannot place the run now: it asks for {wanted}{ranks} worker(s) of {per_worker}, and "
                f"{gpus} GPU(s) and room for {workers} such worker(s) are free; try again when a run ends",
                reason="TRAINER_AT_CAPACITY", metadata={"free_gpus": gpus, "free_workers": workers})

    def _release_slot(self, run_id: str, gpus: list[int]) -> None:
        self._slots.discard(run_id)
        self._gpus_in_use.difference_update(gpus)

    async def _accept(self, run_id: str, request: RunRequest, config: TrainingConfig, gpus: list[int]) -> RunRow:
        """Store the run PENDING with what its preparation needs (the token 0600 and inline rows in its folder)."""
        run_dir = self.options.runs_dir / run_id
        if run_dir.exists():  # left by a creation that failed before its row was stored
            shutil.rmtree(run_dir)
        await asyncio.to_thread(_write_request_files, run_dir, request)
        saving = {k: v for k, v in request.model_saving.items() if k != "hub_token"}
        progress = {"total_steps": config.max_steps or 0, "total_epochs": config.epochs}
        row = RunRow(id=run_id, job_id=request.job_id, state=PENDING, model=request.model, dataset=request.dataset,
                     spec=dumps({"hyperparameters": request.hyperparameters, "model_saving": saving,
                                 "own_hub_token": bool(request.hub_token)}),
                     gpu_count=request.gpu_count, workers=request.workers, progress=dumps(progress), run_dir=str(run_dir),
                     create_time=now(),
                     sticky=dumps({"gpus": gpus}))
        return await self.store.add_run(row)

    async def _prepare_run(self, handle: _Handle) -> bool:
        """Fetch the model and rows and write the worker's run spec; False when the run ended instead (failed,
        or cancelled meanwhile). A cancel stops the preparation; a trainer that stops leaves the run PENDING,
        and the next one prepares it again."""
        if handle.cancel_requested:  # cancelled before a restart of the trainer: nothing to prepare
            await self._finish(handle, CANCELLED, "cancelled while the model and rows were being prepared",
                               reason="cancel_requested")
            return False
        handle.preparing = asyncio.ensure_future(self._prepare_inputs(handle))
        try:
            await asyncio.wait([handle.preparing])
        finally:
            if not handle.preparing.done():
                handle.preparing.cancel()
        if handle.cancel_requested:
            await self._finish(handle, CANCELLED, "cancelled while the model and rows were being prepared",
                               reason="cancel_requested")
            return False
        error = handle.preparing.exception()
        if error is None:
            return True
        if not isinstance(error, FinetuneError):
            raise error
        await self._finish(handle, FAILED, f"preparing the run failed: {error.message}", reason=error.reason or "PREPARATION_FAILED",
                           error=error.message)
        return False

    async def _prepare_inputs(self, handle: _Handle) -> None:
        row = await self.store.get_run(handle.run_id)
        request = await asyncio.to_thread(_stored_request, row)
        config = TrainingConfig.from_dict(request.hyperparameters)
        for retry in range(self.options.prepare_retries + 1):
            try:
                inputs = await self.prepare(request, config)
                break
            except Unavailable as exc:  # a dataset service or hub that is down for a moment: wait, then again
                if retry == self.options.prepare_retries:
                    raise
                delay = min(30.0, 2.0 ** retry)
                self.events.publish(handle.run_id, "log", {"level": "warning", "source": "trainer",
                                                           "message": f"{exc.message}; trying again in {delay:g} s"})
                await asyncio.sleep(delay)
        saving = row.spec_dict().get("model_saving", {})
        artifacts = {**self.options.artifacts, "save_model": bool(saving.get("save_model")),
                     "model_name": saving.get("model_name") or row.id}
        await asyncio.to_thread(
            write_run_spec, handle.run_dir, config=config.to_dict(), model_path=inputs.model_path,
            train_rows=inputs.train_rows, validation_rows=inputs.validation_rows, artifacts=artifacts,
            device="cuda" if row.gpu_count else "cpu", num_threads=self.options.num_threads)
        self.events.publish(handle.run_id, "log", {"level": "info", "source": "trainer", "message": (
            f"prepared: model {inputs.model_path}, {len(inputs.train_rows)} training and {len(inputs.validation_rows)} "
            "validation rows")})

    def _handle_from_row(self, row: RunRow) -> _Handle:
        saving = row.spec_dict().get("model_saving", {})
        gpus = row.sticky_dict().get("gpus", list(range(row.gpu_count)))
        sticky = row.sticky_dict()
        return _Handle(run_id=row.id, run_dir=Path(row.run_dir), state=row.state, gpu_count=row.gpu_count, gpus=gpus,
                       workers=row.workers,
                       progress=row.progress_dict(), sticky=sticky, offset=row.events_offset, attempt=row.attempts,
                       push=saving, own_hub_token=bool(row.spec_dict().get("own_hub_token")), rules=AlertRules(self.options.thresholds),
                       cancel_requested=bool(sticky.get("cancel_requested")))

    # ------------------------------------------------------------------------------ control

    async def control(self, run_id: str, command: str, value: float | None = None) -> None:
        """Send a command to the run's worker; pause and resume wait (bounded) until the worker confirms."""
        cmd = Command.from_dict({"command": command, "value": value})
        handle = self._handles.get(run_id)
        state = handle.state if handle else (await self.store.get_run(run_id)).state
        if handle is not None and (command, state, handle.sticky.get("paused", False)) in _ALREADY_DONE:
            return  # pause of a paused run, resume of a running one: the run is as asked
        if handle is None or state not in ALLOWED[command]:
            wanted = " or ".join(ALLOWED[command])
            raise FailedPrecondition(f"cannot {command.replace('_', ' ')} run 'runs/{run_id}': it is {state}, not {wanted}",
                                     reason="RUN_STATE_CONFLICT", metadata={"state": state, "command": command})
        if command == "pause":
            handle.sticky["paused"] = True
        elif command == "resume":
            handle.sticky["paused"] = False
        elif command == "set_learning_rate":
            handle.sticky.update(learning_rate=cmd.value, learning_rate_step=int(handle.progress.get("step", 0)))
        elif command == "cancel":
            handle.cancel_requested = handle.sticky["cancel_requested"] = True  # stored: a restart must not resume it
            if handle.preparing is not None and not handle.preparing.done():
                handle.preparing.cancel()
            asyncio.get_running_loop().call_later(self.options.cancel_grace, self._kill_if_running, handle)
        self.events.update_run(run_id, sticky=handle.sticky_json())
        self.events.publish(run_id, "log", {"level": "info", "source": "trainer",
                                            "message": f"{command} requested" + (f" ({cmd.value:g})" if cmd.value else "")})
        self._send(handle, cmd)
        if command in ("pause", "resume"):
            await handle.wait_for_state(PAUSED if command == "pause" else RUNNING, self.options.ack_timeout)

    def _kill_if_running(self, handle: _Handle) -> None:
        if handle.proc is not None and handle.proc.returncode is None:
            _kill(handle.proc)

    # ------------------------------------------------------------------------------ one run's life

    async def _supervise(self, handle: _Handle, recovering: bool = False) -> None:
        try:
            if not (handle.run_dir / RUN_SPEC).exists():
                if not await self._prepare_run(handle):
                    return
                recovering = False  # no worker has run yet
            attached = recovering and await self._reattach(handle)
            if recovering and not attached:
                await self._recover(handle)
                if handle.sticky.get("worker_terminal"):
                    await self._end(handle, returncode=0)
                    return
            while True:
                if not attached:
                    await self._launch(handle, recovering)
                attached = recovering = False
                returncode = await self._follow(handle)
                if await self._end(handle, returncode):
                    return
                await asyncio.sleep(min(5.0, 0.2 * handle.crashes))
        except asyncio.CancelledError:
            if handle.proc is not None and handle.proc.returncode is None and not _remote(handle.proc):
                _kill(handle.proc)  # a Ray actor trains on: the next trainer re-attaches to it
                await handle.proc.wait()
            self._close_session(handle)
            await self.events.flush(handle.run_id)
            raise
        except Exception as exc:  # noqa: BLE001 - a bug here must not leave the run active forever
            log.exception("supervising run %s failed", handle.run_id)
            if handle.proc is not None and handle.proc.returncode is None:
                _kill(handle.proc)
            message = f"the trainer failed supervising this run: {type(exc).__name__}: {exc}"[:1000]
            await self._finish(handle, FAILED, message, reason="INTERNAL", error=message)  # the job shows why

    async def _reattach(self, handle: _Handle) -> bool:
        """After a trainer restart on Ray: follow the run's live actor again (its worker trained on meanwhile and
        reconnects its link here, resending what this trainer has not stored)."""
        if self.ray is None or handle.attempt < 1 or handle.cancel_requested:
            return False
        worker = await self.ray.reattach(handle.run_id, handle.attempt)
        settings = read_link_file(handle.run_dir)
        if worker is None or not settings or int(settings.get("attempt", 0)) != handle.attempt:
            return False
        handle.proc = worker
        await self._open_link(handle, settings["token"], first_command=time.time_ns() // 1000)  # above any id sent before
        if self.storage is not None:  # the worker's link file is on its node: the actor there rewrites it
            await worker.relink(self.link.address)
        self.events.publish(handle.run_id, "log", {"level": "info", "source": "trainer", "message": (
            f"the trainer restarted; re-attached to the run's worker on Ray node {worker.node_ip}, which trained on")})
        return True

    async def _recover(self, handle: _Handle) -> None:
        """After a trainer restart: kill a worker that outlived the old trainer (the next worker resends what
        its journal holds beyond the stored offset)."""
        row = await self.store.get_run(handle.run_id)
        if self.ray is not None:
            await self.ray.kill_leftovers(handle.run_id, row.attempts)
        else:
            kill_run_workers(row.worker_pid, row.worker_started, handle.run_dir)

    async def _launch(self, handle: _Handle, recovering: bool) -> None:
        """Start the next attempt's worker. A run cancelled meanwhile gets one too, told to finish: it only
        resends the journal lines its predecessor could not deliver, so nothing it recorded is lost."""
        self._close_session(handle)
        if not handle.cancel_requested:
            handle.attempt += 1  # a worker that only resends its predecessor's lines is no new attempt
        await self._publish_inputs(handle)
        await self._open_link(handle, secrets.token_urlsafe(24), first_command=1)
        handle.proc = await self._spawn(handle)
        remote = _remote(handle.proc)
        values = {"attempts": handle.attempt, "worker_pid": handle.proc.pid,
                  "worker_started": 0.0 if remote else create_time(handle.proc.pid),
                  "sticky": handle.sticky_json(), "placement": handle.proc.placement if remote else "local"}
        if handle.cancel_requested:
            self.events.update_run(handle.run_id, **values)
            return
        previous = handle.state
        handle.set_state(RUNNING)
        checkpoint = int(handle.progress.get("checkpoint_step") or 0)
        if handle.attempt == 1:
            message = "worker started"
        else:
            why = "the trainer restarted" if recovering else "the worker died"
            message = f"{why}; resuming from " + (f"checkpoint-{checkpoint}" if checkpoint else "the start (no checkpoint yet)")
        if remote:
            message += f" (Ray node {handle.proc.node_ip}" + (
                f", driving {handle.proc.workers} Ray Train workers)" if handle.proc.workers > 1 else ")")
        values["state"] = RUNNING
        if handle.attempt == 1:
            values["start_time"] = now()
        self.events.publish(handle.run_id, "state", {"state": RUNNING, "previous": previous, "message": message,
                                                     "attempt": handle.attempt}, run_values=values)

    async def _publish_inputs(self, handle: _Handle) -> None:
        """With a storage URL: the run's inputs and model where a worker on any node stages them (once)."""
        marker = handle.run_dir / PUBLISHED
        if self.storage is not None and not marker.exists():
            await asyncio.to_thread(self.storage.publish_inputs, handle.run_id, handle.run_dir)
            marker.touch()

    def _storage_spec(self, handle: _Handle) -> dict | None:
        """What a worker on a node that shares no folder with this trainer needs to set its run folder up."""
        if self.storage is None:
            return None
        return {"url": self.storage.url, "run": handle.run_id, "link": read_link_file(handle.run_dir),
                "attempt": handle.attempt, "stored_offset": handle.offset, "python": self.options.python}

    async def _open_link(self, handle: _Handle, token: str, first_command: int) -> None:
        """Let the attempt's worker connect with `token` (written to its link file with this trainer's address),
        its commands numbered from `first_command`, the sticky ones queued first."""
        handle.link_token = token
        handle.commands, handle.next_command = [], first_command
        self._repeat_sticky_commands(handle)
        # A worker on another node samples its own node: this trainer's samples cannot see it.
        sample_interval = self.options.sample_interval if self.ray is not None else 0.0
        await asyncio.to_thread(write_link_file, handle.run_dir, address=self.link.address, run=handle.run_id,
                                attempt=handle.attempt, token=token, sample_interval=sample_interval)

    def _repeat_sticky_commands(self, handle: _Handle) -> None:
        """A new worker knows no earlier command: repeat the ones that still hold."""
        lr, lr_step = handle.sticky.get("learning_rate"), handle.sticky.get("learning_rate_step", 0)
        if lr and lr_step >= int(handle.progress.get("checkpoint_step") or 0):
            self._send(handle, Command("set_learning_rate", lr))
        if handle.sticky.get("paused"):
            self._send(handle, Command("pause"))
        if handle.cancel_requested:
            self._send(handle, Command("cancel"))

    def _send(self, handle: _Handle, command: Command) -> None:
        """Queue a command for the current worker; resent on each new stream until it is acknowledged."""
        command_id, handle.next_command = handle.next_command, handle.next_command + 1
        handle.commands.append((command_id, command))
        if handle.session is not None:
            handle.session.send_command(command_id, command)

    async def _spawn(self, handle: _Handle):
        log_file = handle.run_dir / WORKER_LOG
        if self.ray is not None:
            storage = self._storage_spec(handle)
            if handle.ranks > 1:
                return await self.ray.spawn_data_parallel(handle.run_id, handle.attempt, handle.run_dir, handle.ranks,
                                                          handle.gpu_count, log_file, storage)
            command = worker_command(handle.run_dir, 1, self.options.python)
            return await self.ray.spawn(handle.run_id, handle.attempt, handle.run_dir, command, handle.gpu_count, log_file,
                                        storage)
        env = dict(os.environ)
        if handle.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, handle.gpus))
        if handle.ranks == 1 and not handle.gpus:
            proc = await self.pool.take(handle.run_dir)
            if proc is not None:
                await self.pool.fill()  # the next run starts warm too (the import overlaps this run's training)
                return proc
        with open(log_file, "ab") as out:
            command = worker_command(handle.run_dir, handle.ranks, self.options.python)
            return await asyncio.create_subprocess_exec(
                *die_with_parent(command, self.options.python), stdin=asyncio.subprocess.DEVNULL, stdout=out,
                stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True)

    # ------------------------------------------------------------------------------ the worker link

    def link_session(self, hello: link_pb.Hello, authorization: str) -> LinkSession:
        """Accept a worker's stream (`services.trainer.link`): the current attempt's, with its token as Bearer."""
        handle = self._handles.get(hello.run)
        if (handle is None and not self._started) or (handle is not None and not handle.link_token):
            raise Unavailable("the trainer is starting; connect again", reason="TRAINER_STARTING")  # the worker retries
        if handle is None or handle.finished:
            raise FailedPrecondition(f"run 'runs/{hello.run}' is not supervised by this trainer", reason="RUN_NOT_SUPERVISED")
        if hello.attempt != handle.attempt or not bearer_matches(authorization, handle.link_token):
            raise Unauthenticated(f"wrong or stale link token for attempt {hello.attempt} of run 'runs/{hello.run}' "
                                  f"(the current attempt is {handle.attempt})")
        self._close_session(handle)
        session = LinkSession(link_pb.Welcome(stored_offset=handle.offset, finish=handle.cancel_requested),
                              take=lambda request: self._take(handle, session, request),
                              flush=lambda: self.events.flush(handle.run_id), offset=lambda: handle.offset,
                              on_close=lambda closed: self._session_closed(handle, closed))
        handle.session = session
        for command_id, command in handle.commands:
            session.send_command(command_id, command)
        return session

    def _session_closed(self, handle: _Handle, session: LinkSession) -> None:
        if handle.session is session:
            handle.session = None

    def _close_session(self, handle: _Handle) -> None:
        if handle.session is not None:
            handle.session.close()
            handle.session = None

    def _take(self, handle: _Handle, session: LinkSession, request: link_pb.ConnectRequest) -> bool:
        """One message of the worker's stream; True when it was a journal line (to acknowledge once stored)."""
        if handle.session is not session:
            return False  # a replaced stream's late message
        kind = request.WhichOneof("message")
        if kind == "command_ack":
            handle.commands = [(i, c) for i, c in handle.commands if i != request.command_ack.id]
            return False
        if kind == "resources":
            self._remote_sample(handle, request.resources.json)
            return False
        if kind != "event":
            return False
        end, line = request.event.end_offset, request.event.json
        if end <= handle.offset:
            return True  # stored already (resent after a reconnect): acknowledge it again
        handle.offset = end
        try:
            event = json.loads(line) if line.strip() else None
        except ValueError:
            event = {"type": "log", "level": "warning", "message": f"unreadable event line: {line[:200]!r}"}
        if isinstance(event, dict):
            self._record(handle, event)
        else:
            self.events.update_run(handle.run_id, events_offset=handle.offset)
        handle.activity.set()
        return True

    async def _follow(self, handle: _Handle) -> int | None:
        """Wait until the worker has reported its final state or has exited (and its stream has delivered what
        it carried); its exit status (None while it is still exiting)."""
        proc = handle.proc
        exit_wait = asyncio.ensure_future(proc.wait())
        try:
            while True:
                handle.activity.clear()  # before looking: a line recorded after the look wakes the wait below
                if handle.sticky.get("worker_terminal") or exit_wait.done():
                    break
                activity = asyncio.ensure_future(handle.activity.wait())
                await asyncio.wait([exit_wait, activity], return_when=asyncio.FIRST_COMPLETED)
                activity.cancel()
        finally:
            if not exit_wait.done():
                exit_wait.cancel()
        session = handle.session
        if proc.returncode is not None and session is not None:
            try:
                await asyncio.wait_for(session.closed.wait(), self.options.link_close_grace)
            except asyncio.TimeoutError:
                log.warning("run %s: the worker exited but its stream stayed open; closing it", handle.run_id)
            self._close_session(handle)
        return proc.returncode

    def _record(self, handle: _Handle, event: dict) -> None:
        """Turn one worker event into recorded events and progress (stored with the file offset)."""
        run_id, kind = handle.run_id, event.get("type")
        at = float(event.get("time") or time.time())
        progress, values = handle.progress, {"events_offset": handle.offset}
        publish = self.events.publish
        if kind == "step":
            data = {k: event[k] for k in _STEP_FIELDS if k in event}
            data["percent"] = event.get("percent_complete", event.get("percent", 0.0))
            progress.update({k: v for k, v in data.items() if k != "tokens"})
            values["progress"] = dumps(progress)
            publish(run_id, "step", data, at=at, run_values=values)
            for alert in handle.rules.check_loss(_float(data.get("train_loss")), int(data.get("step", 0))):
                publish(run_id, "alert", alert, at=at)
        elif kind == "eval":
            loss = _float(event.get("validation_loss"))
            progress["validation_loss"] = loss
            best = progress.get("best_validation_loss")
            if math.isfinite(loss) and (best is None or loss < best):
                progress["best_validation_loss"] = loss
            values["progress"] = dumps(progress)
            publish(run_id, "eval", {k: v for k, v in event.items() if k not in ("type", "time")}, at=at, run_values=values)
        elif kind == "checkpoint":
            step = int(event.get("step", 0))
            if step > int(progress.get("checkpoint_step") or 0):
                handle.crashes = 0  # progress kept: the crashes that count are the ones in a row since
            progress["checkpoint_step"] = step
            values["progress"] = dumps(progress)
            publish(run_id, "checkpoint", {"step": progress["checkpoint_step"], "path": str(event.get("path", ""))},
                    at=at, run_values=values)
            handle.checkpointed.set()
            if self.storage is not None:
                self._fetch_checkpoint(handle, step)
        elif kind == "alert":
            alerts = handle.rules.from_worker(event)
            for alert in alerts:
                publish(run_id, "alert", alert, at=at, run_values=values)
            if not alerts:
                self.events.update_run(run_id, **values)
        elif kind == "summary":
            handle.summary = {k: v for k, v in event.items() if k not in ("type", "time")}
            publish(run_id, "summary", handle.summary, at=at, run_values=values)
        elif kind == "state":
            self._record_state(handle, event, at, values)
        else:
            data = {"level": str(event.get("level", "info")), "message": str(event.get("message", event)),
                    "source": "worker"}
            publish(run_id, "log", data, at=at, run_values=values)

    def _record_state(self, handle: _Handle, event: dict, at: float, values: dict) -> None:
        state = str(event.get("state", ""))
        if state in (RUNNING, PAUSED):
            if state != handle.state:
                previous = handle.state
                handle.set_state(state)
                values["state"] = state
                self.events.publish(handle.run_id, "state", {
                    "state": state, "previous": previous, "message": str(event.get("message", "")),
                    "reason": str(event.get("reason", "")), "attempt": handle.attempt}, at=at, run_values=values)
                return
        else:  # the final word comes from the supervisor once the worker has exited
            handle.sticky["worker_terminal"] = {k: event.get(k, "") for k in ("state", "reason", "message")}
            values["sticky"] = handle.sticky_json()
        self.events.update_run(handle.run_id, **values)

    def _fetch_checkpoint(self, handle: _Handle, step: int) -> None:
        """A checkpoint a remote worker reported, into this trainer's run folder (Generate answers from it), the
        run's oldest beyond what it keeps dropped; in the background: training never waits on it."""
        def fetch() -> None:
            keep = TrainingConfig.from_dict(json.loads((handle.run_dir / RUN_SPEC).read_text())["config"]).keep_checkpoints
            checkpoints = handle.run_dir / "checkpoints"
            self.storage.get_checkpoint(handle.run_id, step, checkpoints)
            for old in list_checkpoints(checkpoints)[:-keep] if keep > 0 else []:
                shutil.rmtree(old, ignore_errors=True)

        task = asyncio.ensure_future(asyncio.to_thread(fetch))
        task.add_done_callback(lambda t: t.cancelled() or t.exception() is None or log.warning(
            "run %s: checkpoint-%d not fetched from the storage: %s", handle.run_id, step, t.exception()))

    async def _fetch_artifacts(self, handle: _Handle) -> str:
        """A finished remote worker's artifacts into this trainer's run folder; '' or why they are not there."""
        if self.storage is None:
            return ""
        try:
            if await asyncio.to_thread(self.storage.fetch_artifacts, handle.run_id, handle.run_dir):
                return ""
            return f"the worker reported its final state but its artifacts are not in the storage ({self.storage.url})"
        except OSError as exc:
            return f"the run's artifacts could not be fetched from the storage ({self.storage.url}): {exc}"

    async def _end(self, handle: _Handle, returncode: int | None) -> bool:
        """Decide what an exited worker means: the run's final state (True), or a relaunch (False)."""
        terminal = handle.sticky.get("worker_terminal")
        if terminal:
            state, reason, message = terminal["state"], str(terminal["reason"]), str(terminal["message"])
            missing = await self._fetch_artifacts(handle) if state in (COMPLETED, "stopped_early") else ""
            if missing:
                await self._finish(handle, FAILED, missing, reason="ARTIFACTS_UNAVAILABLE", error=missing)
            elif state in (COMPLETED, "stopped_early"):
                await self._push_to_hub(handle)
                await self._finish(handle, COMPLETED, message, reason=reason, stopped_early=state == "stopped_early",
                                   output_dir=str(handle.run_dir / "artifacts"))
            elif state == CANCELLED:
                await self._finish(handle, CANCELLED, message or "cancelled", reason=reason)
            else:
                await self._finish(handle, FAILED, message, reason=reason.upper() or "WORKER_FAILED", error=message)
            return True
        if handle.cancel_requested:
            await self._finish(handle, CANCELLED, "cancelled (the worker was stopped)", reason="cancel_requested")
            return True
        handle.proc = None
        how = _describe_exit(returncode)
        if returncode == 2:
            message = f"the worker could not read its run spec ({how}): {tail(handle.run_dir / WORKER_LOG)}"
            await self._finish(handle, FAILED, message, reason="INVALID_RUN_SPEC", error=message)
            return True
        handle.crashes += 1
        if handle.crashes > self.options.max_restarts:
            message = (f"the worker died {handle.crashes} times in a row (last: {how}); giving up. "
                       f"Last output: {tail(handle.run_dir / WORKER_LOG)}")
            await self._finish(handle, FAILED, message, reason="WORKER_CRASHED", error=message)
            return True
        self.events.publish(handle.run_id, "log", {
            "level": "warning", "source": "trainer",
            "message": f"worker {how} without finishing; relaunching ({handle.crashes} of {self.options.max_restarts})"})
        return False

    async def _finish(self, handle: _Handle, state: str, message: str, *, reason: str = "", error: str = "",
                      stopped_early: bool = False, output_dir: str = "") -> None:
        # The worker exits first, then its slot and GPUs are free, then the final state is told: whoever sees it
        # may start the next run here at once, and two models are never in memory for one slot.
        await self._reap(handle.proc)
        self._handles.pop(handle.run_id, None)
        self._slots.discard(handle.run_id)
        self._gpus_in_use.difference_update(handle.gpus)
        values = {"state": state, "end_time": now(), "error": error, "error_reason": reason.upper() if error else "",
                  "stopped_early": stopped_early, "output_dir": output_dir, "worker_pid": 0,
                  "sticky": handle.sticky_json(), "progress": dumps(handle.progress)}
        self.events.publish(handle.run_id, "state", {"state": state, "previous": handle.state, "message": message,
                                                     "reason": reason, "attempt": handle.attempt, "final": True},
                            run_values=values)
        handle.set_state(state)
        handle.finished = True
        await self.events.release(handle.run_id)

    async def _reap(self, proc: asyncio.subprocess.Process | None) -> None:
        """Let a worker that reported its final state exit, killing it after `exit_grace`."""
        if proc is None or proc.returncode is not None:
            return
        try:
            await asyncio.wait_for(proc.wait(), self.options.exit_grace)
        except asyncio.TimeoutError:
            log.warning("worker %d did not exit %.0fs after its final state; killing it", proc.pid, self.options.exit_grace)
            _kill(proc)
            await proc.wait()

    async def _push_to_hub(self, handle: _Handle) -> None:
        """Push the finished model when the job asked for it. A failure is an alert on a completed run: the
        trained model stays in the run's artifacts and the message says how to push it again."""
        if not handle.push.get("push_to_hub"):
            return
        token_file = handle.run_dir / HUB_TOKEN_FILE
        if token_file.exists():
            token = token_file.read_text().strip()
        elif handle.own_hub_token:  # never another account's token in its place
            self._push_failed(handle, f"the hub token run 'runs/{handle.run_id}' was given is gone from its folder")
            return
        else:
            token = self.options.hub_token
            try:  # also for a run stored before this rule: never the trainer's token to another host
                self._check_own_token_endpoint(handle.push.get("hub_endpoint") or "")
            except InvalidArgument as exc:
                self._push_failed(handle, exc.message)
                return
        try:
            result = await asyncio.to_thread(
                push_to_hub,
                handle.run_dir / "artifacts",
                repo_name=handle.push.get("model_name") or handle.run_id,
                private=not handle.push.get("make_public"),
                token=token or None,
                endpoint=handle.push.get("hub_endpoint") or self.options.hub_endpoint or None,
                timeout_s=self.options.push_timeout,
            )
            self.events.publish(handle.run_id, "log", {"level": "info", "source": "trainer",
                                                       "message": f"pushed {len(result.files)} files to {result.url}"})
        except FinetuneError as exc:
            self._push_failed(handle, exc.message)

    def _push_failed(self, handle: _Handle, why: str) -> None:
        self.events.publish(handle.run_id, "alert", {
            "level": "warning", "code": "PUSH_FAILED", "message": f"push to the hub failed: {why}", "value": 0.0,
            "threshold": 0.0, "suggestion": "the trained model is kept in the run's artifacts; fix the cause and push again"})

    # ------------------------------------------------------------------------------ resources

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.sample_interval)
            live = {run_id: pid for run_id in list(self._handles) if (pid := self.pid_of(run_id))}
            if not live:
                continue
            try:
                sample, usage = await asyncio.to_thread(self._sample, list(live.values()))
            except Exception:  # noqa: BLE001 - a failed sample is skipped, never fatal
                log.exception("resource sample failed")
                continue
            for run_id, pid in live.items():
                handle = self._handles.get(run_id)
                if handle is None:
                    continue
                rss, cpu = usage.get(pid, (0, 0.0))
                self._publish_sample(handle, {**sample, "process_rss_bytes": rss, "process_cpu_percent": cpu})

    def _publish_sample(self, handle: _Handle, sample: dict) -> None:
        """A resource sample of the run's machine and worker as a `resources` event, with the alerts it crosses."""
        self.events.publish(handle.run_id, "resources", sample, at=sample["time"])
        for alert in handle.rules.check_sample(sample):
            self.events.publish(handle.run_id, "alert", alert, at=sample["time"])

    def _remote_sample(self, handle: _Handle, text: str) -> None:
        """A sample a worker on another node took of itself (its link's `resources`)."""
        try:
            sample = json.loads(text)
            sample["time"] = float(sample["time"])
        except (ValueError, KeyError, TypeError):
            log.warning("run %s: unreadable resource sample %r", handle.run_id, text[:200])
            return
        if handle.finished or handle.proc is None or not _remote(handle.proc):
            return  # a local worker is sampled by this trainer
        handle.sample = sample
        self._publish_sample(handle, sample)

    def _sample(self, pids: list[int]) -> tuple[dict, dict[int, tuple[int, float]]]:
        """The machine, and each worker tree's (resident bytes, CPU percent of the machine)."""
        sample = self.sampler.sample(())
        self._usage.keep_only(pids)
        return sample, {pid: (self._usage.rss(pid), self._usage.cpu_percent(pid)) for pid in pids}

    async def current_resources(self, run_id: str = "") -> dict:
        """The newest sample if it is recent, else a new one; with the run's (or all active runs') worker memory."""
        latest = self.sampler.latest
        if latest is None or time.time() - latest["time"] > 2 * self.options.sample_interval:
            latest = await asyncio.to_thread(self.sampler.sample, ())
        remote = [h for h in self._handles.values() if (h.run_id == run_id or not run_id) and self._remote_sample_of(h)]
        if run_id and remote:
            return remote[0].sample  # the node the run's worker is on, as that worker sampled it
        if run_id:
            pid = self.pid_of(run_id)
            pids = [pid] if pid else []
        else:
            pids = self.active_pids()
        local = await asyncio.to_thread(process_tree_rss, pids) if pids else 0
        return {**latest, "process_rss_bytes": local + sum(int(h.sample.get("process_rss_bytes", 0)) for h in remote)}

    def _remote_sample_of(self, handle: _Handle) -> dict | None:
        """The newest sample the run's remote worker sent, while it is recent and the worker is alive."""
        fresh = handle.sample and time.time() - handle.sample["time"] <= 3 * self.options.sample_interval + 2
        alive = handle.proc is not None and handle.proc.returncode is None and _remote(handle.proc)
        return handle.sample if fresh and alive and not handle.finished else None


INLINE_TRAIN, INLINE_VALIDATION = "train.jsonl", "validation.jsonl"  # where write_run_spec puts the rows too


def _write_request_files(run_dir: Path, request: RunRequest) -> None:
    """What a preparation needs besides the run's row: the hub token (0600: it is a secret) and inline rows."""
    run_dir.mkdir(parents=True)
    if request.hub_token:
        descriptor = os.open(run_dir / HUB_TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as f:
            f.write(request.hub_token)
    for name, rows in ((INLINE_TRAIN, request.train_rows), (INLINE_VALIDATION, request.validation_rows)):
        if rows:
            with open(run_dir / name, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def _stored_request(row: RunRow) -> RunRequest:
    """The CreateRun request of a stored run, as its preparation needs it (after a restart too)."""
    run_dir, spec = Path(row.run_dir), row.spec_dict()
    token_file = run_dir / HUB_TOKEN_FILE
    rows = {name: read_jsonl(run_dir / name) if not row.dataset and (run_dir / name).exists() else []
            for name in (INLINE_TRAIN, INLINE_VALIDATION)}
    return RunRequest(run_id=row.id, job_id=row.job_id, model=row.model, dataset=row.dataset,
                      hyperparameters=spec.get("hyperparameters", {}), model_saving=spec.get("model_saving", {}),
                      hub_token=token_file.read_text().strip() if token_file.exists() else "", gpu_count=row.gpu_count,
                      train_rows=rows[INLINE_TRAIN], validation_rows=rows[INLINE_VALIDATION])


def _remote(proc) -> bool:
    return bool(getattr(proc, "remote", False))


def _kill(proc) -> None:
    """Kill a worker: a local process tree, or a Ray actor (its worker dies with it)."""
    if _remote(proc):
        proc.kill()
    else:
        kill_tree(proc.pid)


def _already_exists(run_id: str) -> AlreadyExists:
    return AlreadyExists(f"run 'runs/{run_id}' already exists; pick another run_id", reason="RUN_EXISTS",
                        metadata={"name": f"runs/{run_id}"})


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "was lost when the trainer stopped"
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else str(-returncode)
        hint = " (killed: out of memory, or by hand)" if -returncode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {returncode}"


def tail(path: Path, size: int = 1500) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
