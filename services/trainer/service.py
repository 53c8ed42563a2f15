"""The TrainerService servicer: checks requests, calls the supervisor, store and event log, converts to protos."""

from __future__ import annotations

import asyncio
import collections
import json
import math
import shutil
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator
from urllib.parse import urlsplit

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from finetune.trainer.v1 import run_pb2, trainer_service_pb2, trainer_service_pb2_grpc
from services.common import hyperparameters
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from services.common.hyperparameters import TrainingConfig
from services.common.ids import clamp_page_size, next_page_token, page_offset, parse_name
from services.trainer import downloads, history
from services.trainer.events import Event, EventLog
from services.trainer.checkpoint import PREFIX as CHECKPOINT_PREFIX, list_checkpoints
from services.trainer.profiling import PROFILE_FILE
from services.trainer.rows import fine_tuned_model_dir
from services.trainer.store import COMPLETED, FINAL_STATES, RunRow, TrainerStore
from services.trainer.supervisor import RunRequest, Supervisor
from services.trainer.worker import RUN_SPEC

MAX_NEW_TOKENS = 4096
MAX_LAST_N = 10_000
_STATE_ENUM = {name.removeprefix("RUN_STATE_").lower(): value for name, value in run_pb2.RunState.items()}
_ALERT_ENUM = {"warning": run_pb2.ALERT_LEVEL_WARNING, "critical": run_pb2.ALERT_LEVEL_CRITICAL}
_SAVING_FIELDS = ("save_model", "model_name", "push_to_hub", "make_public", "hub_endpoint")
_CONVERTED_EVENTS = 4096  # recent events kept as protos: N subscribers of a run cost one conversion, not N


class TrainerServicer(trainer_service_pb2_grpc.TrainerServiceServicer):
    def __init__(self, store: TrainerStore, events: EventLog, supervisor: Supervisor, *, generate_threads: int = 2,
                 max_generations: int = 8, resolve_model: Callable[[str], Path] | None = None, notifier=None):
        self.store = store
        self.notifier = notifier  # services.trainer.webhooks.WebhookNotifier: where alerts go
        self.resolve_model = resolve_model  # a model id to its directory (blocking), for Generate without a run
        self.events = events
        self.supervisor = supervisor
        self._converted: collections.OrderedDict[tuple[str, int], run_pb2.RunEvent] = collections.OrderedDict()
        self.histories = history.HistoryCache()
        # Generations on threads of their own, so that however many and long they are, the default pool that
        # CreateRun, the preparations and the stores use stays free; beyond `max_generations` admitted
        # (running or waiting for a thread) a new one is refused.
        self._generations = ThreadPoolExecutor(max(1, generate_threads), thread_name_prefix="generate")
        self._max_generations = max(1, max_generations)
        self._admitted_generations = 0

    def close(self) -> None:
        self._generations.shutdown(wait=False, cancel_futures=True)

    # Runs

    async def CreateRun(self, request, context):
        run = request.run
        row = await self.supervisor.create_run(RunRequest(
            run_id=request.run_id,
            job_id=run.job_id,
            model=run.model,
            dataset=run.dataset,
            hyperparameters=hyperparameters.from_proto(run.hyperparameters)[0],
            model_saving={f: getattr(run.model_saving, f) for f in _SAVING_FIELDS},
            hub_token=run.model_saving.hub_token,
            gpu_count=run.gpu_count,
            workers=run.workers,
            train_rows=[{"input": r.input, "output": r.output} for r in request.train_rows],
            validation_rows=[{"input": r.input, "output": r.output} for r in request.validation_rows],
        ))
        return await self._run(row.id)

    async def GetRun(self, request, context):
        return await self._run(parse_name(request.name, "runs"))

    async def ListRuns(self, request, context):
        size, offset = clamp_page_size(request.page_size), page_offset(request.page_token)
        await self.events.flush()
        rows, total = await self.store.list_runs(offset, size, request.job_id)
        return trainer_service_pb2.ListRunsResponse(runs=[run_proto(r) for r in rows], total_size=total,
                                                    next_page_token=next_page_token(offset, size, len(rows), total))

    async def StreamRunEvents(self, request, context):
        run_id = parse_name(request.name, "runs")
        if request.after_sequence < 0:
            raise InvalidArgument("after_sequence must not be negative", reason="INVALID_SEQUENCE")
        await self.store.get_run(run_id)
        async for event in self.events.subscribe(run_id, request.after_sequence):
            yield self._event_proto(event)

    def _event_proto(self, event: Event) -> run_pb2.RunEvent:
        key = (event.run_id, event.seq)
        message = self._converted.get(key)
        if message is None:
            message = self._converted[key] = event_proto(event)
            if len(self._converted) > _CONVERTED_EVENTS:
                self._converted.popitem(last=False)
        return message

    # Control

    async def PauseRun(self, request, context):
        return await self._control(request.name, "pause")

    async def ResumeRun(self, request, context):
        return await self._control(request.name, "resume")

    async def CancelRun(self, request, context):
        return await self._control(request.name, "cancel")

    async def SetLearningRate(self, request, context):
        return await self._control(request.name, "set_learning_rate", request.learning_rate)

    async def SaveCheckpoint(self, request, context):
        return await self._control(request.name, "save_checkpoint")

    async def StopRunEarly(self, request, context):
        return await self._control(request.name, "stop_early")

    async def _control(self, name: str, command: str, value: float | None = None):
        run_id = parse_name(name, "runs")
        await self.supervisor.control(run_id, command, value)
        return await self._run(run_id)

    # Monitoring reads

    async def GetTrainingSummary(self, request, context):
        return summary_proto(await self._current(request.run))

    async def GetTrainingStatus(self, request, context):
        if not request.job_id:
            raise InvalidArgument("job_id is required: the job whose training status to report", reason="JOB_ID_REQUIRED")
        await self.events.flush()
        return summary_proto(await self.store.current_run(request.job_id))

    async def GetLossHistory(self, request, context):
        if not 0 <= request.last_n <= MAX_LAST_N:
            raise InvalidArgument(f"last_n must be from 0 (the default, 50) to {MAX_LAST_N}, got {request.last_n}",
                                  reason="INVALID_LAST_N", metadata={"field": "last_n"})
        row = await self._current(request.run)
        points = await self.store.step_history(row.id, request.last_n or 50)
        return trainer_service_pb2.LossHistory(run=f"runs/{row.id}", losses=[loss_point(p) for p in points])

    async def GetRunMetrics(self, request, context):
        run_id = parse_name(request.name.removesuffix("/metrics"), "runs")
        if not 0 <= request.max_notices <= history.MAX_NOTICES:
            raise InvalidArgument(f"max_notices must be from 0 to {history.MAX_NOTICES}, got {request.max_notices}",
                                  reason="INVALID_MAX_NOTICES", metadata={"field": "max_notices"})
        await self.events.flush(run_id)
        row = await self.store.get_run(run_id)
        lock, folded = self.histories.get(run_id)
        async with lock:  # one fold at a time per run; each request only reads the events since the last one
            if folded.last_seq < row.last_seq:
                newer = await self.store.events_between(run_id, folded.last_seq, row.last_seq)
                await asyncio.to_thread(folded.extend, newer)
                folded.last_seq = row.last_seq
            return metrics_proto(run_id, folded, request.max_notices or 500, self._event_proto)

    async def GetCurrentResources(self, request, context):
        run_id = parse_name(request.run, "runs") if request.run else ""
        if run_id:
            await self.store.get_run(run_id)
        return fill(run_pb2.ResourceSample, await self.supervisor.current_resources(run_id))

    async def GetCapacity(self, request, context):
        active, maximum, gpus = self.supervisor.capacity()
        return trainer_service_pb2.Capacity(active_runs=active, max_concurrent_runs=maximum, gpu_count=gpus,
                                            **await self.supervisor.free_capacity())

    # The trained model

    async def Generate(self, request, context):
        run_id = parse_name(request.name, "runs") if request.name or not request.model else ""
        if not request.prompt:
            raise InvalidArgument("prompt is required", reason="PROMPT_REQUIRED")
        max_new = request.max_new_tokens or 64
        if not 1 <= max_new <= MAX_NEW_TOKENS:
            raise InvalidArgument(f"max_new_tokens must be in [1, {MAX_NEW_TOKENS}], got {max_new}", reason="INVALID_MAX_NEW_TOKENS")
        if not (0.0 <= request.temperature <= 10.0) or math.isnan(request.temperature):
            raise InvalidArgument(f"temperature must be in [0, 10], got {request.temperature}", reason="INVALID_TEMPERATURE")
        if not (0.0 <= request.top_p <= 1.0) or math.isnan(request.top_p):
            raise InvalidArgument(f"top_p must be in [0, 1], got {request.top_p}", reason="INVALID_TOP_P", metadata={"field": "top_p"})
        if len(request.stop) > 4:
            raise InvalidArgument(f"at most 4 stop texts, got {len(request.stop)}", reason="INVALID_STOP", metadata={"field": "stop"})
        if run_id and request.model:
            raise InvalidArgument("give name (a run) or model (a base model), not both", reason="NAME_AND_MODEL",
                                  metadata={"field": "model"})
        if self._admitted_generations >= self._max_generations:  # admitted before the first await: counted at once
            raise ResourceExhausted(f"{self._admitted_generations} generations are running or waiting, the most this trainer "
                                    "takes at once; try again when one has ended", reason="GENERATION_BUSY",
                                    metadata={"max_generations": self._max_generations})
        from services.trainer.generation import Usage, stream_generate

        self._admitted_generations += 1
        usage = Usage()
        seed = request.seed if request.HasField("seed") else None
        try:
            source = await self._generation_source(run_id, request)
            async for piece in iterate_in_thread(
                    lambda: stream_generate(str(source), request.prompt, max_new, request.temperature, seed, request.top_p, usage,
                                            tuple(request.stop)),
                    self._generations):
                yield trainer_service_pb2.GenerateResponse(text=piece)
        finally:
            self._admitted_generations -= 1
        yield trainer_service_pb2.GenerateResponse(done=True, prompt_tokens=usage.prompt_tokens,
                                                   completion_tokens=usage.completion_tokens, finish_reason=usage.finish_reason)

    async def _generation_source(self, run_id: str, request) -> Path:
        if not run_id:
            fine_tuned = await fine_tuned_model_dir(self.store, request.model)
            if fine_tuned is not None:
                return fine_tuned
            if self.resolve_model is None:
                raise FailedPrecondition("this trainer answers only with runs: give name", reason="MODEL_GENERATION_OFF")
            return await asyncio.to_thread(self.resolve_model, request.model)
        row = await self.store.get_run(run_id)
        if request.checkpoint_step:
            return checkpoint_dir(row, request.checkpoint_step)
        return base_model_dir(row) if request.base_model else trained_model_dir(row)

    async def QuantizeModel(self, request, context):
        from services.trainer import quantize

        row = await self.store.get_run(parse_name(request.name, "runs"))
        source = trained_model_dir(row)
        if source.name != "model":
            raise FailedPrecondition(f"run 'runs/{row.id}' kept only its adapter: quantization needs the merged model, saved by a "
                                     "run with model_saving.save_model", reason="NO_MERGED_MODEL")
        run_dir = Path(row.run_dir)
        validation = run_dir / "validation.jsonl"
        rows_file = validation if validation.is_file() and validation.stat().st_size else run_dir / "train.jsonl"
        max_seq_length = int(row.spec_dict().get("hyperparameters", {}).get("max_seq_length") or 512)

        def work() -> trainer_service_pb2.QuantizationReport:
            target = source.parent / quantize.QUANTIZED_DIR
            layers = quantize.quantize_folder(source, target)
            rows = [json.loads(line) for line in rows_file.read_text().splitlines()[:64] if line.strip()] if rows_file.exists() else []
            from services.trainer.generation import load_for_generation

            fp32 = quantize.measure(*load_for_generation(str(source)), rows, max_seq_length)
            int8 = quantize.measure(*quantize.load_quantized(target), rows, max_seq_length)
            return trainer_service_pb2.QuantizationReport(
                name=f"runs/{row.id}", path=quantize.QUANTIZED_DIR, quantized_layers=layers,
                fp32_bytes=quantize.folder_bytes(source), int8_bytes=quantize.folder_bytes(target),
                fp32_tokens_per_second=fp32["tokens_per_second"], int8_tokens_per_second=int8["tokens_per_second"],
                fp32_validation_loss=fp32["validation_loss"], int8_validation_loss=int8["validation_loss"],
                loader="services.trainer.quantize.load_quantized(folder)")

        return await asyncio.get_running_loop().run_in_executor(self._generations, work)

    async def DeleteSavedModel(self, request, context):
        from services.trainer import quantize

        row = await self.store.get_run(parse_name(request.name, "runs"))
        if row.state not in FINAL_STATES:
            raise FailedPrecondition(f"run 'runs/{row.id}' is {row.state}: its model files are deleted only once it has ended",
                                     reason="RUN_NOT_ENDED", metadata={"state": row.state})
        artifacts = Path(row.run_dir) / "artifacts"

        def remove() -> tuple[list[str], int]:
            removed, freed = [], 0
            for folder in ("model", quantize.QUANTIZED_DIR):
                path = artifacts / folder
                if path.is_dir():
                    freed += quantize.folder_bytes(path)
                    shutil.rmtree(path)
                    removed.append(folder)
            return removed, freed

        removed, freed = await asyncio.to_thread(remove)
        return trainer_service_pb2.DeleteSavedModelResponse(removed=removed, freed_bytes=freed)

    async def SendTestAlert(self, request, context):
        from services.trainer.webhooks import Notice

        if self.notifier is None or not self.notifier.configured:
            raise FailedPrecondition("no alert webhook is configured: set FINETUNE_TRAINER_ALERT_WEBHOOKS (JSON POST) or "
                                     "FINETUNE_TRAINER_ALERT_SLACK_WEBHOOKS (Slack incoming webhooks), comma-separated",
                                     reason="NO_WEBHOOKS")
        notice = Notice("alert", "runs/test", "info", "TEST_ALERT", request.message or "a test alert from the trainer: webhooks work",
                        "", time.time())
        results = await self.notifier.deliver(notice)
        kinds = ["generic"] * len(self.notifier.webhooks) + ["slack"] * len(self.notifier.slack_webhooks)
        return trainer_service_pb2.SendTestAlertResponse(dropped=self.notifier.dropped, deliveries=[
            trainer_service_pb2.WebhookDelivery(host=urlsplit(r.url).netloc, kind=k, delivered=r.delivered, attempts=r.attempts,
                                                status=r.status, error=r.error) for r, k in zip(results, kinds)])

    async def ListRunArtifacts(self, request, context):
        row = await self.store.get_run(parse_name(request.parent, "runs"))
        files = await asyncio.to_thread(downloads.list_files, Path(row.run_dir) / "artifacts")
        return trainer_service_pb2.ListRunArtifactsResponse(artifacts=[artifact_proto(row.id, f) for f in files])

    async def ReadRunArtifact(self, request, context):
        run_name, sep, rel = request.name.partition("/artifacts/")
        row = await self.store.get_run(parse_name(run_name, "runs"))
        if not sep:
            raise InvalidArgument(f"name must be runs/{{run_id}}/artifacts/{{path}}, got {request.name!r}",
                                  reason="INVALID_ARTIFACT_PATH", metadata={"field": "name"})
        path = downloads.resolve(Path(row.run_dir) / "artifacts", rel)
        stat = path.stat()
        yield trainer_service_pb2.ReadRunArtifactResponse(artifact=artifact_proto(row.id, downloads.ArtifactFile(
            rel, stat.st_size, stat.st_mtime, downloads.media_type(path.name))))
        with open(path, "rb") as f:  # a chunk at a time, each read in a thread: a large model never sits in memory
            while chunk := await asyncio.to_thread(f.read, downloads.CHUNK_BYTES):
                yield trainer_service_pb2.ReadRunArtifactResponse(chunk=chunk)

    async def DiagnoseRun(self, request, context):
        run_id = parse_name(request.name, "runs")
        await self.events.flush(run_id)
        row = await self.store.get_run(run_id)
        history = await self.store.step_history(run_id)
        try:
            config = TrainingConfig.from_dict(row.spec_dict().get("hyperparameters", {}))
        except InvalidArgument:
            config = None
        from services.trainer.evaluation import diagnose

        findings = await asyncio.to_thread(diagnose, history, config, out_of_memory=row.error_reason == "OUT_OF_MEMORY")
        rank = {"error": 0, "warning": 1}
        findings = sorted(findings, key=lambda f: rank.get(f.severity, 2))
        profile = _read_profile(Path(row.run_dir))
        found = [run_pb2.Finding(code=f.code, severity=f.severity, message=f.message, suggestion=f.suggestion) for f in findings]
        if profile is not None:
            found += [run_pb2.Finding(code="STEP_PROFILE", severity="info", message=line,
                                      suggestion=f"profiled steps {profile.first_step} to {profile.last_step}") for line in profile.advice]
        return trainer_service_pb2.Diagnosis(run=f"runs/{run_id}", summary=findings[0].message if findings else "",
                                             findings=found, profile=profile)

    async def ProfileRun(self, request, context):
        run_id = parse_name(request.name, "runs")
        steps = request.steps or 5
        row = await self.store.get_run(run_id)
        path = Path(row.run_dir) / PROFILE_FILE
        before = path.stat().st_mtime_ns if path.exists() else 0
        await self.supervisor.control(run_id, "profile", steps)
        deadline = time.monotonic() + 60 + 10 * steps
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if path.exists() and path.stat().st_mtime_ns != before:
                return _read_profile(Path(row.run_dir))
            state = (await self.store.get_run(run_id)).state
            if state not in ("running", "paused"):
                break
        raise FailedPrecondition(f"run 'runs/{run_id}' ended or stopped taking steps before {steps} steps were profiled",
                                 reason="PROFILE_NOT_FINISHED", metadata={"steps": steps})

    # Helpers

    async def _run(self, run_id: str) -> run_pb2.Run:
        await self.events.flush(run_id)
        return run_proto(await self.store.get_run(run_id))

    async def _current(self, name: str) -> RunRow:
        if name:
            run_id = parse_name(name, "runs")
            await self.events.flush(run_id)
            return await self.store.get_run(run_id)
        await self.events.flush()
        return await self.store.current_run()


def _read_profile(run_dir: Path) -> trainer_service_pb2.StepProfile | None:
    try:
        data = json.loads((run_dir / PROFILE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return json_format.ParseDict(data, trainer_service_pb2.StepProfile(), ignore_unknown_fields=True)


def checkpoint_dir(row: RunRow, step: int) -> Path:
    """The run's checkpoint of `step` (an adapter folder Generate loads on its base); NotFound listing the kept ones."""
    kept = {int(p.name.removeprefix(CHECKPOINT_PREFIX)): p for p in list_checkpoints(Path(row.run_dir) / "checkpoints")}
    if step in kept:
        return kept[step]
    raise NotFound(f"run 'runs/{row.id}' keeps no checkpoint of step {step}; the steps kept: {', '.join(map(str, kept)) or 'none'}",
                   reason="CHECKPOINT_NOT_FOUND", metadata={"field": "checkpoint_step"})


def trained_model_dir(row: RunRow) -> Path:
    """The merged model if the run saved one, else its adapter; FailedPrecondition before completion."""
    artifacts = Path(row.run_dir) / "artifacts"
    for candidate in (artifacts / "model", artifacts / "adapter"):
        if row.state == COMPLETED and candidate.is_dir():
            return candidate
    raise FailedPrecondition(f"run 'runs/{row.id}' is {row.state} and has no trained model yet; generate once it has "
                             "completed", reason="RUN_NOT_COMPLETED", metadata={"state": row.state})


def base_model_dir(row: RunRow) -> Path:
    """The model the run fine-tunes, as its preparation resolved it (run.json); FailedPrecondition before that."""
    try:
        return Path(json.loads((Path(row.run_dir) / RUN_SPEC).read_text())["model_path"])
    except (OSError, ValueError, KeyError):
        raise FailedPrecondition(f"run 'runs/{row.id}' is {row.state} and its model has not been prepared yet; ask the "
                                 "base model once the run has started", reason="RUN_NOT_PREPARED",
                                 metadata={"state": row.state}) from None


async def iterate_in_thread(make: Callable[[], Iterator[str]], executor: Executor | None = None) -> AsyncIterator[str]:
    """Items of a blocking iterator made and advanced in a thread of `executor` (default: the loop's); the
    thread stops at its next item once the consumer has gone (a client that hung up)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()  # unbounded: generation is far slower than sending
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in make():
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(queue.put_nowait, item)
            loop.call_soon_threadsafe(queue.put_nowait, done)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            if not stop.is_set():
                loop.call_soon_threadsafe(queue.put_nowait, exc)

    loop.run_in_executor(executor, produce)
    try:
        while (item := await queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


# Conversions

def fill(cls: type[Message], data: dict) -> Message:
    """A message with the fields of `data` whose names it has, each cast to its field type."""
    message = cls()
    for field in cls.DESCRIPTOR.fields:
        value = data.get(field.name)
        if value is None:
            continue
        if field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                getattr(message, field.name).CopyFrom(timestamp(value))
            elif field.message_type.full_name == "google.protobuf.Struct":
                getattr(message, field.name).update(value)
            elif field.is_repeated:
                getattr(message, field.name).extend(fill(field.message_type._concrete_class, v) for v in value)
            continue
        if field.is_repeated:
            getattr(message, field.name).extend(value)
            continue
        setattr(message, field.name, _cast(field, value))
    return message


def _cast(field: descriptor.FieldDescriptor, value):
    cpp = field.cpp_type
    if cpp in (descriptor.FieldDescriptor.CPPTYPE_INT32, descriptor.FieldDescriptor.CPPTYPE_INT64):
        return int(value)
    if cpp in (descriptor.FieldDescriptor.CPPTYPE_DOUBLE, descriptor.FieldDescriptor.CPPTYPE_FLOAT):
        return float(value)
    if cpp == descriptor.FieldDescriptor.CPPTYPE_BOOL:
        return bool(value)
    if cpp == descriptor.FieldDescriptor.CPPTYPE_ENUM:
        return int(value)
    return str(value)


def timestamp(value: float | datetime) -> Timestamp:
    ts = Timestamp()
    if isinstance(value, datetime):
        ts.FromDatetime(value)
    else:
        ts.FromNanoseconds(int(value * 1e9))
    return ts


def progress_proto(progress: dict) -> run_pb2.RunProgress:
    return fill(run_pb2.RunProgress, progress)


def run_proto(row: RunRow) -> run_pb2.Run:
    spec = row.spec_dict()
    run = run_pb2.Run(
        name=f"runs/{row.id}", job_id=row.job_id, state=_STATE_ENUM.get(row.state, 0), model=row.model, dataset=row.dataset,
        hyperparameters=hyperparameters.to_proto(spec.get("hyperparameters", {})),
        model_saving=fill(run_pb2.ModelSaving, spec.get("model_saving", {})), gpu_count=row.gpu_count,
        progress=progress_proto(row.progress_dict()), error=row.error, error_reason=row.error_reason, attempts=row.attempts,
        stopped_early=row.stopped_early, output_dir=row.output_dir, last_sequence=row.last_seq,
        create_time=timestamp(row.create_time), workers=row.workers, placement=row.placement)
    if row.start_time:
        run.start_time.CopyFrom(timestamp(row.start_time))
    if row.end_time:
        run.end_time.CopyFrom(timestamp(row.end_time))
    return run


def summary_proto(row: RunRow) -> run_pb2.TrainingSummary:
    return run_pb2.TrainingSummary(run=f"runs/{row.id}", job_id=row.job_id, state=_STATE_ENUM.get(row.state, 0),
                                   progress=progress_proto(row.progress_dict()), error=row.error, attempts=row.attempts)


def metrics_proto(run_id: str, folded: history.RunHistory, max_notices: int, convert) -> trainer_service_pb2.RunMetrics:
    out = trainer_service_pb2.RunMetrics(name=f"runs/{run_id}/metrics", last_sequence=folded.last_seq)
    out.steps.steps.extend(folded.steps.steps)
    for name, column in folded.steps.columns.items():
        getattr(out.steps, name).extend(column)
    out.evaluations.steps.extend(folded.evaluations.steps)
    for name, column in folded.evaluations.columns.items():
        getattr(out.evaluations, name).extend(column)
    for name, column in folded.resources.items():
        getattr(out.resources, name).extend(column)
    if folded.latest_resources is not None:
        out.latest_resources.CopyFrom(fill(run_pb2.ResourceSample, folded.latest_resources))
    out.notices.extend(convert(e) for e in folded.newest_notices(max_notices))
    return out


def artifact_proto(run_id: str, f: downloads.ArtifactFile) -> trainer_service_pb2.Artifact:
    return trainer_service_pb2.Artifact(name=f"runs/{run_id}/artifacts/{f.path}", path=f.path, size_bytes=f.size_bytes,
                                        update_time=timestamp(f.update_time), media_type=f.media_type)


def loss_point(point: dict) -> run_pb2.LossPoint:
    return fill(run_pb2.LossPoint, point)


def event_proto(event: Event) -> run_pb2.RunEvent:
    out = run_pb2.RunEvent(sequence=event.seq, run=f"runs/{event.run_id}", time=timestamp(event.time))
    data = event.data
    if event.type == "step":
        out.step.CopyFrom(fill(run_pb2.StepMetrics, data))
    elif event.type == "eval":
        evaluation = fill(run_pb2.Evaluation, data)
        known = {f.name for f in run_pb2.Evaluation.DESCRIPTOR.fields}
        for key, value in data.items():
            if key not in known and isinstance(value, (int, float)) and not isinstance(value, bool):
                evaluation.metrics[key] = float(value)
        out.evaluation.CopyFrom(evaluation)
    elif event.type == "resources":
        out.resources.CopyFrom(fill(run_pb2.ResourceSample, data))
    elif event.type == "state":
        out.state.CopyFrom(run_pb2.StateChange(state=_STATE_ENUM.get(data.get("state", ""), 0),
                                               previous_state=_STATE_ENUM.get(data.get("previous", ""), 0),
                                               message=str(data.get("message", "")), attempt=int(data.get("attempt", 0))))
    elif event.type == "alert":
        out.alert.CopyFrom(fill(run_pb2.Alert, {**data, "level": _ALERT_ENUM.get(data.get("level"), 0)}))
    elif event.type == "checkpoint":
        out.checkpoint.CopyFrom(fill(run_pb2.CheckpointSaved, data))
    elif event.type == "summary":
        out.summary.metrics.update(_plain(data))
    else:
        out.log.CopyFrom(fill(run_pb2.LogLine, data))
    return out


def _plain(value):
    """JSON-like data a Struct accepts (tuples to lists, other objects to strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
