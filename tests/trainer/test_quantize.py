"""int8 export: the quantized folder loads again and answers close to the fp32 model; a model without linear
layers is refused naming its layers."""

from __future__ import annotations

from unittest import mock

import pytest
import torch

from services.common.errors import FailedPrecondition
from services.trainer.generation import load_for_generation
from services.trainer.quantize import folder_bytes, load_quantized, measure, quantize_folder
from tests.trainer.helpers import model_dir  # noqa: F401 (fixture)


def test_the_int8_folder_loads_again_smaller_and_close_to_fp32(model_dir, tmp_path):
    layers = quantize_folder(model_dir, tmp_path / "int8")
    assert layers > 0 and (tmp_path / "int8" / "quantization.json").is_file()
    assert folder_bytes(tmp_path / "int8") < folder_bytes(model_dir)
    fp32, tokenizer = load_for_generation(str(model_dir))
    int8, _ = load_quantized(tmp_path / "int8")
    ids = torch.tensor([tokenizer("How do I reset my password?")["input_ids"]])
    with torch.no_grad():
        a, b = fp32(input_ids=ids).logits, int8(input_ids=ids).logits
    assert torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0) > 0.99
    rows = [{"input": "How do I reset my password?", "output": "Click Forgot password."}] * 4
    report = measure(int8, tokenizer, rows, 96, new_tokens=8)
    assert report["tokens_per_second"] > 0 and report["validation_loss"] == pytest.approx(measure(fp32, tokenizer, rows, 96, 8)["validation_loss"], abs=0.2)


def test_a_model_without_linear_layers_is_refused_naming_them(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=64, n_positions=32))
    model.lm_head = torch.nn.Identity()  # GPT-2's one nn.Linear: its blocks are Conv1D
    with pytest.raises(FailedPrecondition) as info:
        with mock.patch("transformers.AutoModelForCausalLM.from_pretrained", return_value=model):
            quantize_folder(tmp_path / "gpt2", tmp_path / "out")
    assert info.value.reason == "QUANTIZATION_UNSUPPORTED" and "Conv1D" in info.value.message
