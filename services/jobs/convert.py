"""Protos <-> the jobs service's domain values (dicts and rows), in one place for the servicer."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from finetune.jobs.v1 import analytics_pb2, configuration_pb2, ensemble_pb2, job_pb2, jobs_service_pb2, sweep_pb2
from finetune.trainer.v1 import run_pb2
from services.common import hyperparameters
from services.jobs.analytics import Comparison, Distribution, Statistics
from services.jobs.store import ConfigurationRow, JobRow, SweepRow, TransitionRow, TrialRow, aware, loads
from services.jobs.validation import Issue, ValidationReport

PRIORITY_NAMES = {job_pb2.JOB_PRIORITY_HIGH: "high", job_pb2.JOB_PRIORITY_MEDIUM: "medium", job_pb2.JOB_PRIORITY_LOW: "low",
                  job_pb2.JOB_PRIORITY_UNSPECIFIED: "medium"}
PRIORITY_ENUM = {"high": job_pb2.JOB_PRIORITY_HIGH, "medium": job_pb2.JOB_PRIORITY_MEDIUM, "low": job_pb2.JOB_PRIORITY_LOW}
MODE_NAMES = {configuration_pb2.CONFIGURATION_MODE_UNSPECIFIED: "manual", configuration_pb2.CONFIGURATION_MODE_MANUAL: "manual",
              configuration_pb2.CONFIGURATION_MODE_AUTOMATED: "automated"}
MODE_ENUM = {"manual": configuration_pb2.CONFIGURATION_MODE_MANUAL, "automated": configuration_pb2.CONFIGURATION_MODE_AUTOMATED}
ALGORITHM_NAMES = {sweep_pb2.SEARCH_ALGORITHM_GRID: "grid", sweep_pb2.SEARCH_ALGORITHM_BAYESIAN: "bayesian",
                   sweep_pb2.SEARCH_ALGORITHM_UNSPECIFIED: "bayesian"}
ALGORITHM_ENUM = {"grid": sweep_pb2.SEARCH_ALGORITHM_GRID, "bayesian": sweep_pb2.SEARCH_ALGORITHM_BAYESIAN}
SWEEP_STATE_ENUM = {"running": sweep_pb2.SWEEP_STATE_RUNNING, "completed": sweep_pb2.SWEEP_STATE_COMPLETED,
                    "failed": sweep_pb2.SWEEP_STATE_FAILED, "cancelled": sweep_pb2.SWEEP_STATE_CANCELLED}
TRIAL_STATE_ENUM = {"running": sweep_pb2.TRIAL_STATE_RUNNING, "completed": sweep_pb2.TRIAL_STATE_COMPLETED,
                    "pruned": sweep_pb2.TRIAL_STATE_PRUNED, "failed": sweep_pb2.TRIAL_STATE_FAILED}


def job_state_enum(state: str) -> int:
    return job_pb2.JobState.Value(f"JOB_STATE_{state.upper()}") if state else job_pb2.JOB_STATE_UNSPECIFIED


def job_state_name(value: int) -> str:
    return "" if value == job_pb2.JOB_STATE_UNSPECIFIED else job_pb2.JobState.Name(value).removeprefix("JOB_STATE_").lower()


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(aware(value))
    return ts


def issue_out(issue: Issue | dict) -> configuration_pb2.ValidationIssue:
    data = issue if isinstance(issue, dict) else vars(issue)
    return configuration_pb2.ValidationIssue(field=data.get("field", ""), code=data.get("code", ""),
                                             message=data.get("message", ""), suggested_value=data.get("suggested_value", ""))


def validation_out(report: ValidationReport) -> jobs_service_pb2.ValidateConfigurationResponse:
    out = jobs_service_pb2.ValidateConfigurationResponse(
        valid=report.valid, errors=[issue_out(i) for i in report.errors], warnings=[issue_out(i) for i in report.warnings],
        estimated_memory_bytes=report.estimated_memory_bytes, available_memory_bytes=report.available_memory_bytes)
    if report.normalized is not None:
        out.normalized.CopyFrom(hyperparameters.to_proto(report.normalized, report.uid))
    if report.suggested:
        out.suggested.CopyFrom(hyperparameters.to_proto(report.suggested))
    return out


def configuration_out(row: ConfigurationRow, best: tuple[JobRow, int] | None = None) -> configuration_pb2.Configuration:
    out = configuration_pb2.Configuration(
        name=f"configurations/{row.uid}", uid=row.uid, mode=MODE_ENUM.get(row.mode, 0),
        hyperparameters=hyperparameters.to_proto(row.values, row.uid), display_name=row.display_name, description=row.description,
        source_sweep=row.source_sweep, create_time=timestamp(row.create_time))
    if best is not None:
        job, count = best
        out.best_job, out.best_validation_loss, out.completed_jobs = f"jobs/{job.id}", job.final_validation_loss, count
    return out


def transition_out(row: TransitionRow) -> job_pb2.StateTransition:
    return job_pb2.StateTransition(sequence=row.seq, from_state=job_state_enum(row.from_state), to_state=job_state_enum(row.to_state),
                                   reason=row.reason, message=row.message, time=timestamp(row.time), job=f"jobs/{row.job_id}")


def job_out(row: JobRow, transitions: list[TransitionRow] | None = None) -> job_pb2.Job:
    saving = loads(row.model_saving, {})
    metrics = row.metrics_dict
    out = job_pb2.Job(
        name=f"jobs/{row.id}", job_uid=row.id, display_name=row.display_name, description=row.description, tags=row.tag_list,
        configuration=job_pb2.JobConfiguration(
            model=job_pb2.ResourceReference(uid=row.model, name=row.model_name),
            dataset=job_pb2.ResourceReference(uid=row.dataset, name=row.dataset_name),
            hyperparameters=hyperparameters.to_proto(row.values, row.config_uid)),
        model_saving=run_pb2.ModelSaving(**{k: v for k, v in saving.items() if k in run_pb2.ModelSaving.DESCRIPTOR.fields_by_name}),
        priority=row.priority, gpu_count=row.gpu_count, state=job_state_enum(row.state), state_reason=row.state_reason,
        error=row.error, transitions=[transition_out(t) for t in transitions or []], attempts=row.attempts,
        max_attempts=row.max_attempts, trainer=row.trainer, warnings=[issue_out(w) for w in loads(row.warnings, [])],
        sweep=f"sweeps/{row.sweep_id}" if row.sweep_id else "", trial_number=row.trial_number, output_dir=row.output_dir,
        create_time=timestamp(row.create_time), start_time=timestamp(row.start_time), end_time=timestamp(row.end_time),
        update_time=timestamp(row.update_time), metadata=row.metadata_dict, workers=row.workers or 0,
        waiting_for=row.waiting_for or "", placement=row.placement or "")
    if row.timeout_seconds > 0:
        out.timeout.FromNanoseconds(int(row.timeout_seconds * 1e9))
    m = out.metrics
    for name in ("step", "total_steps"):
        setattr(m, name, int(metrics.get(name, 0) or 0))
    for name in ("final_loss", "final_validation_loss", "best_validation_loss"):
        if metrics.get(name) is not None:
            setattr(m, name, float(metrics[name]))
    for name in ("training_time_seconds", "gpu_hours", "tokens_per_second", "percent"):
        setattr(m, name, float(metrics.get(name, 0.0) or 0.0))
    m.dataset_rows = row.dataset_rows
    if row.start_time and row.queue_time:
        m.queue_wait_seconds = max(0.0, (aware(row.start_time) - aware(row.queue_time)).total_seconds())
    return out


def trial_out(row: TrialRow) -> sweep_pb2.SweepTrial:
    out = sweep_pb2.SweepTrial(number=row.number, job=f"jobs/{row.job_id}" if row.job_id else "",
                               parameters=hyperparameters.to_proto(row.params_dict), state=TRIAL_STATE_ENUM.get(row.state, 0),
                               last_reported_step=row.last_step, configuration_uid=row.config_uid)
    if row.value is not None and row.state == "completed":
        out.validation_loss = row.value
    return out


def sweep_out(row: SweepRow, trials: list[TrialRow], best: TrialRow | None) -> sweep_pb2.Sweep:
    spec = row.spec_dict
    saving = spec.get("model_saving", {})
    out = sweep_pb2.Sweep(
        name=f"sweeps/{row.id}", display_name=row.display_name,
        configuration=job_pb2.JobConfiguration(
            model=job_pb2.ResourceReference(uid=spec.get("model", ""), name=spec.get("model_name", "")),
            dataset=job_pb2.ResourceReference(uid=spec.get("dataset", ""), name=spec.get("dataset_name", "")),
            hyperparameters=hyperparameters.to_proto(spec.get("base", {}))),
        search_space=[range_out(r) for r in spec.get("search_space", [])], algorithm=ALGORITHM_ENUM.get(spec.get("algorithm"), 0),
        max_trials=spec.get("max_trials", 0), parallel_trials=spec.get("parallel_trials", 1), pruning=spec.get("pruning", False),
        priority=PRIORITY_ENUM.get(spec.get("priority", "medium"), 0), state=SWEEP_STATE_ENUM.get(row.state, 0), error=row.error,
        completed_trials=sum(t.state == "completed" for t in trials), pruned_trials=sum(t.state == "pruned" for t in trials),
        failed_trials=sum(t.state == "failed" for t in trials), seed=spec.get("seed", 0),
        model_saving=run_pb2.ModelSaving(**{k: v for k, v in saving.items() if k in run_pb2.ModelSaving.DESCRIPTOR.fields_by_name}),
        create_time=timestamp(row.create_time), end_time=timestamp(row.end_time))
    if best is not None:
        out.best_trial.CopyFrom(trial_out(best))
    return out


def range_in(message: configuration_pb2.ParameterRange) -> dict:
    out = {"parameter": message.parameter.strip(), "log_scale": message.log_scale, "step": message.step,
           "values": list(message.values), "choices": list(message.choices)}
    if not message.values and not message.choices:
        out |= {"min": message.min, "max": message.max}
    return out


def range_out(data: dict) -> configuration_pb2.ParameterRange:
    return configuration_pb2.ParameterRange(parameter=data["parameter"], min=data.get("min", 0.0), max=data.get("max", 0.0),
                                            log_scale=data.get("log_scale", False), step=data.get("step", 0.0),
                                            values=data.get("values", []), choices=data.get("choices", []))


def comparison_out(result: Comparison) -> jobs_service_pb2.CompareJobsResponse:
    rows = []
    for row in result.rows:
        job: JobRow = row["job"]
        rows.append(analytics_pb2.ComparedJob(
            job=f"jobs/{job.id}", display_name=job.display_name, state=job_pb2.JobState.Name(job_state_enum(job.state)),
            model=job.model, configuration_uid=job.config_uid, metrics=row["values"],
            hyperparameters=hyperparameters.to_proto(job.values, job.config_uid)))
    return jobs_service_pb2.CompareJobsResponse(
        jobs=rows, metrics=result.metrics,
        differences=[analytics_pb2.ConfigurationDifference(parameter=p, values=v) for p, v in result.differences],
        best=[analytics_pb2.MetricWinner(metric=m, job=f"jobs/{j}", value=v) for m, j, v in result.best])


def _distribution(d: Distribution) -> analytics_pb2.Distribution:
    return analytics_pb2.Distribution(count=d.count, mean=d.mean, p50=d.p50, p95=d.p95, min=d.min, max=d.max)


def _counts(pairs) -> list[analytics_pb2.ValueCount]:
    return [analytics_pb2.ValueCount(value=str(v), count=c) for v, c in pairs]


def statistics_out(s: Statistics) -> analytics_pb2.JobStatistics:
    def buckets(items):
        return [analytics_pb2.TimeBucket(start_time=timestamp(b.start), created=b.created, completed=b.completed, failed=b.failed,
                                         cancelled=b.cancelled) for b in items]

    return analytics_pb2.JobStatistics(
        start_time=timestamp(s.start), end_time=timestamp(s.end), total_jobs=s.total_jobs, jobs_by_state=s.by_state,
        success_rate=s.success_rate, jobs_per_hour=buckets(s.per_hour), jobs_per_day=buckets(s.per_day),
        queue_wait_seconds=_distribution(s.queue_wait), queued_now=s.queued_now, popular_models=_counts(s.popular_models),
        popular_datasets=_counts(s.popular_datasets),
        hyperparameter_choices=[analytics_pb2.ParameterUsage(parameter=p, values=_counts(v)) for p, v in s.choices],
        dataset_rows=_distribution(s.dataset_rows), dataset_size_classes=_counts(s.size_classes),
        training_seconds=_distribution(s.training_seconds), gpu_hours=s.gpu_hours)


def ensemble_out(row, members: list[JobRow], rule: str) -> ensemble_pb2.Ensemble:
    """An ensemble with its members' states and losses (services.jobs.ensembles)."""
    from services.jobs.ensembles import ensemble_state  # ensembles builds on the manager, which imports this module

    spec = loads(row.spec, {})
    out = ensemble_pb2.Ensemble(
        name=f"ensembles/{row.id}", display_name=row.display_name, size=spec.get("size", len(members)),
        learning_rate_spread=spec.get("spread", 0.0), state=ensemble_state(members), rule=rule, create_time=timestamp(row.create_time),
        configuration=job_pb2.JobConfiguration(
            model=job_pb2.ResourceReference(uid=spec.get("model", ""), name=spec.get("model_name", "")),
            dataset=job_pb2.ResourceReference(uid=spec.get("dataset", ""), name=spec.get("dataset_name", "")),
            hyperparameters=hyperparameters.to_proto(spec.get("values", {}))))
    for i, m in enumerate(members):
        member = out.members.add(job=f"jobs/{m.id}", seed=spec["seeds"][i], learning_rate=spec["rates"][i], state=job_state_enum(m.state))
        if m.final_validation_loss is not None:
            member.final_validation_loss = m.final_validation_loss
    return out
