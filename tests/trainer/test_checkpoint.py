"""Checkpoints: atomic writes, retention, and exact resume after a crash or a SIGKILL."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time

import pytest
import torch

from services.trainer.checkpoint import (
    STATE_FILE,
    capture_rng_state,
    latest_checkpoint,
    list_checkpoints,
    read_checkpoint,
    restore_rng_state,
)
from services.trainer.worker import EVENTS_FILE, run_training, write_run_spec
from tests.trainer.helpers import (  # noqa: F401 (model_dir is a fixture)
    TRAIN_ROWS,
    VALIDATION_ROWS,
    make_recipe,
    model_dir,
    small_config,
    step_losses,
)

# Dropout > 0, so that restoring the RNG state really matters; an evaluation between checkpoints.
RESUME_CONFIG = dict(lora_dropout=0.1, save_steps=3, eval_steps=4, epochs=2, max_steps=14)


class SimulatedCrash(Exception):
    pass


@pytest.fixture(scope="module")
def uninterrupted(model_dir, tmp_path_factory):
    """Per-step losses of a run that nobody stopped, and its final adapter."""
    events: list[dict] = []
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    recipe = make_recipe(model_dir, run_dir, small_config(**RESUME_CONFIG), events)
    recipe.setup()
    recipe.train()
    return step_losses(events), read_checkpoint(latest_checkpoint(run_dir / "checkpoints")).adapter


def _resume(model_dir, run_dir):
    events: list[dict] = []
    recipe = make_recipe(model_dir, run_dir, small_config(**RESUME_CONFIG), events)
    recipe.setup()
    resumed_at = recipe.step
    recipe.train()
    return resumed_at, step_losses(events), read_checkpoint(latest_checkpoint(run_dir / "checkpoints")).adapter


def _assert_same_after(resumed_at, losses, adapter, uninterrupted):
    expected_losses, expected_adapter = uninterrupted
    assert sorted(losses) == [s for s in sorted(expected_losses) if s > resumed_at]
    for step, loss in losses.items():
        assert loss == pytest.approx(expected_losses[step], abs=1e-6, rel=0), step
    for name, tensor in expected_adapter.items():
        torch.testing.assert_close(adapter[name], tensor, atol=1e-6, rtol=0)


def test_resume_after_a_crash_replays_the_same_losses(model_dir, tmp_path, uninterrupted):
    def crash_after_checkpoint_6(event):
        if event["type"] == "checkpoint" and event["step"] == 6:
            raise SimulatedCrash("power cut")

    recipe = make_recipe(model_dir, tmp_path, small_config(**RESUME_CONFIG))
    recipe.event_sink = crash_after_checkpoint_6
    recipe.setup()
    with pytest.raises(SimulatedCrash):
        recipe.train()

    resumed_at, losses, adapter = _resume(model_dir, tmp_path)
    assert resumed_at == 6
    _assert_same_after(resumed_at, losses, adapter, uninterrupted)
    state = json.loads((latest_checkpoint(tmp_path / "checkpoints") / STATE_FILE).read_text())
    assert state["step"] == 14 and len(state["metrics_history"]) == 14


@pytest.mark.slow
def test_resume_after_sigkill_of_the_worker_process(model_dir, tmp_path, uninterrupted):
    config = small_config(**RESUME_CONFIG).to_dict()
    write_run_spec(tmp_path, config=config, model_path=model_dir, train_rows=TRAIN_ROWS,
                   validation_rows=VALIDATION_ROWS, device="cpu", num_threads=torch.get_num_threads())
    child = multiprocessing.get_context("spawn").Process(target=run_training, args=(tmp_path,))
    child.start()
    deadline = time.monotonic() + 120
    while not list_checkpoints(tmp_path / "checkpoints") and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert child.exitcode == -signal.SIGKILL
    events = [json.loads(line) for line in (tmp_path / EVENTS_FILE).read_text().splitlines()]
    assert not [e for e in events if e["type"] == "state" and e["state"] != "running"], "killed before the end"

    resumed_at, losses, adapter = _resume(model_dir, tmp_path)
    assert 3 <= resumed_at < 14, resumed_at
    print(f"killed mid-run, resumed from step {resumed_at}")
    _assert_same_after(resumed_at, losses, adapter, uninterrupted)


def test_atomic_checkpoints_keep_the_newest(model_dir, tmp_path):
    events: list[dict] = []
    recipe = make_recipe(model_dir, tmp_path, small_config(save_steps=2, keep_checkpoints=2), events,
                         validation=False)
    recipe.setup()
    recipe.train()
    checkpoints = tmp_path / "checkpoints"
    assert [p.name for p in list_checkpoints(checkpoints)] == ["checkpoint-10", "checkpoint-12"]
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [2, 4, 6, 8, 10, 12]
    files = {p.name for p in (checkpoints / "checkpoint-12").iterdir()}
    assert files == {"adapter_model.safetensors", "adapter_config.json", "optimizer.pt", "scheduler.pt",
                     "rng_state.pt", STATE_FILE}
    state = read_checkpoint(checkpoints / "checkpoint-12")
    assert state.step == 12 and state.trainer["epoch"] == 1 and state.trainer["example_index"] == 0
    assert state.trainer["shuffle_seed"] == 7 and "exp_avg" in str(state.optimizer["state"][0].keys())

    # A save that died before its rename, and a directory without the state file, are never resumed from.
    (checkpoints / ".tmp-checkpoint-14-999").mkdir()
    (checkpoints / "checkpoint-16").mkdir()
    assert latest_checkpoint(checkpoints).name == "checkpoint-12"


def test_rng_state_round_trip():
    import random

    import numpy as np

    state = capture_rng_state()
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    torch.save(state, "/dev/null")  # serialisable
    restore_rng_state(state)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected
