"""`/fine_tuning/jobs`: OpenAI's fine-tuning API over the jobs and trainer services. Each is one of our jobs
(id `ftjob-...`), visible in the dashboard, the CLI and gRPC like any other.

Hyperparameters: `n_epochs` is epochs, `batch_size` the batch size, and `learning_rate_multiplier` multiplies
`BASE_LEARNING_RATE` (2e-4, the platform's default learning rate for LoRA). `"auto"` (or leaving one out) takes
the value the jobs service suggests by the guide's guidance (epochs by dataset size, learning rate by model size,
batch size by the memory estimate) where it suggests one, else the platform's default. A `validation_file` is
joined with the training file into one dataset with that validation split. `fine_tuned_model` is
`ft:<base model>:local:<suffix>:<job id>`; it names the job's trained model in `/chat/completions`.
"""

from __future__ import annotations

import math
import re
import secrets
import string as _string
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2 as dpb
from finetune.jobs.v1 import job_pb2, jobs_service_pb2 as jpb
from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as tpb
from gateway.errors import ApiError
from gateway.openai_api.calls import after_cursor, client_stream, json_body, number, obj, page_limit, string, unary
from gateway.openai_api.errors import OpenAIError, endpoint
from gateway.openai_api.files import FILE_TAG, get_dataset, rows_jsonl
from services.common.hyperparameters import TrainingConfig

BASE_LEARNING_RATE = TrainingConfig().learning_rate
_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
OWNER = "local"
JOB_TAG = "openai"
# The job's metadata keys this layer keeps for itself (a caller's own keys may not start so).
RESERVED = "openai:"
STATUS = {job_pb2.JOB_STATE_CREATED: "validating_files", job_pb2.JOB_STATE_QUEUED: "queued",
          job_pb2.JOB_STATE_RUNNING: "running", job_pb2.JOB_STATE_PAUSED: "paused",
          job_pb2.JOB_STATE_COMPLETED: "succeeded", job_pb2.JOB_STATE_FAILED: "failed",
          job_pb2.JOB_STATE_CANCELLED: "cancelled"}
FINAL = ("succeeded", "failed", "cancelled")


def new_job_id() -> str:
    return "ftjob-" + "".join(secrets.choice(_string.ascii_lowercase + _string.digits) for _ in range(20))


def fine_tuned_model_name(job: job_pb2.Job) -> str:
    return f"ft:{job.configuration.model.uid}:{OWNER}:{job.metadata.get(RESERVED + 'suffix', '')}:{job.job_uid}"


def job_id_of_model(model: str) -> tuple[str, int] | None:
    """(job id, checkpoint step or 0) of `ft:<base>:<owner>:<suffix>:<job id>[:ckpt-step-<n>]`; None for any other id."""
    parts = model.split(":")
    if parts[0] != "ft" or len(parts) not in (5, 6) or not parts[4]:
        return None
    if len(parts) == 5:
        return parts[4], 0
    step = parts[5].removeprefix("ckpt-step-")
    return (parts[4], int(step)) if parts[5].startswith("ckpt-step-") and step.isdigit() and int(step) > 0 else None


def job_object(job: job_pb2.Job) -> dict:
    status = STATUS.get(job.state, "queued")
    hyper = job.configuration.hyperparameters
    multiplier = round(hyper.learning_rate / BASE_LEARNING_RATE, 6) if hyper.HasField("learning_rate") else 1.0
    hyperparameters = {"n_epochs": hyper.epochs, "batch_size": hyper.batch_size, "learning_rate_multiplier": multiplier}
    metadata = {k: v for k, v in job.metadata.items() if not k.startswith(RESERVED)}
    error = None
    if status == "failed":
        error = {"code": (job.state_reason or "job_failed").lower(), "message": job.error or "the job failed", "param": None}
    estimated = None
    if status == "running" and job.metrics.percent > 0 and job.start_time.seconds:
        elapsed = max(0.0, job.update_time.seconds - job.start_time.seconds)
        estimated = int(job.start_time.seconds + elapsed * 100 / job.metrics.percent)
    return {
        "id": job.job_uid, "object": "fine_tuning.job", "created_at": job.create_time.seconds,
        "finished_at": job.end_time.seconds if status in FINAL and job.end_time.seconds else None,
        "model": job.configuration.model.uid,
        "fine_tuned_model": fine_tuned_model_name(job) if status == "succeeded" else None,
        "organization_id": f"org-{OWNER}", "status": status, "hyperparameters": hyperparameters,
        "training_file": job.metadata.get(RESERVED + "training_file") or job.configuration.dataset.uid,
        "validation_file": job.metadata.get(RESERVED + "validation_file") or None,
        "result_files": [], "trained_tokens": None, "error": error, "seed": hyper.seed, "estimated_finish": estimated,
        "integrations": [], "metadata": metadata or None, "user_provided_suffix": job.metadata.get(RESERVED + "suffix") or None,
        "method": {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
    }


# --- create ----------------------------------------------------------------------------------------

def _hyperparameters(body: dict) -> dict:
    if body.get("method") is not None:
        method = obj(body, "method")
        if method.get("type") != "supervised":
            raise OpenAIError(400, f"method.type must be 'supervised' (dpo and reinforcement are not supported here), got "
                                   f"{method.get('type')!r}", param="method.type", code="unsupported_method")
        where = "method.supervised.hyperparameters"
        given = obj(obj(method, "supervised", "method.supervised"), "hyperparameters", where)
    else:
        where = "hyperparameters"
        given = obj(body, "hyperparameters")
    unknown = set(given) - {"n_epochs", "batch_size", "learning_rate_multiplier"}
    if unknown:
        raise OpenAIError(400, f"{where} has unknown keys {sorted(unknown)}; it takes n_epochs, batch_size and "
                               "learning_rate_multiplier", param=f"{where}.{sorted(unknown)[0]}", code="unknown_parameter")
    out = {}
    for key, low, high, integer in (("n_epochs", 1, 50, True), ("batch_size", 1, 256, True), ("learning_rate_multiplier", 1e-3, 50, False)):
        value = given.get(key, "auto")
        if value != "auto":
            out[key] = number({key: value}, key, low, high, integer=integer)
    return out


def _metadata(body: dict) -> dict[str, str]:
    metadata = obj(body, "metadata")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise OpenAIError(400, "metadata must be an object of string keys and string values", param="metadata", code="invalid_type")
    if any(k.startswith(RESERVED) for k in metadata):
        raise OpenAIError(400, f"metadata keys may not start with {RESERVED!r} (kept for this API)", param="metadata", code="invalid_value")
    return metadata


async def _training_dataset(request: Request, training: dataset_pb2.Dataset, validation: dataset_pb2.Dataset | None) -> str:
    """The dataset the job trains on: the training file's, or it and the validation file's rows joined."""
    if validation is None:
        return training.uid
    train = b"".join([chunk async for chunk in rows_jsonl(request, training)])
    held_out = b"".join([chunk async for chunk in rows_jsonl(request, validation)])

    async def messages() -> AsyncIterator[dpb.UploadDatasetRequest]:
        yield dpb.UploadDatasetRequest(metadata=dpb.UploadMetadata(
            filename="train.jsonl", validation_filename="validation.jsonl", tags=[FILE_TAG + "-joined"],
            display_name=f"{training.filename} + {validation.filename}"[:200],
            description=f"the OpenAI training file {training.uid} with the validation file {validation.uid}"))
        yield dpb.UploadDatasetRequest(chunk=train)
        yield dpb.UploadDatasetRequest(validation_chunk=held_out)

    joined = await client_stream(request, "dataset", "UploadDataset", messages(), dpb.UploadDatasetRequest, dataset_pb2.Dataset)
    return joined.uid


async def _auto(request: Request, model: str, dataset: str, values: dict, auto: set[str]) -> dict:
    """The jobs service's suggestions for the hyperparameters left to "auto" (by the guide's guidance)."""
    if not auto:
        return values
    report = await unary(request, "jobs", "ValidateConfiguration", jpb.ValidateConfigurationRequest(
        hyperparameters=run_pb2.Hyperparameters(**values), model=model, dataset=dataset), jpb.ValidateConfigurationResponse)
    out = dict(values)
    for warning in report.warnings:
        if warning.field in auto and warning.suggested_value:
            kind = float if warning.field == "learning_rate" else int
            try:
                out[warning.field] = kind(warning.suggested_value)
            except ValueError:
                pass
    if "batch_size" in auto and report.suggested.HasField("batch_size") and report.suggested.batch_size < TrainingConfig().batch_size:
        out["batch_size"] = report.suggested.batch_size  # the memory estimate says the default does not fit
    return out


@endpoint
async def create_job(request: Request) -> JSONResponse:
    body = await json_body(request)
    model = string(body, "model", required=True).strip()
    training_id = string(body, "training_file", required=True)
    validation_id = string(body, "validation_file") or None
    suffix = string(body, "suffix")
    if suffix and not _SUFFIX.match(suffix):
        raise OpenAIError(400, "suffix must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                          param="suffix", code="invalid_value")
    if body.get("integrations"):
        raise OpenAIError(400, "integrations are not supported: every job is followed live in the dashboard instead",
                          param="integrations", code="unsupported_parameter")
    seed = number(body, "seed", 0, 2**31 - 1, integer=True)
    given = _hyperparameters(body)
    metadata = _metadata(body)
    training = await get_dataset(request, training_id, "training_file", 400)
    validation = await get_dataset(request, validation_id, "validation_file", 400) if validation_id else None
    dataset = await _training_dataset(request, training, validation)

    values: dict[str, Any] = {}
    if "n_epochs" in given:
        values["epochs"] = given["n_epochs"]
    if "batch_size" in given:
        values["batch_size"] = given["batch_size"]
    if "learning_rate_multiplier" in given:
        values["learning_rate"] = BASE_LEARNING_RATE * given["learning_rate_multiplier"]
    if seed is not None:
        values["seed"] = seed
    auto = {name for key, name in (("n_epochs", "epochs"), ("batch_size", "batch_size"), ("learning_rate_multiplier", "learning_rate"))
            if key not in given}
    values = await _auto(request, model, dataset, values, auto)

    job_id = new_job_id()
    reserved = {RESERVED + "training_file": training.uid, **({RESERVED + "validation_file": validation.uid} if validation else {}),
                **({RESERVED + "suffix": suffix} if suffix else {})}
    create = jpb.CreateJobRequest(
        name=f"{suffix or 'OpenAI fine-tune'} ({model})", description=f"created through the OpenAI API as {job_id}",
        tags=[JOB_TAG], job_id=job_id, metadata=metadata | reserved,
        configuration=job_pb2.JobConfiguration(model=job_pb2.ResourceReference(uid=model),
                                               dataset=job_pb2.ResourceReference(uid=dataset),
                                               hyperparameters=run_pb2.Hyperparameters(**values)),
        # Registered as finetune-models/<suffix>-<job id> when it completes: a suffix may repeat, a job id does not.
        model_saving=run_pb2.ModelSaving(save_model=True, model_name=f"{suffix}-{job_id}" if suffix else job_id))
    try:
        job = await unary(request, "jobs", "CreateJob", create, job_pb2.Job)
    except ApiError as exc:
        if exc.status_code == 400:  # name the OpenAI parameter where one maps
            field = next(iter(exc.metadata), "")
            param = {"configuration.model.uid": "model", "configuration.dataset.uid": "training_file"}.get(field, field or None)
            raise OpenAIError(400, exc.message, param=param, code=exc.reason.lower()) from None
        raise
    return JSONResponse(job_object(job))


# --- read and control ------------------------------------------------------------------------------

async def get_job(request: Request, job_id: str | None = None) -> job_pb2.Job:
    job_id = job_id or request.path_params["job_id"]
    try:
        return await unary(request, "jobs", "GetJob", jpb.GetJobRequest(name=f"jobs/{job_id}"), job_pb2.Job)
    except ApiError as exc:
        if exc.status_code in (400, 404):
            raise OpenAIError(404, f"No fine-tuning job found with id {job_id!r}", param="fine_tuning_job_id",
                              code="fine_tuning_job_not_found") from None
        raise


@endpoint
async def list_jobs(request: Request) -> JSONResponse:
    listed = await unary(request, "jobs", "ListJobs", jpb.ListJobsRequest(page_size=1000, tag=JOB_TAG), jpb.ListJobsResponse)
    wanted = {k[len("metadata["):-1]: v for k, v in request.query_params.items() if k.startswith("metadata[") and k.endswith("]")}
    jobs = [j for j in listed.jobs if all(j.metadata.get(k) == v for k, v in wanted.items())]
    jobs.sort(key=lambda j: (j.create_time.seconds, j.create_time.nanos, j.job_uid), reverse=True)
    return JSONResponse(after_cursor([job_object(j) for j in jobs], request.query_params.get("after"), page_limit(request)))


@endpoint
async def retrieve_job(request: Request) -> JSONResponse:
    return JSONResponse(job_object(await get_job(request)))


def _control(method: str, request_class):
    @endpoint
    async def control(request: Request) -> JSONResponse:
        job = await get_job(request)
        try:
            job = await unary(request, "jobs", method, request_class(name=job.name), job_pb2.Job)
        except ApiError as exc:
            if exc.status_code in (400, 409, 412):
                raise OpenAIError(400, exc.message, code=exc.reason.lower()) from None
            raise
        return JSONResponse(job_object(job))

    return control


async def _run_metrics(request: Request, job: job_pb2.Job) -> tpb.RunMetrics | None:
    try:
        return await unary(request, "trainer", "GetRunMetrics", tpb.GetRunMetricsRequest(name=f"runs/{job.job_uid}/metrics"),
                           tpb.RunMetrics)
    except ApiError as exc:
        if exc.status_code == 404:
            return None  # not started yet
        raise


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@endpoint
async def list_events(request: Request) -> JSONResponse:
    """The job's state changes and the run's logs, alerts and per-step metrics, newest first."""
    job = await get_job(request)
    events: list[tuple[float, dict]] = []

    def add(time: float, kind: str, n: int, message: str, *, level: str = "info", type_: str = "message", data=None) -> None:
        events.append((time, {"id": f"ftevent-{job.job_uid}-{kind}{n}", "object": "fine_tuning.job.event", "created_at": int(time),
                              "level": level, "message": message, "type": type_, "data": data or {}}))

    for t in job.transitions:
        add(t.time.seconds + t.time.nanos / 1e9, "t", t.sequence, t.message or t.reason,
            level="error" if t.to_state == job_pb2.JOB_STATE_FAILED else "info")
    metrics = await _run_metrics(request, job)
    if metrics is not None:
        evals = dict(zip(metrics.evaluations.steps, metrics.evaluations.validation_losses))
        s = metrics.steps
        total = job.metrics.total_steps
        for i, step in enumerate(s.steps):
            data = {"step": step, "train_loss": _finite(s.train_losses[i]), "total_steps": total, "epoch": s.epochs[i],
                    "learning_rate": s.learning_rates[i]}
            if step in evals:
                data["valid_loss"] = _finite(evals[step])
            add(s.times[i], "s", step, f"Step {step}/{total}: training loss={s.train_losses[i]:.4f}", type_="metrics", data=data)
        for notice in metrics.notices:
            kind = notice.WhichOneof("event")
            time = notice.time.seconds + notice.time.nanos / 1e9
            if kind == "log":
                add(time, "n", notice.sequence, notice.log.message, level="warn" if notice.log.level.lower().startswith("warn") else "info")
            elif kind == "alert":
                add(time, "n", notice.sequence, f"{notice.alert.code}: {notice.alert.message}", level="warn")
            elif kind == "checkpoint":
                add(time, "n", notice.sequence, f"Checkpoint saved at step {notice.checkpoint.step}")
    events.sort(key=lambda e: (e[0], e[1]["id"]), reverse=True)
    return JSONResponse(after_cursor([e for _, e in events], request.query_params.get("after"), page_limit(request)))


@endpoint
async def list_checkpoints(request: Request) -> JSONResponse:
    job = await get_job(request)
    metrics = await _run_metrics(request, job)
    checkpoints = []
    if metrics is not None:
        losses = dict(zip(metrics.steps.steps, metrics.steps.train_losses))
        evals = sorted(zip(metrics.evaluations.steps, metrics.evaluations.validation_losses))
        for notice in metrics.notices:
            if notice.WhichOneof("event") != "checkpoint":
                continue
            step = notice.checkpoint.step
            valid = [loss for at, loss in evals if at <= step]
            checkpoints.append({
                "id": f"ftckpt-{job.job_uid}-{step}", "object": "fine_tuning.job.checkpoint", "created_at": notice.time.seconds,
                "fine_tuned_model_checkpoint": f"{fine_tuned_model_name(job)}:ckpt-step-{step}", "fine_tuning_job_id": job.job_uid,
                "step_number": step, "metrics": {"step": step, "train_loss": _finite(losses.get(step, math.nan)),
                                                 "valid_loss": _finite(valid[-1]) if valid else None}})
    checkpoints.sort(key=lambda c: c["step_number"], reverse=True)
    return JSONResponse(after_cursor(checkpoints, request.query_params.get("after"), page_limit(request, 10)))


ROUTES = [
    Route("/fine_tuning/jobs", create_job, methods=["POST"]),
    Route("/fine_tuning/jobs", list_jobs, methods=["GET"]),
    Route("/fine_tuning/jobs/{job_id}", retrieve_job, methods=["GET"]),
    Route("/fine_tuning/jobs/{job_id}/cancel", _control("CancelJob", jpb.CancelJobRequest), methods=["POST"]),
    Route("/fine_tuning/jobs/{job_id}/pause", _control("PauseJob", jpb.PauseJobRequest), methods=["POST"]),
    Route("/fine_tuning/jobs/{job_id}/resume", _control("ResumeJob", jpb.ResumeJobRequest), methods=["POST"]),
    Route("/fine_tuning/jobs/{job_id}/events", list_events, methods=["GET"]),
    Route("/fine_tuning/jobs/{job_id}/checkpoints", list_checkpoints, methods=["GET"]),
]
