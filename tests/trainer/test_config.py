"""TrainingConfig: the guide's names, defaults, and errors that name the field and its allowed range."""

from __future__ import annotations

import pytest

from services.catalog.builtin_models import BUILTIN_MODELS, TINY_MODEL_ID, build_model, build_tokenizer
from services.common.errors import InvalidArgument
from services.trainer.config import (
    SUPPORTED_OPTIMIZERS,
    TrainingConfig,
    linear_module_names,
    linear_module_names_at,
    validate_target_modules,
)


def test_guide_example_parses():
    config = TrainingConfig.from_dict({
        "learning_rate": 0.0002, "batch_size": 8, "epochs": 3, "warmup_steps": 500, "weight_decay": 0.01,
        "lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": ["q_proj", "v_proj"],
        "gradient_accumulation_steps": 4, "max_grad_norm": 1.0, "optimizer": "adamw", "scheduler": "cosine",
        "save_steps": 500, "uid": "00000005k0008000300100002s",
    })
    assert config.batch_size == 8 and config.scheduler == "cosine" and config.lora_alpha == 32.0
    assert config.keep_checkpoints == 3 and config.packing is True and config.max_steps is None
    assert TrainingConfig.from_dict(config.to_dict()) == config


def test_json_numbers_are_coerced():
    config = TrainingConfig.from_dict({"batch_size": 8.0, "learning_rate": 1, "max_steps": None})
    assert config.batch_size == 8 and isinstance(config.batch_size, int) and config.learning_rate == 1.0


@pytest.mark.parametrize(
    ("values", "field", "allowed"),
    [
        ({"learning_rate": 0}, "learning_rate", "(0.0, 1.0]"),
        ({"batch_size": 0}, "batch_size", "[1, 4096]"),
        ({"lora_dropout": 1.0}, "lora_dropout", "[0.0, 1.0)"),
        ({"max_seq_length": 8}, "max_seq_length", "[16, 131072]"),
        ({"max_steps": 0}, "max_steps", "[1, 100000000]"),
        ({"epochs": 2.5}, "epochs", "integers"),
        ({"batch_size": True}, "batch_size", "integers"),
        ({"packing": "yes"}, "packing", "true, false"),
    ],
)
def test_out_of_range_names_field_and_range(values, field, allowed):
    with pytest.raises(InvalidArgument) as err:
        TrainingConfig.from_dict(values)
    assert err.value.reason == "INVALID_TRAINING_CONFIG"
    assert err.value.metadata == {"field": field, "allowed": allowed}
    assert field in err.value.message


def test_unknown_optimizer_lists_supported_ones():
    with pytest.raises(InvalidArgument) as err:
        TrainingConfig.from_dict({"optimizer": "lion"})
    assert all(name in err.value.message for name in SUPPORTED_OPTIMIZERS)


def test_unknown_scheduler_and_unknown_key():
    with pytest.raises(InvalidArgument, match="scheduler must be one of linear, cosine"):
        TrainingConfig.from_dict({"scheduler": "reduce_lr_on_plateau"})
    with pytest.raises(InvalidArgument, match="unknown training parameter.*learning_rte"):
        TrainingConfig.from_dict({"learning_rte": 1e-4})


def test_warmup_steps_win_over_ratio():
    assert TrainingConfig(warmup_steps=5, warmup_ratio=0.5).warmup_for(100) == 5
    assert TrainingConfig(warmup_ratio=0.1).warmup_for(95) == 10
    assert TrainingConfig(warmup_steps=500).warmup_for(20) == 20


def test_unknown_target_modules_list_the_models_linear_layers(tmp_path):
    model = build_model(BUILTIN_MODELS[TINY_MODEL_ID], build_tokenizer())
    names = linear_module_names(model)
    model.config.save_pretrained(tmp_path)  # a directory is checked from its config alone
    assert linear_module_names_at(tmp_path) == names
    with pytest.raises(InvalidArgument, match="down_proj"):
        validate_target_modules(["qkv"], tmp_path)
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"} == set(names)
    validate_target_modules(["q_proj", "v_proj"], model)
    validate_target_modules(["all-linear"], model)
    with pytest.raises(InvalidArgument) as err:
        validate_target_modules(["query_key_value"], model)
    assert "query_key_value" in err.value.message and "gate_proj" in err.value.message
    assert err.value.metadata["field"] == "target_modules"
