"""`finetune watch JOB` (live progress from the trainer's event stream, resumed by sequence number after a
lost connection) and `finetune generate JOB PROMPT` (tokens printed as they stream)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn
from rich.text import Text

from finetune.channels import ServiceError
from finetune.cli.context import EXIT_FAILED, CliError, State, state, to_dict
from finetune.jobs.v1 import job_pb2, jobs_service_pb2 as jpb
from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as tpb

FINAL_RUN_STATES = {run_pb2.RUN_STATE_COMPLETED, run_pb2.RUN_STATE_FAILED, run_pb2.RUN_STATE_CANCELLED}
FINAL_JOB_STATES = {job_pb2.JOB_STATE_COMPLETED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED}
WAITING_JOB_STATES = {job_pb2.JOB_STATE_CREATED, job_pb2.JOB_STATE_QUEUED}
# Errors that a later attempt may not see: the connection dropped, the trainer restarted, a deadline.
RETRYABLE = {"SERVICE_UNAVAILABLE", "UNAVAILABLE", "UPSTREAM_TIMEOUT", "DEADLINE_EXCEEDED", "CANCELLED"}


def job_id(ref: str) -> str:
    """The bare job id from `job_...` or `jobs/job_...` (also the trainer's run id for the job)."""
    ref = ref.strip().removeprefix("jobs/").removeprefix("runs/")
    if not ref:
        raise CliError("a job id is required, e.g. job_1751023766790_b0zqofldb", "INVALID_ARGUMENT")
    return ref


def run_state_name(value: int) -> str:
    return run_pb2.RunState.Name(value).removeprefix("RUN_STATE_").lower()


def duration(seconds: float) -> str:
    if not seconds or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


@dataclass
class WatchResult:
    """What a watch saw: the final state, the last sequence number, the final metrics."""

    state: int = run_pb2.RUN_STATE_UNSPECIFIED
    last_sequence: int = 0
    error: str = ""
    summary: dict = field(default_factory=dict)
    reconnects: int = 0

    @property
    def completed(self) -> bool:
        return self.state == run_pb2.RUN_STATE_COMPLETED


class EventView:
    """Turns run events into a rich progress bar (step, loss, ETA) and one line per notable event."""

    def __init__(self, st: State, progress: Progress | None):
        self.st, self.progress = st, progress
        self.task = progress.add_task("starting", total=None, loss="–", lr="–", eta="--:--") if progress else None

    def line(self, text: Text | str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)

    def show(self, event: run_pb2.RunEvent, result: WatchResult) -> None:
        kind = event.WhichOneof("event")
        if self.st.json:
            self.st.emit_json(to_dict(event), lines=True)
        if kind == "step":
            s = event.step
            if self.progress is not None:
                self.progress.update(self.task, description=f"epoch {s.epoch:.2f}", completed=s.step, total=s.total_steps or None,
                                     loss=f"{s.train_loss:.4f}", lr=f"{s.learning_rate:.2e}", eta=duration(s.eta_seconds))
        elif kind == "evaluation":
            e = event.evaluation
            self.line(Text(f"eval  step {e.step}: validation loss {e.validation_loss:.4f} (perplexity {e.perplexity:.2f})", style="cyan"))
        elif kind == "state":
            c = event.state
            result.state = c.state
            if c.state == run_pb2.RUN_STATE_FAILED:
                result.error = c.message
            style = {run_pb2.RUN_STATE_COMPLETED: "bold green", run_pb2.RUN_STATE_FAILED: "bold red", run_pb2.RUN_STATE_CANCELLED: "bold yellow"}.get(c.state, "bold")
            self.line(Text(f"state {run_state_name(c.state)}" + (f": {c.message}" if c.message else ""), style=style))
        elif kind == "alert":
            a = event.alert
            self.line(Text(f"alert {a.code}: {a.message}" + (f" — {a.suggestion}" if a.suggestion else ""), style="yellow"))
        elif kind == "log" and event.log.level in ("warning", "error"):
            self.line(Text(f"{event.log.level}: {event.log.message}", style="yellow" if event.log.level == "warning" else "red"))
        elif kind == "checkpoint":
            self.line(Text(f"checkpoint at step {event.checkpoint.step}", style="dim"))
        elif kind == "summary":
            result.summary = dict(to_dict(event.summary).get("metrics", {}))


def _wait_for_dispatch(st: State, job: str, view: EventView, deadline: float) -> bool:
    """Waits while the jobs service holds the job in its queue. True when the job is known there (so its run
    may appear a moment after dispatch); False without a jobs service or for a run started on the trainer."""
    if not st.clients.has_api("jobs"):
        return False
    announced = None
    while True:
        try:
            found = st.stub("jobs").GetJob(jpb.GetJobRequest(name=f"jobs/{job}"))
        except ServiceError as exc:
            if exc.reason in ("SERVICE_UNAVAILABLE", "UNIMPLEMENTED") or exc.reason.endswith("NOT_FOUND"):
                return False  # the trainer alone decides
            raise
        if found.state not in WAITING_JOB_STATES:
            if found.state in FINAL_JOB_STATES and found.attempts == 0:
                name = job_pb2.JobState.Name(found.state).removeprefix("JOB_STATE_").lower()
                raise CliError(f"job {job} is {name} and never ran" + (f": {found.error}" if found.error else ""), "JOB_NEVER_RAN", EXIT_FAILED)
            return True
        if found.state != announced:
            announced = found.state
            view.line(Text(f"job {job} is {job_pb2.JobState.Name(found.state).removeprefix('JOB_STATE_').lower()}; waiting for a trainer", style="dim"))
        if time.monotonic() > deadline:
            raise CliError(f"job {job} is still waiting in the queue; run `finetune watch {job}` again later", "STILL_QUEUED", EXIT_FAILED)
        time.sleep(0.5)


def follow(st: State, job: str, *, after: int = 0, retry_seconds: float = 60.0, queue_timeout: float = 3600.0) -> WatchResult:
    """Follows the job's run until a final state, reconnecting after a lost connection and resuming after the
    last event seen (so no event is shown twice or missed)."""
    result = WatchResult(last_sequence=after)
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("loss {task.fields[loss]}"), TextColumn("lr {task.fields[lr]}"), TextColumn("ETA {task.fields[eta]}")]
    progress = None if st.json else Progress(*columns, console=st.out, transient=False)
    view = EventView(st, progress)
    if progress is not None:
        progress.start()
    try:
        job_known = _wait_for_dispatch(st, job, view, time.monotonic() + queue_timeout)
        give_up = time.monotonic() + retry_seconds
        while True:
            try:
                trainer = st.run_stub(job)  # asked again after a lost connection: a job moves when its trainer is lost
                stream = trainer.StreamRunEvents(tpb.StreamRunEventsRequest(name=f"runs/{job}", after_sequence=result.last_sequence))
                for event in stream:
                    if event.sequence <= result.last_sequence:
                        continue
                    view.show(event, result)
                    result.last_sequence = event.sequence
                    give_up = time.monotonic() + retry_seconds
                if result.state in FINAL_RUN_STATES:
                    return result
                # The stream ended without a final state: the trainer went away; ask where the run stands.
                run = trainer.GetRun(tpb.GetRunRequest(name=f"runs/{job}"))
                if run.state in FINAL_RUN_STATES and run.last_sequence <= result.last_sequence:
                    result.state, result.error = run.state, run.error
                    return result
            except ServiceError as exc:
                not_yet = job_known and exc.reason.endswith("NOT_FOUND") and result.last_sequence == 0
                if not (exc.reason in RETRYABLE or not_yet) or time.monotonic() > give_up:
                    raise
            result.reconnects += 1
            view.line(Text(f"connection to the trainer lost; resuming after event {result.last_sequence}", style="dim"))
            time.sleep(min(2.0, 0.2 * result.reconnects))
    finally:
        if progress is not None:
            progress.stop()


def print_outcome(st: State, job: str, result: WatchResult) -> None:
    if st.json:
        return
    name = run_state_name(result.state)
    if result.completed:
        parts = [f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.summary.items() if k in ("final_train_loss", "final_validation_loss", "final_perplexity", "bleu")]
        st.out.print(Text(f"job {job} completed" + (": " + ", ".join(parts) if parts else ""), style="bold green"))
    else:
        st.out.print(Text(f"job {job} {name}" + (f": {result.error}" if result.error else ""), style="bold red"))


def watch(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="Job id (also the trainer's run id)."),
    after: int = typer.Option(0, help="Only events after this sequence number."),
    retry_seconds: float = typer.Option(60.0, help="How long to keep reconnecting to a lost trainer."),
) -> None:
    """Follow a job's training live: progress, loss, learning rate, ETA, evaluations, state changes.
    Exits 0 when the job completes, 1 when it fails or is cancelled."""
    st = state(ctx)
    job = job_id(job)
    result = follow(st, job, after=after, retry_seconds=retry_seconds)
    print_outcome(st, job, result)
    if not result.completed:
        raise typer.Exit(EXIT_FAILED)


def stream_generation(st: State, job: str, prompt: str, max_new_tokens: int = 0, temperature: float = 0.0) -> str:
    """Streams the job's model's answer to stdout as it is generated; returns the whole text."""
    request = tpb.GenerateRequest(name=f"runs/{job}", prompt=prompt, max_new_tokens=max_new_tokens, temperature=temperature)
    pieces = []
    for piece in st.run_stub(job).Generate(request):
        if piece.text:
            pieces.append(piece.text)
            if not st.json:
                sys.stdout.write(piece.text)
                sys.stdout.flush()
    if not st.json:
        sys.stdout.write("\n")
    return "".join(pieces)


def generate(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="Job id of a completed job."),
    prompt: str = typer.Argument(..., help="The input, e.g. 'How do I reset my password?'"),
    max_new_tokens: int = typer.Option(64, min=1, max=4096, help="Most new tokens."),
    temperature: float = typer.Option(0.0, min=0.0, help="0: greedy; higher: more varied."),
) -> None:
    """Generate text with a completed job's fine-tuned model, printing it as it streams."""
    st = state(ctx)
    text = stream_generation(st, job_id(job), prompt, max_new_tokens, temperature)
    if st.json:
        st.emit_json({"job": job_id(job), "prompt": prompt, "text": text})
