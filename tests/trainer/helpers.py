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


def tiny_model_of_family(kind: str):
    """A two-layer model built from a config with grouped-query attention (2 key/value heads for 4 query
    heads): `gqa` a Llama, `qwen2` a Qwen2 (biases on q, k and v)."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(1)
    common = dict(vocab_size=259, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                  attn_implementation="sdpa")
    if kind == "gqa":
        return LlamaForCausalLM(LlamaConfig(**common))
    return Qwen2ForCausalLM(Qwen2Config(**common))


def with_nonzero_lora_b(model, std: float = 0.02):
    """LoRA B drawn from N(0, std) instead of zeros, so that the adapter takes part in a comparison."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, std)
    return model


def long_packed_batch(tokenizer):
    """Three short rows and two of 150-300 bytes per field, packed into one row."""
    from services.trainer.data import collate, tokenize_rows

    rows = TRAIN_ROWS[:3] + synthetic_rows(2, seed=6, min_length=150, max_length=300)
    return collate(tokenize_rows(tokenizer, rows, 1024).examples, packed=True)


def logits_and_lora_grads(module, model, batch, seed: int | None = None):
    """A packed training forward of `module` (a TrainingForward over `model`) and the LoRA gradients of its
    summed loss; with `seed`, torch's generator is seeded first (the same dropout masks each call)."""
    model.zero_grad(set_to_none=True)
    if seed is not None:
        torch.manual_seed(seed)
    logits = module(batch.input_ids, batch.position_ids, None, batch.loss_mask, batch.seq_lens, True,
                    batch.example_of_target)
    torch.nn.functional.cross_entropy(logits, batch.targets, reduction="sum").backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])
    model.zero_grad(set_to_none=True)
    return logits.detach(), grads
