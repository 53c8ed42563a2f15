"""Text generation with the training prompt template: a token loop over the KV cache that yields text pieces.

`stream_generate(source, prompt, max_new_tokens, temperature)` accepts a merged model directory
(config.json), an adapter directory (adapter_config.json: a run's `artifacts/adapter` or any
checkpoint), or an already loaded `(model, tokenizer)` pair. Temperature 0 is greedy decoding.
Pieces are yielded as soon as they decode to complete characters (byte-level tokenizers may need
several tokens for one character), so joining them gives exactly the decoded completion.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from services.trainer.prompting import prompt_ids

_MAX_CACHED_MODELS = 2


def is_adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file() and not (path / "config.json").is_file()


@functools.lru_cache(maxsize=_MAX_CACHED_MODELS)
def load_for_generation(source: str, device: str = "cpu"):
    """(model, tokenizer) in eval mode; cached so that a streaming RPC does not reload per request."""
    from transformers import AutoModelForCausalLM

    from services.trainer.modeling import load_tokenizer, quiet_peft

    path = Path(source)
    if is_adapter_dir(path):
        from peft import PeftModel

        base_path = json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"]
        tokenizer_path = path if (path / "tokenizer_config.json").is_file() else Path(base_path)
        base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32, attn_implementation="sdpa")
        with quiet_peft():
            model = PeftModel.from_pretrained(base, str(path))
        tokenizer = load_tokenizer(tokenizer_path)
    else:
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, attn_implementation="sdpa")
        tokenizer = load_tokenizer(path)
    return model.to(device).eval(), tokenizer


@dataclass
class Usage:
    """What a generation took and why it ended, filled in as it runs."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "length"  # "stop" once the model emits EOS


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """`probs` with only the most likely tokens kept whose probabilities add up to `top_p` (at least one)."""
    if not 0 < top_p < 1:
        return probs
    sorted_probs, order = torch.sort(probs, descending=True)
    keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p  # each token whose predecessors fall short
    kept = torch.zeros_like(probs).scatter(-1, order, sorted_probs * keep)
    return kept / kept.sum()


@functools.lru_cache(maxsize=_MAX_CACHED_MODELS)
def batcher_for(source: str):
    """The one Batcher of a served model (services.trainer.batching), made with the model's first generation."""
    from services.trainer.batching import Batcher

    model, tokenizer = load_for_generation(source)
    return Batcher(model, tokenizer)


def choose_token(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> int:
    """The next token from one position's logits: the most likely at temperature 0, else sampled (nucleus)."""
    if temperature > 0:
        probs = nucleus(torch.softmax(logits / temperature, dim=-1), top_p)
        return int(torch.multinomial(probs.cpu(), 1, generator=generator).item())
    return int(logits.argmax().item())


@torch.no_grad()
def iter_token_ids(model, tokenizer, ids: list[int], max_new_tokens: int, temperature: float = 0.0,
                   generator: torch.Generator | None = None, top_p: float = 0.0, usage: Usage | None = None) -> Iterator[int]:
    """New token ids one at a time, stopping at EOS (not yielded) or after max_new_tokens."""
    from transformers import DynamicCache

    usage = usage if usage is not None else Usage()
    usage.prompt_tokens = len(ids)
    device = next(model.parameters()).device
    cache = DynamicCache()
    input_ids = torch.tensor([ids], dtype=torch.long, device=device)
    eos = tokenizer.eos_token_id
    for _ in range(max_new_tokens):
        out = model(input_ids=input_ids, cache=cache, use_cache=True, logits_to_keep=1)
        next_id = choose_token(out.logits[0, -1].float(), temperature, top_p, generator)
        if next_id == eos:
            usage.finish_reason = "stop"
            return
        usage.completion_tokens += 1
        yield next_id
        input_ids = torch.tensor([[next_id]], dtype=torch.long, device=device)


def stream_ids_as_text(tokenizer, token_ids: Iterator[int]) -> Iterator[str]:
    generated: list[int] = []
    emitted = ""
    for token_id in token_ids:
        generated.append(token_id)
        text = tokenizer.decode(generated, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            continue  # an incomplete multi-byte character: wait for the rest
        if len(text) > len(emitted) and text.startswith(emitted):
            yield text[len(emitted) :]
            emitted = text
    text = tokenizer.decode(generated, skip_special_tokens=True)
    if text.startswith(emitted) and len(text) > len(emitted):
        yield text[len(emitted) :]


def stream_generate(source, prompt: str, max_new_tokens: int = 64, temperature: float = 0.0,
                    seed: int | None = None, top_p: float = 0.0, usage: Usage | None = None,
                    stop: tuple[str, ...] = ()) -> Iterator[str]:
    """Text pieces of the completion, ending before the first of the `stop` texts; `usage`, when given, holds
    the token counts and finish reason after."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    usage = usage if usage is not None else Usage()
    if isinstance(source, tuple):  # a model the caller holds (evaluation): decoded alone
        model, tokenizer = source
        ids = prompt_ids(tokenizer, prompt)
        token_ids = iter_token_ids(model, tokenizer, ids, max_new_tokens, temperature, generator, top_p, usage)
    else:  # a served model: decoded together with the other generations on it
        batcher = batcher_for(str(source))
        tokenizer = batcher.tokenizer
        ids = prompt_ids(tokenizer, prompt)
        token_ids = batcher.generate(ids, max_new_tokens, temperature, top_p, generator, usage)
    pieces = stream_ids_as_text(tokenizer, token_ids)
    yield from until_stop(pieces, [s for s in stop if s], usage) if any(stop) else pieces


def until_stop(pieces: Iterator[str], stop: list[str], usage: Usage) -> Iterator[str]:
    """`pieces` up to the first stop text (excluded). Text that could begin a stop text is held back until
    the next piece shows whether it does, so nothing of a stop text is ever yielded."""
    held = ""
    longest = max(len(s) for s in stop)
    for piece in pieces:
        held += piece
        found = [i for i in (held.find(s) for s in stop) if i >= 0]
        if found:
            if min(found):
                yield held[: min(found)]
            usage.finish_reason = "stop"
            return
        keep = next((n for n in range(min(longest - 1, len(held)), 0, -1) if any(s.startswith(held[-n:]) for s in stop)), 0)
        if len(held) > keep:
            yield held[: len(held) - keep]
            held = held[len(held) - keep:]
    if held:
        yield held


def generate_text(model, tokenizer, prompt: str, max_new_tokens: int = 64) -> str:
    """Greedy completion as one string (evaluation and sample generations)."""
    return "".join(stream_generate((model, tokenizer), prompt, max_new_tokens, 0.0))
