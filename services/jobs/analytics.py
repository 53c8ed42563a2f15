"""Experiment tracking and the dashboard's numbers, as pure functions over stored jobs.

Compare: the guide's metrics (final_loss, training_time, gpu_hours, plus final and best validation loss
and tokens/s) side by side, the parameters whose values differ, and the best job per metric.
Statistics: jobs per hour and day, success rate, queue waits, popular models and datasets, common
hyperparameter choices, dataset sizes, training time and device-hours.
"""

from __future__ import annotations

import math
import statistics as stats
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from services.common.errors import InvalidArgument
from services.jobs.states import JobState
from services.jobs.store import JobRow, aware

# metric name -> (key in the job's metrics, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "final_loss": ("final_loss", False),
    "final_validation_loss": ("final_validation_loss", False),
    "best_validation_loss": ("best_validation_loss", False),
    "training_time": ("training_time_seconds", False),
    "gpu_hours": ("gpu_hours", False),
    "tokens_per_second": ("tokens_per_second", True),
}
ALIASES = {"validation_loss": "final_validation_loss", "training_time_seconds": "training_time", "tokens_per_sec": "tokens_per_second",
           "throughput": "tokens_per_second"}
KEY_PARAMETERS = ("learning_rate", "batch_size", "epochs", "lora_r", "lora_alpha", "gradient_accumulation_steps", "optimizer",
                  "scheduler")
MIN_COMPARE, MAX_COMPARE = 2, 50


@dataclass
class Comparison:
    metrics: list[str]
    rows: list[dict[str, Any]]  # job, values: {metric: value}
    differences: list[tuple[str, list[str]]]
    best: list[tuple[str, str, float]]  # (metric, job id, value)


def metric_names(requested: Iterable[str]) -> list[str]:
    names = [ALIASES.get(m.strip().lower(), m.strip().lower()) for m in requested if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise InvalidArgument(f"unknown metric(s) {', '.join(unknown)}; metrics: {', '.join(METRICS)}", reason="UNKNOWN_METRIC",
                              metadata={"metric": unknown[0]})
    return list(dict.fromkeys(names)) or list(METRICS)


def job_metric(job: JobRow, metric: str) -> float | None:
    value = job.metrics_dict.get(METRICS[metric][0])
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def compare(jobs: list[JobRow], requested_metrics: Iterable[str]) -> Comparison:
    metrics = metric_names(requested_metrics)
    rows = [{"job": j, "values": {m: v for m in metrics if (v := job_metric(j, m)) is not None}} for j in jobs]
    differences = []
    for name, getter in [("model", lambda j: j.model), ("dataset", lambda j: j.dataset)] + [
        (p, lambda j, p=p: j.values.get(p)) for p in sorted({k for j in jobs for k in j.values})
    ]:
        values = [getter(j) for j in jobs]
        if len({_text(v) for v in values}) > 1:
            differences.append((name, [_text(v) for v in values]))
    best = []
    for m in metrics:
        measured = [(row["values"][m], row["job"].id) for row in rows if m in row["values"]]
        if measured:
            pick = max if METRICS[m][1] else min
            value, job_id = pick(measured, key=lambda x: x[0])
            best.append((m, job_id, value))
    return Comparison(metrics, rows, differences, best)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


@dataclass
class Distribution:
    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    min: float = 0.0
    max: float = 0.0


def distribution(values: list[float]) -> Distribution:
    values = sorted(v for v in values if v is not None and math.isfinite(v))
    if not values:
        return Distribution()
    return Distribution(len(values), stats.fmean(values), _percentile(values, 50), _percentile(values, 95), values[0], values[-1])


def _percentile(ordered: list[float], q: float) -> float:
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Bucket:
    start: datetime
    created: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass
class Statistics:
    start: datetime
    end: datetime
    total_jobs: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    success_rate: float = 0.0
    per_hour: list[Bucket] = field(default_factory=list)
    per_day: list[Bucket] = field(default_factory=list)
    queue_wait: Distribution = field(default_factory=Distribution)
    queued_now: int = 0
    popular_models: list[tuple[str, int]] = field(default_factory=list)
    popular_datasets: list[tuple[str, int]] = field(default_factory=list)
    choices: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)
    dataset_rows: Distribution = field(default_factory=Distribution)
    size_classes: list[tuple[str, int]] = field(default_factory=list)
    training_seconds: Distribution = field(default_factory=Distribution)
    gpu_hours: float = 0.0


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = end or now
    start = start or end - timedelta(days=30)
    if start > end:
        raise InvalidArgument("start_time must be before end_time", reason="INVALID_TIME_WINDOW")
    return start, end


def size_class(rows: int) -> str:
    return "large (>10k)" if rows > 10_000 else "medium (1k-10k)" if rows >= 1_000 else "small (<1k)"


def statistics(jobs: list[JobRow], start: datetime, end: datetime, queued_now: int, top: int = 10) -> Statistics:
    out = Statistics(start, end, total_jobs=len(jobs), queued_now=queued_now)
    out.by_state = dict(Counter(f"JOB_STATE_{j.state.upper()}" for j in jobs))
    completed = sum(j.job_state == JobState.COMPLETED for j in jobs)
    failed = sum(j.job_state == JobState.FAILED for j in jobs)
    out.success_rate = completed / (completed + failed) if completed + failed else 0.0
    out.per_hour = _buckets(jobs, lambda t: t.replace(minute=0, second=0, microsecond=0))
    out.per_day = _buckets(jobs, lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0))
    out.queue_wait = distribution([(aware(j.start_time) - aware(j.queue_time)).total_seconds()
                                   for j in jobs if j.start_time and j.queue_time])
    out.popular_models = Counter(j.model for j in jobs).most_common(top)
    out.popular_datasets = Counter(j.dataset_name or j.dataset for j in jobs).most_common(top)
    for parameter in KEY_PARAMETERS:
        counts = Counter(_text(j.values.get(parameter)) for j in jobs if j.values.get(parameter) is not None)
        if counts:
            out.choices.append((parameter, counts.most_common(top)))
    out.dataset_rows = distribution([float(j.dataset_rows) for j in jobs if j.dataset_rows])
    out.size_classes = Counter(size_class(j.dataset_rows) for j in jobs if j.dataset_rows).most_common()
    out.training_seconds = distribution([job_metric(j, "training_time") for j in jobs if j.job_state == JobState.COMPLETED])
    out.gpu_hours = sum(job_metric(j, "gpu_hours") or 0.0 for j in jobs)
    return out


def _buckets(jobs: list[JobRow], floor) -> list[Bucket]:
    buckets: dict[datetime, Bucket] = {}

    def bucket(t: datetime) -> Bucket:
        key = floor(aware(t).astimezone(timezone.utc))
        return buckets.setdefault(key, Bucket(key))

    for job in jobs:
        bucket(job.create_time).created += 1
        if job.end_time and job.job_state in (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED):
            setattr(bucket(job.end_time), job.state, getattr(bucket(job.end_time), job.state) + 1)
    return [buckets[k] for k in sorted(buckets)]
