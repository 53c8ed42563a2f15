"""What a finished run leaves in `<run_dir>/artifacts/`.

- `adapter/`: `adapter_model.safetensors` + `adapter_config.json` (+ the tokenizer), for peft;
- `model/` (only with `save_model`): the LoRA merged into the base weights (`merge_and_unload`) with
  the tokenizer, loadable by `AutoModelForCausalLM` / `AutoTokenizer.from_pretrained` unchanged;
- `training_config.json`: the TrainingConfig and the run's inputs;
- `metrics.json`: summary (final losses, perplexity, BLEU, samples, diagnostics, throughput) and the
  full metrics history; `metrics.csv`: one row per logged step and evaluation;
- `train.log`: the run's log; `loss_curve.png`: training and validation loss by step.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

CSV_COLUMNS = ("step", "epoch", "train_loss", "validation_loss", "perplexity", "learning_rate", "grad_norm",
               "tokens", "tokens_per_second", "elapsed_seconds")


@dataclass(frozen=True)
class ArtifactOptions:
    save_model: bool = False  # also write the merged full model
    model_name: str = "model"
    eval_rows: int = 16  # validation rows generated and scored with BLEU
    sample_generations: int = 3
    max_new_tokens: int = 32

    @classmethod
    def from_dict(cls, data: dict | None) -> ArtifactOptions:
        data = dict(data or {})
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=True, default=str))


def write_metrics(artifacts_dir: Path, summary: dict, history: list[dict]) -> None:
    write_json(artifacts_dir / "metrics.json", {"summary": summary, "history": history})
    with open(artifacts_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow(row)


def plot_loss_curve(path: Path, history: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(m["step"], m["train_loss"]) for m in history if m.get("train_loss") is not None]
    val = [(m["step"], m["validation_loss"]) for m in history if m.get("validation_loss") is not None]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train), label="train loss", linewidth=1.2)
    if val:
        ax.plot(*zip(*val), "o-", label="validation loss", linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.grid(alpha=0.3)
    if train or val:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def copy_log(log_file: Path, artifacts_dir: Path) -> None:
    if log_file.is_file():
        shutil.copyfile(log_file, artifacts_dir / "train.log")


def save_adapter_artifact(artifacts_dir: Path, model, tokenizer) -> Path:
    from services.trainer.checkpoint import save_adapter

    target = artifacts_dir / "adapter"
    target.mkdir(parents=True, exist_ok=True)
    save_adapter(target, model)
    tokenizer.save_pretrained(str(target))
    return target


def save_merged_model(artifacts_dir: Path, model, tokenizer) -> Path:
    """Merges in place: call it last, after everything that needs the adapter separate."""
    target = artifacts_dir / "model"
    merged = model.merge_and_unload()
    merged.save_pretrained(str(target), safe_serialization=True)
    tokenizer.save_pretrained(str(target))
    return target
