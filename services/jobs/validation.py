"""Hyperparameter validation: errors for impossible values, warnings with the guide's Stage 3 guidance.

Errors come from the trainer's own checks (`TrainingConfig`), one parameter at a time so that every bad
value is reported, plus what a configuration UID cannot hold. Warnings follow the guide:
- learning rate by model size: 7B+ 1e-5..5e-5, 1-7B 5e-5..2e-4, <1B 1e-4..5e-4;
- epochs by dataset size: >10k rows 1-3, 1k-10k 3-5, <1k 5-10;
- batch size and gradient accumulation from the model's memory estimate on this machine
  (`services.common.memory`, with the model's size and shape as the catalog reports them), with the
  guide's advice: the largest power-of-two batch that fits and the accumulation that keeps an effective
  batch of 32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import InvalidArgument
from services.common.hyperparameters import TrainingConfig
from services.common.memory import MachineMemory, estimate_lora_memory, format_bytes
from services.jobs import uid as uid_codec

TARGET_EFFECTIVE_BATCH = 32  # the guide's Memory Optimization target
MAX_SUGGESTED_BATCH = 128
LR_BANDS = (  # (smallest parameter count, low, high, label)
    (7e9, 1e-5, 5e-5, "large models (7B+)"),
    (1e9, 5e-5, 2e-4, "medium models (1-7B)"),
    (0, 1e-4, 5e-4, "small models (<1B)"),
)
EPOCH_BANDS = (  # (more than this many rows, low, high, label)
    (10_000, 1, 3, "large datasets (>10k rows)"),
    (1_000, 3, 5, "medium datasets (1k-10k rows)"),
    (-1, 5, 10, "small datasets (<1k rows)"),
)


@dataclass
class Issue:
    field: str
    code: str
    message: str
    suggested_value: str = ""


@dataclass(frozen=True)
class ModelProfile:
    """What the guidance needs to know about a model (the catalog's answer); any part may be unknown."""

    model_id: str
    parameters: int | None
    hidden_size: int | None = None
    num_layers: int | None = None
    vocab_size: int | None = None


@dataclass
class ValidationReport:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    normalized: dict[str, Any] | None = None  # every value, when there are no errors
    uid: str = ""
    suggested: dict[str, Any] | None = None  # batch_size, gradient_accumulation_steps
    estimated_memory_bytes: int = 0
    available_memory_bytes: int = 0

    @property
    def valid(self) -> bool:
        return not self.errors


def validate_hyperparameters(
    values: dict[str, Any],
    *,
    mode: str = "manual",
    profile: ModelProfile | None = None,
    dataset_rows: int | None = None,
    memory: MachineMemory | None = None,
) -> ValidationReport:
    """Check `values` (parameter name -> value; unset ones absent). Never raises for a bad value."""
    report = ValidationReport()
    report.errors = value_errors(values)
    if report.errors:
        return report
    full = uid_codec.normalize(values)
    report.normalized = full
    report.uid = uid_codec.encode(full, mode)
    report.warnings += _rounding(values, full)
    if profile is not None and profile.parameters:
        report.warnings += _learning_rate_guidance(full, profile.parameters)
        if memory is not None:
            report.warnings += _memory_guidance(full, profile, memory, report)
    if dataset_rows:
        report.warnings += _epoch_guidance(full, dataset_rows)
        report.warnings += _warmup_guidance(full, dataset_rows)
    report.warnings += _general_guidance(full)
    return report


def check_or_raise(values: dict[str, Any], *, what: str = "hyperparameters") -> None:
    """InvalidArgument listing every impossible value (reason INVALID_HYPERPARAMETERS, one metadata entry each)."""
    errors = value_errors(values)
    if errors:
        raise InvalidArgument(
            f"{what} are not valid: " + "; ".join(e.message for e in errors),
            reason="INVALID_HYPERPARAMETERS",
            metadata={f"{what}.{e.field}" if e.field else what: e.message for e in errors},
        )


def value_errors(values: dict[str, Any]) -> list[Issue]:
    """One Issue per impossible value (unknown name, wrong type, out of the trainer's range or the UID's)."""
    errors: list[Issue] = []
    for name, value in values.items():
        if value is None:
            continue
        if name not in uid_codec.PARAMETERS:
            errors.append(Issue(name, "UNKNOWN_PARAMETER",
                                f"{name} is not a training parameter; known parameters: {', '.join(sorted(uid_codec.PARAMETERS))}"))
            continue
        try:  # the trainer's own coercion and range, with every other parameter at its default
            checked = TrainingConfig.from_dict({name: value}).to_dict()[name]
        except InvalidArgument as exc:
            errors.append(Issue(name, "INVALID_VALUE", exc.message, exc.metadata.get("allowed", "")))
            continue
        if name in uid_codec.UID_FIELDS:
            low, high = uid_codec.representable_range(name)
            if not low - low / 2 <= checked <= high:
                errors.append(Issue(name, "INVALID_VALUE",
                                    f"{name} must be between {low:g} and {high:g} (what a configuration UID holds), got {checked}",
                                    f"{low:g} to {high:g}"))
    return errors


def _rounding(values: dict[str, Any], full: dict[str, Any]) -> list[Issue]:
    out = []
    for name in ("learning_rate", "lora_alpha"):
        given = values.get(name)
        if given is not None and not math.isclose(float(given), full[name], rel_tol=1e-12, abs_tol=0):
            message = f"{name} {given} was rounded to {full[name]:g}, the precision a configuration UID keeps"
            out.append(Issue(name, "VALUE_ROUNDED", message, f"{full[name]:g}"))
    return out


def learning_rate_band(parameters: int) -> tuple[float, float, str]:
    return next((low, high, label) for floor, low, high, label in LR_BANDS if parameters >= floor)


def epoch_band(rows: int) -> tuple[int, int, str]:
    return next((low, high, label) for floor, low, high, label in EPOCH_BANDS if rows > floor)


def _learning_rate_guidance(full: dict[str, Any], parameters: int) -> list[Issue]:
    low, high, label = learning_rate_band(parameters)
    lr = full["learning_rate"]
    if low <= lr <= high:
        return []
    direction = "above" if lr > high else "below"
    risk = "training may diverge or forget what the model knew" if lr > high else "training may barely move the loss"
    return [Issue("learning_rate", "LEARNING_RATE_OUTSIDE_GUIDANCE",
                  f"learning_rate {lr:g} is {direction} the guide's {low:g} to {high:g} for {label}: {risk}",
                  f"{min(max(lr, low), high):g}")]


def _epoch_guidance(full: dict[str, Any], rows: int) -> list[Issue]:
    low, high, label = epoch_band(rows)
    epochs = full["epochs"]
    if low <= epochs <= high or full.get("max_steps"):
        return []
    risk = "the model may overfit" if epochs > high else "the model may not see the data often enough"
    return [Issue("epochs", "EPOCHS_OUTSIDE_GUIDANCE",
                  f"epochs {epochs} is outside the guide's {low} to {high} for {label} ({rows} rows): {risk}",
                  str(min(max(epochs, low), high)))]


def total_steps(full: dict[str, Any], rows: int, gpu_count: int = 0) -> int:
    per_step = full["batch_size"] * full["gradient_accumulation_steps"] * max(1, gpu_count)
    steps = math.ceil(rows / per_step) * full["epochs"]
    return min(steps, full["max_steps"]) if full.get("max_steps") else steps


def _warmup_guidance(full: dict[str, Any], rows: int) -> list[Issue]:
    steps = total_steps(full, rows)
    warmup = full["warmup_steps"] or math.ceil(full["warmup_ratio"] * steps)
    if warmup * 2 <= steps:
        return []
    suggested = max(0, steps // 10)
    return [Issue("warmup_steps", "WARMUP_TOO_LONG",
                  f"{warmup} warmup steps are more than half of the run's {steps} steps: the learning rate would "
                  "spend most of the run ramping up; use about 10% of the steps", str(suggested))]


def _memory_guidance(full: dict[str, Any], profile: ModelProfile, memory: MachineMemory, report: ValidationReport) -> list[Issue]:
    device, available = memory.training_device()
    dtype_bytes = 2 if memory.gpus else 4
    targets = full["target_modules"]
    num_targets = 7 if targets == ["all-linear"] else len(targets)

    def need(batch: int) -> int:
        return estimate_lora_memory(
            profile.parameters, dtype_bytes=dtype_bytes, hidden_size=profile.hidden_size, num_layers=profile.num_layers,
            vocab_size=profile.vocab_size, batch_size=batch, seq_len=full["max_seq_length"], lora_r=full["lora_r"],
            num_lora_targets=num_targets,
        ).total_bytes

    report.estimated_memory_bytes, report.available_memory_bytes = need(full["batch_size"]), available
    fits = 0
    batch = 1
    while batch <= MAX_SUGGESTED_BATCH and need(batch) <= available:
        fits, batch = batch, batch * 2
    if fits == 0:
        report.suggested = None
        return [Issue("batch_size", "MODEL_TOO_LARGE_FOR_MEMORY",
                      f"{profile.model_id} needs about {format_bytes(need(1))} to train even at batch size 1 with "
                      f"{full['max_seq_length']} tokens, but {device} has {format_bytes(available)} free: pick a smaller "
                      "model, shorten max_seq_length, or lower lora_r", "1")]
    accumulation = max(1, TARGET_EFFECTIVE_BATCH // fits)
    report.suggested = {"batch_size": fits, "gradient_accumulation_steps": accumulation}
    if report.estimated_memory_bytes <= available:
        return []
    effective = full["batch_size"] * full["gradient_accumulation_steps"]
    keep = max(1, effective // fits)
    return [Issue("batch_size", "BATCH_TOO_LARGE_FOR_MEMORY",
                  f"batch_size {full['batch_size']} needs about {format_bytes(report.estimated_memory_bytes)} with "
                  f"{full['max_seq_length']} tokens, but {device} has {format_bytes(available)} free: use batch_size {fits} "
                  f"with gradient_accumulation_steps {keep} (the same effective batch of {fits * keep})", str(fits))]


def _general_guidance(full: dict[str, Any]) -> list[Issue]:
    out = []
    ratio = full["lora_alpha"] / full["lora_r"]
    if not 0.5 <= ratio <= 4:
        out.append(Issue("lora_alpha", "LORA_ALPHA_RATIO",
                         f"lora_alpha / lora_r is {ratio:g}; it is usually 1 to 2 (the guide uses r 16 with alpha 32), "
                         "and a far larger or smaller scale destabilises or stalls training", f"{2 * full['lora_r']:g}"))
    if full["max_grad_norm"] == 0:
        out.append(Issue("max_grad_norm", "GRADIENT_CLIPPING_DISABLED",
                         "max_grad_norm 0 turns gradient clipping off; the guide's convergence advice is to keep it on (1.0)",
                         "1.0"))
    if full["lora_dropout"] > 0.3:
        out.append(Issue("lora_dropout", "HIGH_LORA_DROPOUT",
                         f"lora_dropout {full['lora_dropout']:g} is high; 0.05 to 0.1 is usual (the guide uses 0.1)", "0.1"))
    return out
