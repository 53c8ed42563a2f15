"""diagnose(): the guide's Troubleshooting rules as a pure function of the metrics history."""

from __future__ import annotations

import math

from services.common.hyperparameters import TrainingConfig
from services.trainer.evaluation import diagnose, oom_suggestions, trend


def _history(losses, grad_norm=1.0, validation=None):
    history = [{"step": i + 1, "train_loss": loss, "grad_norm": grad_norm} for i, loss in enumerate(losses)]
    for step, value in (validation or {}).items():
        history[step - 1]["validation_loss"] = value
    return history


def codes(findings):
    return {f.code for f in findings}


def test_healthy_run():
    losses = [1.0 + 2.0 * math.exp(-i / 4) + (0.01 if i % 3 == 0 else 0.0) for i in range(20)]
    assert codes(diagnose(_history(losses))) == {"HEALTHY"}


def test_nan_is_numerical_instability():
    findings = diagnose(_history([2.0, 1.9, math.nan, 1.8]))
    assert codes(findings) == {"NUMERICAL_INSTABILITY"} and findings[0].severity == "error"


def test_oscillation_suggests_a_10x_lower_learning_rate():
    losses = [2.0 if i % 2 else 1.0 for i in range(20)]
    findings = diagnose(_history(losses), TrainingConfig(learning_rate=3e-4))
    assert "LEARNING_RATE_TOO_HIGH" in codes(findings)
    assert "3e-05" in next(f for f in findings if f.code == "LEARNING_RATE_TOO_HIGH").suggestion


def test_flat_loss_is_not_decreasing_and_plateau():
    found = codes(diagnose(_history([2.0] * 20)))
    assert {"LOSS_NOT_DECREASING", "LOSS_PLATEAU"} <= found


def test_steady_fall_at_the_end_is_still_improving():
    assert "STILL_IMPROVING" in codes(diagnose(_history([3.0 - 0.05 * i for i in range(20)])))


def test_gradient_norm_rules():
    assert "HIGH_GRADIENT_NORM" in codes(diagnose(_history([3.0 - 0.01 * i for i in range(12)], grad_norm=50.0)))
    assert "VANISHING_GRADIENTS" in codes(diagnose(_history([3.0 - 0.01 * i for i in range(12)], grad_norm=1e-5)))


def test_increasing_loss_and_overfitting():
    assert "LOSS_INCREASING" in codes(diagnose(_history([1.0 + 0.05 * i for i in range(12)])))
    falling = [3.0 - 0.1 * i for i in range(12)]
    found = codes(diagnose(_history(falling, validation={3: 2.0, 6: 2.1, 9: 2.2, 12: 2.3})))
    assert "OVERFITTING" in found


def test_oom_advice_follows_the_guide():
    assert oom_suggestions(3.3, 8) == ["Reduce batch size from 8 to 4", "Use gradient accumulation: 8 steps"]
    assert "Enable gradient checkpointing" in oom_suggestions(8000, 1)
    findings = diagnose([], TrainingConfig(batch_size=8), out_of_memory=True, model_parameters_millions=8000)
    assert findings[0].code == "OUT_OF_MEMORY" and "r=8 or r=4" in findings[0].suggestion


def test_trend_is_the_least_squares_slope():
    assert abs(trend([1.0, 2.0, 3.0]) - 1.0) < 1e-12 and trend([5.0]) == 0.0
