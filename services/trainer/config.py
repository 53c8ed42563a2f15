"""What LoRA can target in a model: its Linear modules, and the check of a run's target_modules against them."""

from __future__ import annotations

from services.common.hyperparameters import ALL_LINEAR, target_modules_error


def linear_module_names(model) -> list[str]:
    """The short names (q_proj, ...) of the model's nn.Linear layers, which is what LoRA can target."""
    import torch.nn as nn

    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)})


def linear_module_names_at(model_path) -> list[str]:
    """The same names for a model directory, without loading its weights (built on the meta device)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(model_path)))
    return linear_module_names(model)


def validate_target_modules(target_modules: list[str], model) -> None:
    """Unknown names would make peft fail deep inside; say which names this model really has.

    `model` is a loaded model or a model directory (checked without loading the weights)."""
    if target_modules == [ALL_LINEAR]:
        return
    available = linear_module_names(model) if hasattr(model, "named_modules") else linear_module_names_at(model)
    error = target_modules_error(target_modules, available)
    if error is not None:
        raise error
