"""The recipe end to end on the tiny model: events, evaluation, control commands, stopping, artifacts."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch

from services.trainer.artifacts import ArtifactOptions
from services.trainer.control import QueueControl
from services.trainer.generation import stream_generate
from tests.trainer.helpers import make_recipe, model_dir, small_config, step_losses  # noqa: F401 (fixture)

STEP_KEYS = {"type", "step", "epoch", "train_loss", "learning_rate", "grad_norm", "tokens_per_second",
             "samples_per_second", "elapsed_seconds", "eta_seconds", "percent_complete", "total_steps", "tokens",
             "time"}


def _run(model_dir, run_dir, config, control=None, **kwargs):
    events: list[dict] = []
    recipe = make_recipe(model_dir, run_dir, config, events, control, **kwargs)
    recipe.setup()
    try:
        result = recipe.train()
    finally:
        recipe.cleanup()
    return result, events


def _states(events):
    return [(e["state"], e["reason"]) for e in events if e["type"] == "state"]


def test_full_run_events_and_artifacts(model_dir, tmp_path):
    config = small_config(eval_steps=6, save_steps=6, warmup_steps=2, scheduler="cosine")
    result, events = _run(model_dir, tmp_path, config, artifacts=ArtifactOptions(
        save_model=True, eval_rows=4, sample_generations=2, max_new_tokens=12))

    assert result.state == "completed" and result.step == 12  # 48 rows / batch 4
    assert _states(events) == [("running", "started"), ("completed", "epochs_completed")]
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 13))
    assert all(set(e) == STEP_KEYS for e in steps)
    assert steps[-1]["percent_complete"] == 100.0 and steps[-1]["epoch"] == 1.0 and steps[-1]["eta_seconds"] == 0
    assert steps[0]["learning_rate"] == 0.0 and steps[1]["learning_rate"] == pytest.approx(5e-4)
    assert steps[-1]["train_loss"] < steps[0]["train_loss"]
    assert all(e["tokens_per_second"] > 0 and e["grad_norm"] > 0 for e in steps)
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [6, 12]
    assert evals[-1]["perplexity"] == pytest.approx(math.exp(evals[-1]["validation_loss"]))
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [6, 12]

    out = tmp_path / "artifacts"
    metrics = json.loads((out / "metrics.json").read_text())
    summary = metrics["summary"]
    assert summary["final_validation_loss"] == evals[-1]["validation_loss"]
    assert summary["bleu"] is not None and summary["bleu_rows"] == 4 and len(summary["samples"]) == 2
    assert set(summary["samples"][0]) == {"input", "expected", "generated"}
    assert summary["diagnostics"] and summary["truncated_examples"] >= 0
    summary_event = next(e for e in events if e["type"] == "summary")
    assert summary_event["samples"] == summary["samples"]  # the page shows them from the event, not the 5 MB file
    assert len((out / "metrics.csv").read_text().splitlines()) == 13
    assert (out / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "training_config.json").read_text())["config"]["scheduler"] == "cosine"
    assert (out / "adapter" / "adapter_model.safetensors").is_file()

    # The merged model works with plain transformers, and generates what the adapter generates.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    merged = AutoModelForCausalLM.from_pretrained(out / "model")
    generated = merged.generate(**tokenizer("### Input:\nhello", return_tensors="pt"), max_new_tokens=5,
                                do_sample=False)
    assert generated.shape[1] > 0
    prompt = "alpha bravo"
    from_merged = "".join(stream_generate(str(out / "model"), prompt, max_new_tokens=12))
    from_adapter = "".join(stream_generate(str(out / "adapter"), prompt, max_new_tokens=12))
    assert from_merged == from_adapter


def test_batch_semantics_do_not_depend_on_accumulation_or_packing(model_dir, tmp_path):
    """One step = the same 4 examples and the mean over their output tokens, however they are laid out."""
    base = dict(lora_dropout=0.0, max_steps=3, eval_steps=0)
    runs = {
        "packed": small_config(batch_size=4, **base),
        "accumulated": small_config(batch_size=2, gradient_accumulation_steps=2, **base),
        "padded": small_config(batch_size=4, packing=False, **base),
    }
    losses = {}
    for name, config in runs.items():
        _, events = _run(model_dir, tmp_path / name, config, validation=False)
        losses[name] = step_losses(events)
    for name in ("accumulated", "padded"):
        assert losses[name].keys() == losses["packed"].keys()
        for step, loss in losses["packed"].items():
            assert losses[name][step] == pytest.approx(loss, abs=1e-5), (name, step)


def test_control_commands(model_dir, tmp_path):
    control = QueueControl()
    events: list[dict] = []

    def sink(event):
        events.append(event)
        if event["type"] == "step" and event["step"] == 2:
            control.send("set_learning_rate", 5e-4)
            control.send("save_checkpoint")
            control.send("pause")
        elif event["type"] == "state" and event["state"] == "paused":
            control.send("resume")
        elif event["type"] == "step" and event["step"] == 4:
            control.send("cancel")

    recipe = make_recipe(model_dir, tmp_path, small_config(scheduler="constant"), None, control,
                         pause_poll_seconds=0.01)
    recipe.event_sink = sink
    recipe.setup()
    result = recipe.train()
    assert result.state == "cancelled" and result.step == 4
    assert _states(events) == [("running", "started"), ("paused", "pause_requested"), ("running", "resumed"),
                               ("cancelled", "cancel_requested")]
    lrs = {e["step"]: e["learning_rate"] for e in events if e["type"] == "step"}
    assert lrs[2] == pytest.approx(1e-3) and lrs[3] == pytest.approx(5e-4) and lrs[4] == pytest.approx(5e-4)
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [2]
    assert not (tmp_path / "artifacts").exists()  # cancelled: no artifacts


def test_stop_early_command_and_early_stopping(model_dir, tmp_path):
    # An improvement threshold no loss can meet: the first evaluation sets the best, two more stop the run.
    config = small_config(eval_steps=1, early_stopping_patience=2, early_stopping_threshold=100.0)
    result, events = _run(model_dir, tmp_path, config)
    assert (result.state, result.reason, result.step) == ("stopped_early", "early_stopping", 3)
    assert [e["step"] for e in events if e["type"] == "eval"] == [1, 2, 3]
    assert (tmp_path / "artifacts" / "adapter" / "adapter_model.safetensors").is_file()

    control = QueueControl()
    control.send("stop_early")
    result, events = _run(model_dir, tmp_path / "requested", small_config(), control)
    assert (result.state, result.reason, result.step) == ("stopped_early", "stop_requested", 0)


def test_timeout_saves_a_checkpoint_and_fails(model_dir, tmp_path):
    events: list[dict] = []

    def slow_sink(event):
        events.append(event)
        if event["type"] == "step":
            time.sleep(0.15)

    recipe = make_recipe(model_dir, tmp_path, small_config(timeout_seconds=0.25), None)
    recipe.event_sink = slow_sink
    recipe.setup()
    result = recipe.train()
    assert (result.state, result.reason) == ("failed", "timeout") and 1 <= result.step < 12
    assert events[-1]["type"] == "state" and events[-1]["state"] == "failed"
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [result.step]
    assert (tmp_path / "artifacts" / "metrics.json").is_file()


def test_out_of_memory_is_reported_with_the_guides_advice(model_dir, tmp_path, monkeypatch):
    import services.trainer.recipe as recipe_module

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(recipe_module, "summed_loss", oom)
    events: list[dict] = []
    recipe = make_recipe(model_dir, tmp_path, small_config(batch_size=8), events)
    recipe.setup()
    with pytest.raises(torch.OutOfMemoryError):
        recipe.train()
    alert = next(e for e in events if e["type"] == "alert")
    assert alert["code"] == "OUT_OF_MEMORY" and "Reduce batch size from 8 to 4" in alert["suggestion"]
    assert _states(events)[-1] == ("failed", "out_of_memory")


def test_sample_texts_in_the_summary_event_are_clipped():
    from services.trainer.recipe import SAMPLE_EVENT_CHARS, _clipped

    sample = _clipped({"input": "x" * (SAMPLE_EVENT_CHARS + 5), "expected": "short", "generated": ""})
    assert sample == {"input": "x" * SAMPLE_EVENT_CHARS + "…", "expected": "short", "generated": ""}
