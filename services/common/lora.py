"""What LoRA can adapt in a model: one rule that the catalog reports, the jobs service checks a job against
and the trainer trains with, so that a job is refused at creation with the words the trainer would use.

The targets are the short names (`q_proj`, ...) of the model's Linear layers and GPT-2 style Conv1D ones,
less the output head (peft's `all-linear` leaves it out too)."""

from __future__ import annotations

from pathlib import Path

from services.common.hyperparameters import ALL_LINEAR, target_modules_error

HEAD_MODULES = ("lm_head", "embed_out", "score", "classifier")


def lora_target_modules(model) -> list[str]:
    """The layers LoRA can target in a loaded (or meta-device) model, in the model's order (q, k, v, o, ...)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    names = (name.rpartition(".")[2] for name, module in model.named_modules() if isinstance(module, (torch.nn.Linear, Conv1D)))
    return list(dict.fromkeys(n for n in names if n not in HEAD_MODULES))


def lora_target_modules_at(model_dir: Path | str) -> list[str]:
    """The same for a model directory, from its config alone (built on the meta device: no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(model_dir)))
    return lora_target_modules(model)


def check_target_modules(target_modules: list[str], model) -> None:
    """InvalidArgument naming the targets `model` (loaded, or a directory) lacks and the ones it has."""
    if target_modules == [ALL_LINEAR]:
        return
    available = lora_target_modules(model) if hasattr(model, "named_modules") else lora_target_modules_at(model)
    error = target_modules_error(target_modules, available)
    if error is not None:
        raise error
