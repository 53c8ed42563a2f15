"""A completed run's merged model with its linear layers quantized to int8 (PyTorch dynamic quantization: int8
weights, activations quantized on the fly), for CPU inference; written next to the fp32 model as
`artifacts/model-int8/` and measured against it.

The folder holds `model_int8.pt` (the quantized state dict), the config and the tokenizer, and
`quantization.json` saying how it was made. `load_quantized(folder)` loads it again: the model is built from
its config, quantized the same way, and the state dict loaded into it. A model with no `nn.Linear` layers
(GPT-2's `Conv1D`, say) is refused with the layer types it has.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from services.common.errors import FailedPrecondition

QUANTIZED_DIR = "model-int8"
WEIGHTS_FILE = "model_int8.pt"
_COPIED = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
           "vocab.json", "merges.txt", "tokenizer.model")
_PROMPTS = ("How do I reset my password?", "Where is my order?", "alpha bravo charlie")


def _engine() -> str:
    for engine in ("x86", "fbgemm", "qnnpack"):
        if engine in torch.backends.quantized.supported_engines:
            return engine
    raise FailedPrecondition("this build of PyTorch has no quantized CPU engine (x86, fbgemm or qnnpack)",
                             reason="QUANTIZATION_UNSUPPORTED")


def _quantized(model: nn.Module) -> nn.Module:
    torch.backends.quantized.engine = _engine()
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def quantize_folder(model_dir: Path, out_dir: Path) -> int:
    """Writes the int8 model of `model_dir` into `out_dir`; the number of linear layers quantized."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    linear = sum(isinstance(m, nn.Linear) for m in model.modules())
    if linear == 0:
        kinds = Counter(type(m).__name__ for m in model.modules() if not list(m.children()))
        raise FailedPrecondition(f"{type(model).__name__} has no nn.Linear layers to quantize (its layers: "
                                 f"{', '.join(k for k, _ in kinds.most_common(6))}); dynamic int8 quantization needs them",
                                 reason="QUANTIZATION_UNSUPPORTED", metadata={"architecture": type(model).__name__})
    quantized = _quantized(model)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(quantized.state_dict(), tmp / WEIGHTS_FILE)
    for name in _COPIED:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, tmp / name)
    (tmp / "quantization.json").write_text(json.dumps({
        "method": "torch.ao.quantization.quantize_dynamic", "dtype": "qint8", "modules": "torch.nn.Linear",
        "engine": torch.backends.quantized.engine, "quantized_layers": linear, "weights": WEIGHTS_FILE,
        "loader": "services.trainer.quantize.load_quantized(folder)"}, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return linear


def load_quantized(folder: Path | str):
    """(model, tokenizer) of a folder `quantize_folder` wrote, in eval mode on the CPU."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from services.trainer.modeling import load_tokenizer

    folder = Path(folder)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(folder)), dtype=torch.float32).eval()
    quantized = _quantized(model)
    # Our own file, with the quantized layers' packed parameters: not loadable with weights_only.
    quantized.load_state_dict(torch.load(folder / WEIGHTS_FILE, weights_only=False))
    return quantized, load_tokenizer(folder)


def measure(model, tokenizer, rows: list[dict], max_seq_length: int, new_tokens: int = 32) -> dict:
    """Greedy generation speed (new tokens per second over a few prompts) and the mean token loss on `rows`."""
    from services.trainer.data import tokenize_rows
    from services.trainer.evaluation import loss_sums
    from services.trainer.generation import Usage, iter_token_ids
    from services.trainer.prompting import prompt_ids

    tokens, started = 0, time.perf_counter()
    for prompt in _PROMPTS:
        usage = Usage()
        for _ in iter_token_ids(model, tokenizer, prompt_ids(tokenizer, prompt), new_tokens, usage=usage):
            pass
        tokens += usage.completion_tokens
    seconds = time.perf_counter() - started
    out = {"tokens_per_second": tokens / seconds if seconds > 0 else 0.0, "validation_loss": float("nan")}
    examples = tokenize_rows(tokenizer, rows, max_seq_length).examples
    if examples:
        total, count = loss_sums(model, examples, 8, torch.device("cpu"), packed=False, pad_token_id=tokenizer.pad_token_id or 0)
        out["validation_loss"] = total / max(count, 1)
    return out


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
