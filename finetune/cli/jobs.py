"""`finetune jobs ...`: submit the guide's job body, list, inspect, cancel, pause, resume, compare and profile jobs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from google.protobuf import duration_pb2
from rich.table import Table
from rich.text import Text

from finetune.cli import configs, render
from finetune.cli.context import EXIT_FAILED, CliError, State, state
from finetune.cli.training import follow, job_id, print_outcome
from finetune.jobs.v1 import job_pb2, jobs_service_pb2 as pb
from finetune.trainer.v1 import run_pb2

app = typer.Typer(help="Submit and manage fine-tuning jobs.", no_args_is_help=True)

PRIORITIES = {"high": job_pb2.JOB_PRIORITY_HIGH, "medium": job_pb2.JOB_PRIORITY_MEDIUM, "low": job_pb2.JOB_PRIORITY_LOW}
STATE_STYLES = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan", "paused": "magenta"}


def state_name(value: int) -> str:
    return job_pb2.JobState.Name(value).removeprefix("JOB_STATE_").lower()


def styled_state(value: int) -> Text:
    name = state_name(value)
    return Text(name, style=STATE_STYLES.get(name, ""))


def create_job(
    st: State,
    model: str,
    dataset: str,
    hp: run_pb2.Hyperparameters,
    *,
    name: str = "",
    description: str = "",
    tags=(),
    priority: str = "medium",
    save_model: bool = True,
    model_name: str = "",
    push_to_hub: bool = False,
    make_public: bool = False,
    gpus: int = 0,
    workers: int = 0,
    timeout_seconds: float = 0,
    mode: str = "manual",
    validate_only: bool = False,
) -> job_pb2.Job:
    """CreateJob with the guide's body: name, description, tags, configuration {model, dataset, hyperparameters}, modelSaving."""
    if priority.lower() not in PRIORITIES:
        raise CliError(f"--priority must be high, medium or low, not {priority!r}", "INVALID_FIELD")
    request = pb.CreateJobRequest(
        name=name,
        description=description,
        tags=list(tags or ()),
        configuration=job_pb2.JobConfiguration(
            model=job_pb2.ResourceReference(uid=model),
            dataset=job_pb2.ResourceReference(uid=dataset.removeprefix("datasets/")),
            hyperparameters=hp,
        ),
        model_saving=run_pb2.ModelSaving(save_model=save_model, model_name=model_name, push_to_hub=push_to_hub, make_public=make_public),
        priority=PRIORITIES[priority.lower()],
        gpu_count=gpus,
        workers=workers,
        mode=configs.mode_value(mode),
        validate_only=validate_only,
    )
    if timeout_seconds:
        request.timeout.CopyFrom(duration_pb2.Duration(seconds=int(timeout_seconds)))
    return st.stub("jobs").CreateJob(request)


def metric(m: job_pb2.JobMetrics, field: str) -> str:
    return f"{getattr(m, field):.4f}" if m.HasField(field) else ""


def show_job(st: State, job: job_pb2.Job) -> None:
    c = job.configuration
    hp = c.hyperparameters
    m = job.metrics
    render.key_values(
        st.out,
        f"job {job.job_uid}",
        [
            ("name", job.display_name),
            ("state", Text.assemble(styled_state(job.state), f" ({job.state_reason})" if job.state_reason else "")),
            ("error", Text(job.error, style="red") if job.error else ""),
            ("model", c.model.uid),
            ("dataset", c.dataset.uid),
            ("configuration", hp.uid),
            ("hyperparameters", f"lr {hp.learning_rate:g}, batch {hp.batch_size}, epochs {hp.epochs}, LoRA r {hp.lora_r} alpha {hp.lora_alpha:g}"),
            ("priority", job_pb2.JobPriority.Name(job.priority).removeprefix("JOB_PRIORITY_").lower()),
            ("progress", f"step {m.step}/{m.total_steps} ({m.percent:.0f}%)" if m.total_steps else ""),
            ("final loss", metric(m, "final_loss")),
            ("validation loss", metric(m, "final_validation_loss")),
            ("best validation loss", metric(m, "best_validation_loss")),
            ("training time", f"{m.training_time_seconds:.1f} s" if m.training_time_seconds else ""),
            ("attempts", f"{job.attempts} of {job.max_attempts}" if job.attempts else ""),
            ("waiting for", job.waiting_for),
            ("trainer", job.trainer),
            ("worker", job.placement),
            ("saved model", job.model_saving.model_name if job.model_saving.save_model else ""),
            ("output", job.output_dir),
            ("tags", ", ".join(job.tags)),
            ("created", render.when(job.create_time)),
            ("ended", render.when(job.end_time)),
        ],
    )
    configs.issues(st, "guidance", job.warnings, "yellow")
    if job.transitions:
        st.out.print(Text("history:", style="bold"))
        for t in job.transitions:
            st.out.print(Text(f"  {render.when(t.time)}  {state_name(t.from_state) if t.from_state else '':>9} → {state_name(t.to_state):<9} {t.reason}"
                              + (f": {t.message}" if t.message else ""), style="dim"))


@app.command()
def create(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", "-m", help="Model id, e.g. finetune-builtin/tiny-llama-3m or meta-llama/Llama-3.1-8B-Instruct."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset uid (from `finetune datasets upload`)."),
    set_: Optional[List[str]] = typer.Option(None, "--set", "-s", help=configs.SET_HELP),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="JSON file with the hyperparameters."),
    config: str = typer.Option("", "--config", help="A saved configuration UID to start from (--set values override it)."),
    name: str = typer.Option("", "--name", "-n", help="Job name, e.g. 'Customer Support Fine-tuning'."),
    description: str = typer.Option("", help="Free-text description."),
    tag: Optional[List[str]] = typer.Option(None, "--tag", "-t", help="A tag; repeat for more."),
    priority: str = typer.Option("medium", help="high, medium or low."),
    save_model: bool = typer.Option(True, "--save-model/--no-save-model", help="Save the fine-tuned model."),
    model_name: str = typer.Option("", help="Name for the saved model, e.g. customer-support-llama-v1."),
    gpus: int = typer.Option(0, min=0, help="GPUs to train on (0: CPU)."),
    workers: int = typer.Option(0, min=0, help="Data-parallel workers (0: one per GPU, or one on the CPU)."),
    timeout: float = typer.Option(0, min=0, help="Longest running time in seconds (0: none)."),
    mode: str = typer.Option("manual", help="Configuration mode: manual or automated."),
    validate_only: bool = typer.Option(False, "--validate-only", help="Check everything without creating the job."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Follow the job's training until it ends."),
) -> None:
    """Submit a fine-tuning job (prints its id)."""
    st = state(ctx)
    hp = configs.hyperparameters(set_, file)
    if config:
        hp.uid = config.removeprefix("configurations/")
    job = create_job(st, model, dataset, hp, name=name, description=description, tags=tag or (), priority=priority, save_model=save_model,
                     model_name=model_name, gpus=gpus, workers=workers, timeout_seconds=timeout, mode=mode,
                     validate_only=validate_only)
    if st.json:
        st.emit_json(job)
    else:
        show_job(st, job)
        st.out.print(Text("checked: the job would be accepted" if validate_only else f"created job {job.job_uid}", style="bold green"), soft_wrap=True)
    if watch and not validate_only:
        result = follow(st, job.job_uid)
        print_outcome(st, job.job_uid, result)
        if not result.completed:
            raise typer.Exit(EXIT_FAILED)


@app.command("list")
def list_(
    ctx: typer.Context,
    state_filter: str = typer.Option("", "--state", help="Only jobs in this state: queued, running, completed, ..."),
    tag: str = typer.Option("", help="Only jobs with this tag."),
    limit: int = typer.Option(50, min=1, max=1000, help="Most jobs to show."),
) -> None:
    """List jobs, newest first."""
    st = state(ctx)
    wanted = 0
    if state_filter:
        try:
            wanted = job_pb2.JobState.Value("JOB_STATE_" + state_filter.upper())
        except ValueError:
            names = ", ".join(state_name(v) for v in job_pb2.JobState.values() if v)
            raise CliError(f"--state must be one of {names}, not {state_filter!r}", "INVALID_FIELD") from None
    page = st.stub("jobs").ListJobs(pb.ListJobsRequest(page_size=limit, state=wanted, tag=tag))
    if st.json:
        st.emit_json(page)
        return
    if not page.jobs:
        st.out.print("no jobs yet: create one with `finetune jobs create --model ID --dataset ID`")
        return
    table = Table(title=f"jobs ({page.total_size})", title_justify="left")
    for column in ("job", "name", "state", "progress", "loss", "created"):
        table.add_column(column, no_wrap=column in ("job", "state", "created"))
    for j in page.jobs:
        m = j.metrics
        table.add_row(*render.plain(j.job_uid, j.display_name), styled_state(j.state),
                      *render.plain(f"{m.percent:.0f}%" if m.total_steps else "", metric(m, "final_loss"), render.when(j.create_time)))
    st.out.print(table)


@app.command()
def show(ctx: typer.Context, job: str = typer.Argument(..., help="Job id or jobs/{id}.")) -> None:
    """Show a job: configuration, state history and metrics."""
    st = state(ctx)
    found = st.stub("jobs").GetJob(pb.GetJobRequest(name=f"jobs/{job_id(job)}"))
    if st.json:
        st.emit_json(found)
    else:
        show_job(st, found)


def _control(ctx: typer.Context, job: str, rpc: str, request_class, verb: str, **extra) -> None:
    st = state(ctx)
    result = getattr(st.stub("jobs"), rpc)(request_class(name=f"jobs/{job_id(job)}", **extra))
    if st.json:
        st.emit_json(result)
    else:
        st.out.print(Text.assemble(f"{verb} job {result.job_uid}: now ", styled_state(result.state)))


@app.command()
def cancel(ctx: typer.Context, job: str = typer.Argument(..., help="Job id."), reason: str = typer.Option("", help="Why, in words.")) -> None:
    """Cancel a job (checkpoints are kept)."""
    _control(ctx, job, "CancelJob", pb.CancelJobRequest, "cancelled", reason=reason)


@app.command()
def pause(ctx: typer.Context, job: str = typer.Argument(..., help="Job id.")) -> None:
    """Pause a running job between steps."""
    _control(ctx, job, "PauseJob", pb.PauseJobRequest, "paused")


@app.command()
def resume(ctx: typer.Context, job: str = typer.Argument(..., help="Job id.")) -> None:
    """Resume a paused job."""
    _control(ctx, job, "ResumeJob", pb.ResumeJobRequest, "resumed")


@app.command()
def compare(
    ctx: typer.Context,
    jobs: List[str] = typer.Argument(..., help="Two to fifty job ids."),
    metric_names: Optional[List[str]] = typer.Option(None, "--metric", help="final_loss, final_validation_loss, best_validation_loss, training_time, gpu_hours, tokens_per_second; repeat for more (default: all)."),
) -> None:
    """Compare jobs' metrics and the differences between their configurations."""
    st = state(ctx)
    result = st.stub("jobs").CompareJobs(pb.CompareJobsRequest(job_ids=[job_id(j) for j in jobs], metrics=metric_names or []))
    if st.json:
        st.emit_json(result)
        return
    # One column per job, one row per fact: reads well for the 2-5 jobs people compare.
    winners = {w.metric: w.job for w in result.best}
    table = Table(title="comparison (best value in green)", title_justify="left")
    table.add_column("", style="bold", no_wrap=True)
    for j in result.jobs:
        table.add_column(j.job.removeprefix("jobs/"), overflow="fold")
    table.add_row("name", *render.plain(*(j.display_name for j in result.jobs)))
    table.add_row("state", *render.plain(*(j.state.removeprefix("JOB_STATE_").lower() for j in result.jobs)))
    table.add_row("model", *render.plain(*(j.model for j in result.jobs)))
    table.add_row("configuration", *render.plain(*(j.configuration_uid for j in result.jobs)))
    for name in result.metrics:
        cells = []
        for j in result.jobs:
            value = j.metrics.get(name)
            cells.append(Text("–" if value is None else f"{value:.4g}", style="bold green" if winners.get(name) == j.job else "dim" if value is None else ""))
        table.add_row(name, *cells)
    st.out.print(table)
    if result.differences:
        diff = Table(title="configuration differences", title_justify="left")
        diff.add_column("parameter", no_wrap=True)
        for j in result.jobs:
            diff.add_column(j.job.removeprefix("jobs/"), overflow="fold")
        for d in result.differences:
            diff.add_row(*render.plain(d.parameter, *d.values))
        st.out.print(diff)
    else:
        st.out.print("the jobs' configurations are the same")


@app.command()
def profile(
    ctx: typer.Context,
    job: str = typer.Argument(..., help="Job id of a running job."),
    steps: int = typer.Option(5, min=1, max=50, help="Steps to profile."),
) -> None:
    """Profile a running job's next steps: where the time goes (data, forward, backward, optimizer, logging)."""
    from finetune.trainer.v1 import trainer_service_pb2 as tpb

    st = state(ctx)
    result = st.run_stub(job_id(job)).ProfileRun(tpb.ProfileRunRequest(name=f"runs/{job_id(job)}", steps=steps), timeout=120 + 10 * steps)
    if st.json:
        st.emit_json(result)
        return
    table = Table("phase", "seconds", "share", title=f"steps {result.first_step} to {result.last_step} ({result.wall_seconds:.2f} s)")
    for p in result.phases:
        table.add_row(p.phase, f"{p.seconds:.3f}", f"{p.percent:.0f}%")
    st.out.print(table)
    ops = Table("operator", "own seconds", "calls", title="longest operators")
    for o in result.top_operators:
        ops.add_row(o.name, f"{o.self_seconds:.3f}", str(o.calls))
    st.out.print(ops)
    st.out.print(f"peak memory {result.peak_memory_bytes / 2**20:.0f} MiB on {result.device}")
    for line in result.advice:
        st.out.print(f"- {line}")
