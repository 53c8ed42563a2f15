"""Built-in offline models: tiny Llama causal LMs built from a config, with a byte-level tokenizer."""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

BUILTIN_PREFIX = "finetune-builtin/"
SPECIAL_TOKENS = ("<|pad|>", "<|bos|>", "<|eos|>")
SEED = 1234


@dataclass(frozen=True)
class BuiltinModel:
    """A model the suite builds locally so that everything works without a network."""

    id: str
    name: str
    description: str
    hidden_size: int
    num_layers: int
    intermediate_size: int
    num_heads: int

    @property
    def slug(self) -> str:
        return self.id.removeprefix(BUILTIN_PREFIX)


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.id: m
    for m in (
        BuiltinModel(
            id=BUILTIN_PREFIX + "tiny-llama-3m",
            name="Tiny Llama 3M (built-in)",
            description="A 3.3M-parameter Llama built locally from a config; for tests and CPU smoke runs.",
            hidden_size=256,
            num_layers=4,
            intermediate_size=688,
            num_heads=4,
        ),
        BuiltinModel(
            id=BUILTIN_PREFIX + "small-llama-25m",
            name="Small Llama 25M (built-in)",
            description="A 25M-parameter Llama built locally from a config; for demos on a CPU.",
            hidden_size=512,
            num_layers=8,
            intermediate_size=1376,
            num_heads=8,
        ),
    )
}
TINY_MODEL_ID = BUILTIN_PREFIX + "tiny-llama-3m"


def is_builtin(model_id: str) -> bool:
    return model_id in BUILTIN_MODELS


def build_tokenizer():
    """A byte-level BPE tokenizer with no merges: every byte is a token, so any text round-trips."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|pad|>",
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        model_max_length=2048,
    )


def build_model(spec: BuiltinModel, tokenizer):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    # Seeded so the same id always gives the same weights, on any machine.
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        return LlamaForCausalLM(config)


def builtin_model_dir(data_dir: Path, model_id: str) -> Path:
    return Path(data_dir) / "models" / "builtin" / BUILTIN_MODELS[model_id].slug


def ensure_builtin_model(data_dir: Path, model_id: str = TINY_MODEL_ID) -> Path:
    """Build the model on first use and return its directory; later calls only check the marker.

    Safe across processes: a file lock keeps two services from writing the same directory at once.
    """
    spec = BUILTIN_MODELS[model_id]
    target = builtin_model_dir(data_dir, model_id)
    marker = target / "finetune_builtin.json"
    if marker.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{spec.slug}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return target
        model = save_model(spec, target)
        marker.write_text(json.dumps({"id": spec.id, "parameters": model.num_parameters(), "seed": SEED}))
    return target


def save_model(spec: BuiltinModel, target: Path):
    """Build the model of `spec` with the byte-level tokenizer and save both to `target`; returns the model."""
    tokenizer = build_tokenizer()
    model = build_model(spec, tokenizer)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return model


def builtin_parameters(model_id: str) -> int:
    """Parameter count computed from the spec, without building the model."""
    spec = BUILTIN_MODELS[model_id]
    vocab = 256 + len(SPECIAL_TOKENS)
    h, i, n = spec.hidden_size, spec.intermediate_size, spec.num_layers
    per_layer = 4 * h * h + 3 * h * i + 2 * h
    return 2 * vocab * h + n * per_layer + h
