"""What LoRA can target in a model: its Linear modules, checked from a loaded model or from a directory."""

from __future__ import annotations

import pytest

from services.catalog.builtin_models import BUILTIN_MODELS, TINY_MODEL_ID, build_model, build_tokenizer
from services.common.errors import InvalidArgument
from services.trainer.config import linear_module_names, linear_module_names_at, validate_target_modules


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
