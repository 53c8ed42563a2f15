"""Hyperparameter validation: every impossible value reported at once, and the guide's guidance as warnings."""

from __future__ import annotations

import pytest

from services.common.memory import GpuMemory, MachineMemory
from services.jobs import search_space
from services.jobs.validation import ModelProfile, validate_hyperparameters

GIB = 2**30


def codes(issues):
    return {i.code for i in issues}


def test_good_values_are_valid_and_normalised():
    report = validate_hyperparameters({"learning_rate": 2e-4, "batch_size": 8, "epochs": 3})
    assert report.valid and report.uid == "0003000200000000800160320m"
    assert report.normalized["lora_r"] == 16 and report.normalized["optimizer"] == "adamw"


def test_every_impossible_value_is_reported():
    report = validate_hyperparameters({"learning_rate": 1.5, "batch_size": 0, "epochs": -1, "lora_dropout": 1.0,
                                       "optimizer": "rmsprop", "lora_alpha": 5000, "bogus": 1, "warmup_ratio": "x"})
    assert not report.valid and report.normalized is None
    by_field = {i.field: i for i in report.errors}
    assert set(by_field) == {"learning_rate", "batch_size", "epochs", "lora_dropout", "optimizer", "lora_alpha", "bogus", "warmup_ratio"}
    assert "learning_rate must be in (0.0, 1.0" in by_field["learning_rate"].message
    assert "adamw" in by_field["optimizer"].message
    assert by_field["bogus"].code == "UNKNOWN_PARAMETER"
    assert "configuration UID" in by_field["lora_alpha"].message


@pytest.mark.parametrize("parameters,lr,warned", [
    (8_030_261_248, 2e-4, True),  # large: 1e-5..5e-5
    (8_030_261_248, 3e-5, False),
    (3_000_000_000, 1e-4, False),  # medium: 5e-5..2e-4
    (3_000_000_000, 1e-3, True),
    (3_300_000, 2e-4, False),  # small: 1e-4..5e-4
    (3_300_000, 1e-5, True),
])
def test_learning_rate_guidance_by_model_size(parameters, lr, warned):
    report = validate_hyperparameters({"learning_rate": lr}, profile=ModelProfile("org/model", parameters))
    assert ("LEARNING_RATE_OUTSIDE_GUIDANCE" in codes(report.warnings)) == warned
    if warned:
        issue = next(i for i in report.warnings if i.code == "LEARNING_RATE_OUTSIDE_GUIDANCE")
        assert "the guide's" in issue.message and issue.suggested_value


@pytest.mark.parametrize("rows,epochs,warned", [(50_000, 3, False), (50_000, 5, True), (5_000, 4, False), (5_000, 1, True),
                                                (500, 3, True), (500, 8, False)])
def test_epoch_guidance_by_dataset_size(rows, epochs, warned):
    report = validate_hyperparameters({"epochs": epochs}, dataset_rows=rows)
    assert ("EPOCHS_OUTSIDE_GUIDANCE" in codes(report.warnings)) == warned


def test_batch_size_guidance_from_the_memory_estimate():
    profile = ModelProfile("org/model-7B", 7_000_000_000)
    roomy = MachineMemory(256 * GIB, 200 * GIB, [GpuMemory(0, "big", 80 * GIB, 80 * GIB)])
    report = validate_hyperparameters({"batch_size": 8, "max_seq_length": 512}, profile=profile, memory=roomy)
    assert "BATCH_TOO_LARGE_FOR_MEMORY" not in codes(report.warnings)
    assert report.suggested["batch_size"] >= 8 and report.suggested["gradient_accumulation_steps"] == max(1, 32 // report.suggested["batch_size"])

    tight = MachineMemory(64 * GIB, 30 * GIB, [GpuMemory(0, "small", 40 * GIB, 40 * GIB)])
    report = validate_hyperparameters({"batch_size": 64, "max_seq_length": 2048}, profile=profile, memory=tight)
    issue = next(i for i in report.warnings if i.code == "BATCH_TOO_LARGE_FOR_MEMORY")
    fits = report.suggested["batch_size"]
    assert fits < 64 and issue.suggested_value == str(fits)
    assert f"use batch_size {fits} with gradient_accumulation_steps {64 // fits}" in issue.message
    assert report.estimated_memory_bytes > report.available_memory_bytes > 0

    nothing_fits = MachineMemory(8 * GIB, 4 * GIB)
    report = validate_hyperparameters({}, profile=ModelProfile("org/model-70B", 70_000_000_000), memory=nothing_fits)
    assert "MODEL_TOO_LARGE_FOR_MEMORY" in codes(report.warnings) and report.suggested is None


def test_general_guidance():
    report = validate_hyperparameters({"lora_r": 8, "lora_alpha": 128, "max_grad_norm": 0, "lora_dropout": 0.5,
                                       "learning_rate": 0.00012345678912}, dataset_rows=100)
    assert {"LORA_ALPHA_RATIO", "GRADIENT_CLIPPING_DISABLED", "HIGH_LORA_DROPOUT", "VALUE_ROUNDED"} <= codes(report.warnings)
    report = validate_hyperparameters({"warmup_steps": 500, "epochs": 6}, dataset_rows=100)  # 13 steps per epoch
    assert "WARMUP_TOO_LONG" in codes(report.warnings)


def test_search_space_checks():
    good = [{"parameter": "learning_rate", "min": 1e-5, "max": 1e-3, "log_scale": True},
            {"parameter": "lora_r", "values": [8, 16]}, {"parameter": "optimizer", "choices": ["adamw", "sgd"]}]
    assert search_space.check_ranges(good, {}) == []
    assert search_space.grid(good) == {"learning_rate": [1e-5, 1e-4, 1e-3], "lora_r": [8, 16], "optimizer": ["adamw", "sgd"]}
    assert search_space.grid_size(good) == 12
    bad = [{"parameter": "learning_rate", "min": 1e-3, "max": 1e-5}, {"parameter": "lora_r", "min": 4.5, "max": 8},
           {"parameter": "optimizer", "values": [1.0]}, {"parameter": "nope", "min": 1, "max": 2},
           {"parameter": "batch_size", "min": 0, "max": 8}, {"parameter": "target_modules", "choices": ["q_proj"]},
           {"parameter": "epochs", "values": [1, 2]}, {"parameter": "lora_dropout"}]
    problems = dict(search_space.check_ranges(bad, {"epochs": 3}))
    assert "min 0.001 is greater than max" in problems["search_space.learning_rate"]
    assert "whole number" in problems["search_space.lora_r"]
    assert "list its choices" in problems["search_space.optimizer"]
    assert "not a training parameter" in problems["search_space.nope"]
    assert "batch_size must be in [1, 4096]" in problems["search_space.batch_size"]
    assert "cannot be searched" in problems["search_space.target_modules"]
    assert "both as a fixed value and as a range" in problems["search_space.epochs"]
    assert "needs min and max" in problems["search_space.lora_dropout"]
    assert search_space.check_ranges([], {}) == [("search_space", "give at least one parameter range to search")]
