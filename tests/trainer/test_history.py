"""history.fold: a run's events as chart columns, each step once after a resume, evaluations cut with it."""

from __future__ import annotations

import math

from services.trainer.events import Event
from services.trainer.history import HistoryCache, fold


def events(*items) -> list[Event]:
    return [Event("r", seq, kind, 1000.0 + seq, data) for seq, (kind, data) in enumerate(items, start=1)]


def step(n: int, loss: float) -> tuple[str, dict]:
    return "step", {"step": n, "train_loss": loss, "learning_rate": 1e-3, "grad_norm": 0.5, "tokens_per_second": 100.0,
                    "elapsed_seconds": float(n), "epoch": n / 10}


def test_columns_keep_every_step_and_evaluation_with_its_time():
    folded = fold(events(step(1, 3.0), step(2, 2.5), ("eval", {"step": 2, "validation_loss": 2.7, "perplexity": 14.9}),
                         ("log", {"level": "info", "message": "hi"})))
    assert folded.steps.steps == [1, 2] and folded.steps.columns["train_losses"] == [3.0, 2.5]
    assert folded.steps.columns["times"] == [1001.0, 1002.0] and folded.steps.columns["epochs"] == [0.1, 0.2]
    assert folded.evaluations.steps == [2] and folded.evaluations.columns["validation_losses"] == [2.7]
    assert [e.type for e in folded.notices] == ["log"]


def test_a_resume_replaces_the_steps_and_evaluations_after_its_checkpoint():
    folded = fold(events(step(1, 3.0), step(2, 2.0), ("eval", {"step": 2, "validation_loss": 2.2}), step(3, 1.5),
                         ("eval", {"step": 3, "validation_loss": 1.9}),
                         ("state", {"state": "running", "message": "resuming from checkpoint-1"}),
                         step(2, 2.1), step(3, 1.6)))
    assert folded.steps.steps == [1, 2, 3] and folded.steps.columns["train_losses"] == [3.0, 2.1, 1.6]
    assert folded.evaluations.steps == []  # both were measured on the steps trained again
    assert all(len(c) == 3 for c in folded.steps.columns.values())


def test_resources_average_the_gpus_and_notices_keep_the_newest():
    gpus = [{"utilization_percent": 50, "memory_used_bytes": 1, "memory_total_bytes": 4},
            {"utilization_percent": 100, "memory_used_bytes": 3, "memory_total_bytes": 4}]
    folded = fold(events(("resources", {"cpu_percent": 12.5, "memory_percent": 40, "gpus": gpus}),
                         ("resources", {"cpu_percent": 20}), *[("log", {"message": str(i)}) for i in range(5)]))
    assert folded.resources["cpu_percents"] == [12.5, 20.0] and folded.resources["gpu_utilization_percents"] == [75.0, 0.0]
    assert folded.resources["gpu_memory_percents"] == [50.0, 0.0] and folded.latest_resources == {"cpu_percent": 20}
    assert [e.data["message"] for e in folded.newest_notices(2)] == ["3", "4"] and folded.newest_notices(0) == []


def test_a_missing_or_non_numeric_value_is_nan_not_an_error():
    folded = fold(events(("step", {"step": 1, "train_loss": None})))
    assert math.isnan(folded.steps.columns["train_losses"][0]) and math.isnan(folded.steps.columns["grad_norms"][0])


def test_extending_a_history_with_later_events_equals_folding_them_all_at_once():
    items = events(step(1, 3.0), step(2, 2.0), ("eval", {"step": 2, "validation_loss": 2.2}),
                   ("state", {"state": "running"}), step(2, 2.1), step(3, 1.6), ("log", {"message": "x"}))
    whole = fold(items)
    lock, part = HistoryCache(size=1).get("r")
    part.extend(items[:3])
    part.extend(items[3:])
    assert (part.steps, part.evaluations, list(part.notices)) == (whole.steps, whole.evaluations, list(whole.notices))
    assert part.last_seq == whole.last_seq == 7


def test_the_cache_keeps_the_newest_runs_with_a_lock_each():
    cache = HistoryCache(size=2)
    first = cache.get("a")
    cache.get("b")
    assert cache.get("a") is first  # asked again: kept, and now the newest
    cache.get("c")
    assert cache.get("a") is first and cache.get("b") is not None
    assert cache.get("c")[1].last_seq == 0  # "c" was dropped for "b", so it starts empty again
