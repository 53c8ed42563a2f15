"""A run's events folded into chart columns: steps, evaluations and resource samples, plus the other events.

A run resumed from a checkpoint logs the steps after that checkpoint again; a step at or before the last
one kept therefore cuts its series back to before it (as TensorBoard purges orphaned points), so each
step appears once, with its latest values. The dashboard applies the same rule to live events.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Iterable

from services.trainer.events import Event

SERIES_TYPES = ("step", "eval", "resources")
STEP_COLUMNS = {  # column -> the step event's key
    "times": None, "elapsed_seconds": "elapsed_seconds", "epochs": "epoch", "train_losses": "train_loss",
    "learning_rates": "learning_rate", "grad_norms": "grad_norm", "tokens_per_second": "tokens_per_second",
}
EVALUATION_COLUMNS = {"times": None, "validation_losses": "validation_loss", "perplexities": "perplexity"}


@dataclass
class Series:
    """Columns keyed by name, plus `steps`; `cut_from(step)` drops every point at or after `step`."""

    columns: dict[str, list[float]]
    steps: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, names: Iterable[str]) -> "Series":
        return cls({name: [] for name in names})

    def add(self, step: int, values: Iterable[float]) -> None:
        """`values` in the order of `columns`."""
        if self.steps and step <= self.steps[-1]:
            self.cut_from(step)
        self.steps.append(step)
        for column, value in zip(self.columns.values(), values):
            column.append(value)

    def cut_from(self, step: int) -> None:
        keep = len(self.steps)
        while keep and self.steps[keep - 1] >= step:
            keep -= 1
        if keep == len(self.steps):
            return
        del self.steps[keep:]
        for column in self.columns.values():
            del column[keep:]


@dataclass
class RunHistory:
    steps: Series
    evaluations: Series
    resources: dict[str, list[float]]
    latest_resources: dict | None
    notices: list[Event]


NAN = float("nan")


def _number(value) -> float:
    if type(value) is float:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


def _values(event: Event, keys: tuple[str | None, ...]) -> list[float]:
    """The event's values for `keys` (None: the event's time), in that order: one list per event, no dicts,
    since a long run folds tens of thousands of them per request."""
    get = event.data.get
    return [event.time if key is None else _number(get(key)) for key in keys]


def resource_point(data: dict) -> dict[str, float]:
    gpus = data.get("gpus") or []
    used = sum(_number(g.get("memory_used_bytes", 0)) for g in gpus)
    total = sum(_number(g.get("memory_total_bytes", 0)) for g in gpus)
    return {
        "cpu_percents": _number(data.get("cpu_percent", 0)),
        "memory_percents": _number(data.get("memory_percent", 0)),
        "process_rss_bytes": _number(data.get("process_rss_bytes", 0)),
        "gpu_utilization_percents": sum(_number(g.get("utilization_percent", 0)) for g in gpus) / len(gpus) if gpus else 0.0,
        "gpu_memory_percents": 100.0 * used / total if total else 0.0,
    }


def fold(events: Iterable[Event], max_notices: int) -> RunHistory:
    """The columns of `events` (oldest first); only the newest `max_notices` other events are kept."""
    steps, evaluations = Series.of(STEP_COLUMNS), Series.of(EVALUATION_COLUMNS)
    step_keys, evaluation_keys = tuple(STEP_COLUMNS.values()), tuple(EVALUATION_COLUMNS.values())
    resources: dict[str, list[float]] = {"times": [], **{k: [] for k in resource_point({})}}
    latest = None
    notices: collections.deque[Event] = collections.deque(maxlen=max_notices)
    for event in events:
        if event.type == "step":
            step = int(event.data.get("step", 0))
            steps.add(step, _values(event, step_keys))
            evaluations.cut_from(step)  # an evaluation comes after its step: any at or after a repeated step is orphaned
        elif event.type == "eval":
            evaluations.add(int(event.data.get("step", 0)), _values(event, evaluation_keys))
        elif event.type == "resources":
            latest = event.data
            resources["times"].append(event.time)
            for name, value in resource_point(event.data).items():
                resources[name].append(value)
        else:
            notices.append(event)
    return RunHistory(steps, evaluations, resources, latest, list(notices))
