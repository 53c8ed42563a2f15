"""Built-in offline models: tiny Llama causal LMs built from a config, with a byte-level tokenizer; one of
them is pretrained once per machine on a generated corpus (`pretraining.py`) and cached across data folders."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from services.catalog.pretraining import PretrainPlan

BUILTIN_PREFIX = "finetune-builtin/"
SPECIAL_TOKENS = ("<|pad|>", "<|bos|>", "<|eos|>")
SEED = 1234
MARKER = "finetune_builtin.json"


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
    # None: random weights from the seed. Otherwise pretrained with this plan once per machine (see `pretrained_dir`).
    pretrain: PretrainPlan | None = None

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
        BuiltinModel(
            id=BUILTIN_PREFIX + "pretrained-llama-1m",
            name="Pretrained Llama 0.9M (built-in)",
            description="A 0.9M-parameter Llama pretrained here once, offline and seeded, on a small generated corpus "
                        "of short English instructions; LoRA adapts it to a small dataset in seconds on a CPU (the demo).",
            hidden_size=128,
            num_layers=4,
            intermediate_size=352,
            num_heads=4,
            pretrain=PretrainPlan(),
        ),
    )
}
TINY_MODEL_ID = BUILTIN_PREFIX + "tiny-llama-3m"
PRETRAINED_MODEL_ID = BUILTIN_PREFIX + "pretrained-llama-1m"


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

    def make() -> None:
        if spec.pretrain is not None:
            _copy_model(ensure_pretrained(spec), target)
            return
        model = save_model(spec, target)
        (target / MARKER).write_text(json.dumps({"id": spec.id, "parameters": model.num_parameters(), "seed": SEED}))

    return _made_once(target, target.parent / f".{spec.slug}.lock", make)


def _made_once(target: Path, lock: Path, make: Callable[[], None]) -> Path:
    """`target`, made by `make` (which writes its marker last) unless it already has its marker; under a file
    lock, so that of several processes asking at once one makes it and the others wait for it."""
    if (target / MARKER).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (target / MARKER).exists():
            make()
    return target


def builtin_cache_dir() -> Path:
    """Where pretrained built-in models are kept for every data folder on this machine:
    `$FINETUNE_BUILTIN_CACHE_DIR`, else `$XDG_CACHE_HOME/finetune/builtin`, else `~/.cache/finetune/builtin`."""
    if os.environ.get("FINETUNE_BUILTIN_CACHE_DIR"):
        return Path(os.environ["FINETUNE_BUILTIN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "finetune" / "builtin"


def pretrained_dir(spec: BuiltinModel, cache_dir: Path | None = None) -> Path:
    """The cache folder of a pretrained model: named by its slug and a digest of everything that makes its
    weights (shape, seed, pretraining plan, corpus version), so a changed plan never reuses old weights."""
    key = json.dumps({"spec": {k: getattr(spec, k) for k in ("hidden_size", "num_layers", "intermediate_size",
                                                             "num_heads")},
                      "seed": SEED, "plan": spec.pretrain.as_dict()}, sort_keys=True)
    return (cache_dir or builtin_cache_dir()) / f"{spec.slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def ensure_pretrained(spec: BuiltinModel, cache_dir: Path | None = None) -> Path:
    """The pretrained model's cache folder, pretraining it first if no process on this machine has yet.

    The pretraining runs as a child process (`python -m services.catalog.pretraining`): its one torch thread
    and its memory stay out of the service that asked, and its progress bar goes to that service's stderr.
    """
    target = pretrained_dir(spec, cache_dir)

    def make() -> None:
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        command = [sys.executable, "-m", "services.catalog.pretraining", "--model", spec.id, "--out", str(partial),
                   "--plan", json.dumps(spec.pretrain.as_dict())]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
        if done.returncode != 0:
            raise RuntimeError(f"pretraining {spec.id} failed (exit {done.returncode}); its error is in this "
                               "service's log above")
        stats = json.loads(done.stdout.strip().splitlines()[-1])
        (partial / MARKER).write_text(json.dumps({"id": spec.id, "seed": SEED, **stats}))
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)

    return _made_once(target, target.parent / f".{target.name}.lock", make)


def _copy_model(source: Path, target: Path) -> None:
    """A copy of the cached model in the data folder (the marker last, so a half copy is never used)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(MARKER))
    shutil.copy2(source / MARKER, target / MARKER)


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
