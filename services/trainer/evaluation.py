"""End-of-run evaluation (validation loss, perplexity, BLEU, sample generations) and training diagnostics.

`diagnose(metrics_history, config)` applies the guide's Troubleshooting rules to a run's metrics and
returns findings a person can act on; it is a pure function of its inputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from services.common.hyperparameters import TrainingConfig
from services.trainer.data import collate
from services.trainer.generation import generate_text
from services.trainer.modeling import autocast_for, summed_loss
from services.trainer.prompting import EncodedExample


@torch.no_grad()
def loss_sums(model, examples: list[EncodedExample], batch_size: int, device, *, packed: bool,
              pad_token_id: int) -> tuple[float, int]:
    """(summed token loss, number of target tokens) over `examples`, in micro-batches like training."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        batch = collate(chunk, packed=packed, pad_token_id=pad_token_id).to(device)
        with autocast_for(device):
            total += float(summed_loss(model, batch))
        count += batch.num_targets
    model.train(was_training)
    return total, count


def perplexity(loss: float) -> float:
    try:
        return math.exp(loss)
    except OverflowError:
        return float("inf")


def bleu_and_samples(model, tokenizer, rows: list[dict], *, max_rows: int, max_new_tokens: int,
                     num_samples: int) -> dict:
    """Greedy generations for up to `max_rows` validation rows, scored with sacrebleu's corpus BLEU."""
    import sacrebleu

    rows = [r for r in rows if r.get("output")][:max_rows]
    if not rows:
        return {"bleu": None, "rows_scored": 0, "samples": []}
    was_training = model.training
    model.eval()
    predictions = [generate_text(model, tokenizer, str(r.get("input") or ""), max_new_tokens) for r in rows]
    model.train(was_training)
    references = [str(r["output"]) for r in rows]
    score = sacrebleu.corpus_bleu(predictions, [references]).score
    samples = [
        {"input": str(r.get("input") or ""), "expected": ref, "generated": pred}
        for r, ref, pred in list(zip(rows, references, predictions))[:num_samples]
    ]
    return {"bleu": score, "rows_scored": len(rows), "max_new_tokens": max_new_tokens, "samples": samples}


# --- diagnostics -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    code: str  # UPPER_SNAKE, stable for clients
    severity: str  # "info" | "warning" | "error"
    message: str
    suggestion: str

    def to_dict(self) -> dict:
        return asdict(self)


WINDOW = 10  # the guide looks at the last 10 logged steps
LARGE_MODEL_MILLIONS = 7000


def oom_suggestions(model_parameters_millions: float, batch_size: int) -> list[str]:
    """The guide's `handle_oom_error`: halve the batch, keep the effective batch with accumulation."""
    new_batch = max(1, batch_size // 2)
    suggestions = [
        f"Reduce batch size from {batch_size} to {new_batch}",
        f"Use gradient accumulation: {max(1, 32 // new_batch)} steps",
    ]
    if model_parameters_millions > LARGE_MODEL_MILLIONS:
        suggestions += [
            "Consider using LoRA with lower rank (r=8 or r=4)",
            "Enable gradient checkpointing",
            "Use fp16 or bf16 mixed precision",
        ]
    return suggestions


def trend(values: list[float]) -> float:
    """Least-squares slope per step (the guide's calculate_trend)."""
    n = len(values)
    if n < 2:
        return 0.0
    x_mean, y_mean = (n - 1) / 2, sum(values) / n
    denominator = sum((i - x_mean) ** 2 for i in range(n))
    return sum((i - x_mean) * (v - y_mean) for i, v in enumerate(values)) / denominator


def diagnose(metrics_history: list[dict], config: TrainingConfig | None = None, *,
             out_of_memory: bool = False, model_parameters_millions: float = 0.0) -> list[Finding]:
    config = config or TrainingConfig()
    findings: list[Finding] = []
    steps = [m for m in metrics_history if m.get("train_loss") is not None]
    losses = [float(m["train_loss"]) for m in steps]
    lr = config.learning_rate

    if out_of_memory:
        findings.append(Finding("OUT_OF_MEMORY", "error", "Training ran out of memory.",
                                "; ".join(oom_suggestions(model_parameters_millions, config.batch_size))))
    if any(math.isnan(v) or math.isinf(v) for v in losses):
        findings.append(Finding(
            "NUMERICAL_INSTABILITY", "error", "The training loss became NaN or infinite.",
            f"Numerical instability: reduce the learning rate (now {lr:g}), check the data, keep max_grad_norm > 0.",
        ))
        return findings  # the other rules are meaningless on non-finite numbers
    if len(losses) < 3:
        return findings or [Finding("INSUFFICIENT_DATA", "info", "Too few steps to judge the training.",
                                    "Train for more steps before drawing conclusions.")]

    oscillations = sum(1 for i in range(1, len(losses) - 1)
                       if (losses[i] > losses[i - 1]) != (losses[i + 1] > losses[i]))
    oscillating = oscillations > len(losses) * 0.5
    if oscillating:
        findings.append(Finding(
            "LEARNING_RATE_TOO_HIGH", "warning",
            f"The loss changes direction at {oscillations} of {len(losses) - 2} steps (more than half).",
            f"The learning rate may be too high: try reducing it by 10x (from {lr:g} to {lr / 10:g}).",
        ))

    recent = losses[-WINDOW:]
    quarter = max(1, len(losses) // 4)
    first, last = sum(losses[:quarter]) / quarter, sum(losses[-quarter:]) / quarter
    if not oscillating and len(losses) >= WINDOW and last >= first * 0.99:
        findings.append(Finding(
            "LOSS_NOT_DECREASING", "warning",
            f"The training loss is not decreasing (first steps {first:.4f}, last steps {last:.4f}).",
            f"The learning rate may be too low: try 2-10x higher than {lr:g}, more warmup steps, and check the data.",
        ))
    elif len(recent) >= WINDOW and all(a >= b for a, b in zip(recent, recent[1:])):
        findings.append(Finding(
            "STILL_IMPROVING", "info", f"The loss fell at each of the last {WINDOW} steps.",
            "Training had not converged: more epochs or a somewhat higher learning rate may help.",
        ))

    grad_norms = [float(m["grad_norm"]) for m in steps[-WINDOW:] if m.get("grad_norm") is not None]
    if len(grad_norms) >= 3:
        average = sum(grad_norms) / len(grad_norms)
        if average > 10:
            clip = "enable clipping with max_grad_norm=1.0" if config.max_grad_norm == 0 else (
                f"clipping is on (max_grad_norm={config.max_grad_norm:g}); lower the learning rate")
            findings.append(Finding("HIGH_GRADIENT_NORM", "warning",
                                    f"The average gradient norm over the last steps is {average:.3g} (> 10).",
                                    f"High gradient norms: {clip}."))
        elif average < 0.001:
            findings.append(Finding("VANISHING_GRADIENTS", "warning",
                                    f"The average gradient norm over the last steps is {average:.3g} (< 0.001).",
                                    f"Very low gradients: the learning rate ({lr:g}) may be too small."))

    if len(recent) >= WINDOW:
        slope = trend(recent)
        if slope > 0 and not oscillating:
            findings.append(Finding("LOSS_INCREASING", "warning", "The training loss is trending upward.",
                                    "Check for overfitting or a learning rate that is too high."))
        elif abs(slope) < 1e-6:
            findings.append(Finding("LOSS_PLATEAU", "info", "The training loss has plateaued.",
                                    "Consider learning-rate decay (a cosine or linear scheduler) or stopping."))

    evals = [float(m["validation_loss"]) for m in metrics_history if m.get("validation_loss") is not None]
    if len(evals) >= 3 and evals[-1] > min(evals) and evals[-1] > evals[-2] > evals[-3] and trend(recent) < 0:
        findings.append(Finding(
            "OVERFITTING", "warning", "Validation loss rose at the last two evaluations while the training loss fell.",
            "The model is overfitting: use fewer epochs, early stopping, more data or more dropout.",
        ))

    return findings or [Finding("HEALTHY", "info", "Training appears healthy.", "No action needed.")]
