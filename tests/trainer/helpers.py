"""Shared pieces of the trainer-core tests: the tiny built-in model and small recipe runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from services.catalog.builtin_models import TINY_MODEL_ID, ensure_builtin_model
from services.trainer.artifacts import ArtifactOptions
from services.common.hyperparameters import TrainingConfig
from services.trainer.recipe import Recipe, RunPaths, TrainingData
from services.trainer.synthetic import synthetic_rows

# Short rows keep each step at a few milliseconds on two shared cores.
TRAIN_ROWS = synthetic_rows(48, seed=1, min_length=5, max_length=60)
VALIDATION_ROWS = synthetic_rows(8, seed=2, min_length=5, max_length=60)
FAST_ARTIFACTS = ArtifactOptions(eval_rows=4, sample_generations=2, max_new_tokens=12)


def tiny_model_dir(tmp_path_factory) -> Path:
    return ensure_builtin_model(tmp_path_factory.mktemp("models"), TINY_MODEL_ID)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The tiny model, with torch on one thread: on cores shared with other work, two threads that spin-wait
    for each other make these millisecond-sized steps many times slower, and one thread is as fast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_model_dir(tmp_path_factory)
    torch.set_num_threads(threads)


def small_config(**overrides) -> TrainingConfig:
    values = dict(batch_size=4, epochs=1, max_seq_length=96, learning_rate=1e-3, lora_dropout=0.1,
                  save_steps=0, seed=7)
    values.update(overrides)
    return TrainingConfig.from_dict(values)


def make_recipe(model_dir: Path, run_dir: Path, config: TrainingConfig, events: list | None = None,
                control=None, validation: bool = True, **kwargs) -> Recipe:
    sink = events.append if events is not None else None
    data = TrainingData(TRAIN_ROWS, VALIDATION_ROWS if validation else [])
    kwargs.setdefault("artifacts", FAST_ARTIFACTS)
    return Recipe(config, RunPaths(run_dir, model_dir), data, sink, control, device="cpu", **kwargs)


def step_losses(events: list[dict]) -> dict[int, float]:
    return {e["step"]: e["train_loss"] for e in events if e["type"] == "step"}
