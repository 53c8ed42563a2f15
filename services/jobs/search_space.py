"""Sweep search spaces: ranges checked against the trainer's limits, as grid points or Optuna distributions.

A range is a dict `{"parameter", "min", "max", "log_scale", "step", "values", "choices"}`:
- explicit `values` (numbers) or `choices` (text: optimizer, scheduler) are the points themselves;
- otherwise `min`..`max`: the grid takes every `step` from min (or min, middle, max when step is 0; the
  geometric middle on a log scale); Bayesian search samples between them (log scale if asked).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from services.jobs import uid as uid_codec
from services.jobs.validation import value_errors

MAX_GRID_POINTS = 1000
INT_PARAMETERS = frozenset(k for k, v in uid_codec.defaults().items()
                           if isinstance(v, int) and not isinstance(v, bool)) | {"max_steps"}
TEXT_PARAMETERS = frozenset({"optimizer", "scheduler"})
NOT_SEARCHABLE = frozenset({"target_modules", "packing", "timeout_seconds", "logging_steps", "keep_checkpoints", "save_steps"})


def check_ranges(ranges: list[dict], fixed: dict[str, Any]) -> list[tuple[str, str]]:
    """Every problem as (field, message); empty when the space can be searched."""
    problems: list[tuple[str, str]] = []
    if not ranges:
        return [("search_space", "give at least one parameter range to search")]
    seen: set[str] = set()
    for i, r in enumerate(ranges):
        where = f"search_space[{i}]"
        name = str(r.get("parameter", "")).strip()
        if not name:
            problems.append((where, "parameter is required, e.g. learning_rate"))
            continue
        where = f"search_space.{name}"
        if name not in uid_codec.PARAMETERS:
            problems.append((where, f"{name} is not a training parameter"))
            continue
        if name in NOT_SEARCHABLE:
            problems.append((where, f"{name} cannot be searched; set it as a fixed value"))
            continue
        if name in seen:
            problems.append((where, f"{name} has two ranges; give one"))
        seen.add(name)
        if fixed.get(name) is not None:
            problems.append((where, f"{name} is given both as a fixed value and as a range; keep one"))
        problems += [(where, m) for m in _range_problems(name, r)]
    return problems


def _range_problems(name: str, r: dict) -> list[str]:
    values, choices = list(r.get("values") or []), list(r.get("choices") or [])
    if name in TEXT_PARAMETERS:
        if not choices:
            return [f"{name} is text: list its choices, e.g. {uid_codec.defaults()[name]!r}"]
        return [e.message for c in choices for e in value_errors({name: c})]
    if choices:
        return [f"{name} is a number: give values or min and max, not choices"]
    if values:
        return [e.message for v in values for e in value_errors({name: v})]
    low, high = r.get("min"), r.get("max")
    if low is None or high is None:
        return [f"{name} needs min and max (or a list of values)"]
    out = [e.message for v in (low, high) for e in value_errors({name: v})]
    if out:
        return out
    if low > high:
        return [f"{name} min {low:g} is greater than max {high:g}"]
    if r.get("log_scale") and low <= 0:
        return [f"{name} on a log scale needs min > 0"]
    step = r.get("step") or 0
    if step < 0:
        return [f"{name} step must not be negative"]
    if name in INT_PARAMETERS and (low != int(low) or high != int(high) or step != int(step)):
        return [f"{name} is a whole number: min, max and step must be whole numbers"]
    if r.get("log_scale") and step and name not in INT_PARAMETERS:
        return [f"{name}: a log scale and a step cannot be combined for Bayesian search; drop one"]
    return []


def grid_points(r: dict) -> list:
    """The points of one range for grid search."""
    name = r["parameter"]
    if r.get("choices"):
        return list(dict.fromkeys(r["choices"]))
    if r.get("values"):
        points = [int(v) if name in INT_PARAMETERS else float(v) for v in r["values"]]
        return list(dict.fromkeys(points))
    low, high, step = float(r["min"]), float(r["max"]), float(r.get("step") or 0)
    if step > 0:
        points = [low + i * step for i in range(_step_count(low, high, step))]
    elif r.get("log_scale"):
        points = [low, math.sqrt(low * high), high]
    else:
        points = [low, (low + high) / 2, high]
    if name in INT_PARAMETERS:
        points = [int(round(p)) for p in points]
    else:
        points = [float(f"{p:.12g}") for p in points]
    return list(dict.fromkeys(points))


def grid(ranges: list[dict]) -> dict[str, list]:
    return {r["parameter"]: grid_points(r) for r in ranges}


def grid_size(ranges: list[dict]) -> int:
    """How many points the grid has. Counted from min, max and step first, without making a point: a range
    of 10 million steps is refused at once, not after its points filled the memory."""
    bound = math.prod(_point_count(r) for r in ranges)
    return bound if bound > MAX_GRID_POINTS else math.prod(len(p) for p in grid(ranges).values())


_COUNT_CAP = 10**18  # a step so small that the count overflows a float: "more than anyone will run"


def _point_count(r: dict) -> int:
    """How many points `grid_points(r)` makes at most."""
    if r.get("choices") or r.get("values"):
        return len(r.get("choices") or r.get("values"))
    step = float(r.get("step") or 0)
    return _step_count(float(r["min"]), float(r["max"]), step) if step > 0 else 3


def _step_count(low: float, high: float, step: float) -> int:
    """The points from low to high by step, both ends included; _COUNT_CAP when there are more than that."""
    steps = (high - low) / step
    if not math.isfinite(steps) or steps >= _COUNT_CAP:
        return _COUNT_CAP
    return max(0, int(math.floor(steps + 1e-9)) + 1)


def distributions(ranges: list[dict], algorithm: str) -> dict[str, BaseDistribution]:
    """Optuna distributions: the grid's points as categories for grid search, ranges for Bayesian search."""
    if algorithm == "grid":
        return {name: CategoricalDistribution(points) for name, points in grid(ranges).items()}
    out: dict[str, BaseDistribution] = {}
    for r in ranges:
        name = r["parameter"]
        if r.get("choices") or r.get("values"):
            out[name] = CategoricalDistribution(grid_points(r))
        elif name in INT_PARAMETERS:
            log = bool(r.get("log_scale"))
            out[name] = IntDistribution(int(r["min"]), int(r["max"]), log=log, step=1 if log else int(r.get("step") or 1))
        else:
            out[name] = FloatDistribution(float(r["min"]), float(r["max"]), log=bool(r.get("log_scale")), step=r.get("step") or None)
    return out


def all_combinations(ranges: list[dict]) -> list[dict]:
    """Every grid point as a dict (for tests and for describing a grid)."""
    points = grid(ranges)
    return [dict(zip(points, combo)) for combo in itertools.product(*points.values())]
