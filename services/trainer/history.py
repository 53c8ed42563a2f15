"""A run's events folded into chart columns: steps, evaluations and resource samples, plus the other events.

A run resumed from a checkpoint logs the steps after that checkpoint again; a step at or before the last
one kept therefore cuts its series back to before it (as TensorBoard purges orphaned points), so each
step appears once, with its latest values. The dashboard applies the same rule to live events.
"""

from __future__ import annotations

import asyncio
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
RESOURCE_COLUMNS = ("cpu_percents", "memory_percents", "process_rss_bytes", "gpu_utilization_percents", "gpu_memory_percents")
MAX_NOTICES = 5000


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
    """A run's events folded so far (up to `last_seq`); `extend` folds later ones onto it, so a long run is
    read from the database once and each later request only reads what came since."""

    steps: Series = field(default_factory=lambda: Series.of(STEP_COLUMNS))
    evaluations: Series = field(default_factory=lambda: Series.of(EVALUATION_COLUMNS))
    resources: dict[str, list[float]] = field(default_factory=lambda: {"times": [], **{k: [] for k in RESOURCE_COLUMNS}})
    latest_resources: dict | None = None
    notices: collections.deque = field(default_factory=lambda: collections.deque(maxlen=MAX_NOTICES))
    last_seq: int = 0

    def extend(self, events: Iterable[Event]) -> None:
        """Folds `events` (oldest first, each after `last_seq`)."""
        steps, evaluations, resources = self.steps, self.evaluations, self.resources
        step_keys, evaluation_keys = tuple(STEP_COLUMNS.values()), tuple(EVALUATION_COLUMNS.values())
        for event in events:
            self.last_seq = event.seq
            if event.type == "step":
                step = int(event.data.get("step", 0))
                steps.add(step, _values(event, step_keys))
                evaluations.cut_from(step)  # an evaluation comes after its step: any at or after a repeated step is orphaned
            elif event.type == "eval":
                evaluations.add(int(event.data.get("step", 0)), _values(event, evaluation_keys))
            elif event.type == "resources":
                self.latest_resources = event.data
                resources["times"].append(event.time)
                for name, value in resource_point(event.data).items():
                    resources[name].append(value)
            else:
                self.notices.append(event)

    def newest_notices(self, n: int) -> list[Event]:
        return list(self.notices)[-n:] if n else []


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


def fold(events: Iterable[Event]) -> RunHistory:
    """The columns of `events` (oldest first)."""
    history = RunHistory()
    history.extend(events)
    return history


class HistoryCache:
    """The folded history of the most recently asked runs, each with the lock its updates take, kept up to date
    by folding only the events newer than what it holds."""

    def __init__(self, size: int = 8):
        self.size = size
        self._runs: collections.OrderedDict[str, tuple[asyncio.Lock, RunHistory]] = collections.OrderedDict()

    def get(self, run_id: str) -> tuple[asyncio.Lock, RunHistory]:
        entry = self._runs.pop(run_id, None) or (asyncio.Lock(), RunHistory())
        self._runs[run_id] = entry
        while len(self._runs) > self.size:
            self._runs.popitem(last=False)
        return entry
