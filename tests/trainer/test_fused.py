"""The fused decoder layers compute what the model's own layers compute: each kernel against autograd of the
plain formula (float64 gradcheck), and the whole training forward against the plain path, LoRA dropout and
every projection's adapter included, for the built-in Llama, a grouped-query Llama and a Qwen2 with biases."""

from __future__ import annotations

import pytest
import torch

from services.trainer import fused
from services.trainer.modeling import TrainingForward, apply_lora, load_base_model, load_tokenizer
from tests.trainer.helpers import (  # noqa: F401 (fixture)
    long_packed_batch,
    logits_and_lora_grads,
    model_dir,
    small_config,
    tiny_model_of_family,
    with_nonzero_lora_b,
)


def _lora(in_features=6, out_features=5, r=2, p=0.3):
    from services.trainer.modeling import LoraDropout

    a = torch.randn(r, in_features, dtype=torch.float64, requires_grad=True)
    b = torch.randn(out_features, r, dtype=torch.float64, requires_grad=True)
    return a, b, LoraDropout(p)


def test_project_gradients_equal_autograd_of_the_plain_formula():
    torch.manual_seed(0)
    x = torch.randn(7, 6, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(12, 6, dtype=torch.float64)
    bias = torch.randn(12, dtype=torch.float64)
    (a1, b1, drop), (a2, b2, _) = _lora(), _lora(out_features=4)
    mask = drop.scaled_mask(x.detach())
    widths, owners, masks, scales = (5, 3, 4), (0, 2), (mask, None), (0.5, 2.0)

    def plain(x, a1, b1, a2, b2):
        y = x @ weight.t() + bias
        delta1 = ((x * mask) @ a1.t() @ b1.t()) * 0.5
        delta2 = (x @ a2.t() @ b2.t()) * 2.0
        return torch.cat([y[:, :5] + delta1, y[:, 5:8], y[:, 8:] + delta2], 1)

    def ours(x, a1, b1, a2, b2):
        return torch.cat(fused._Project.apply(x, weight, bias, widths, owners, masks, scales, a1, b1, a2, b2), 1)

    inputs = (x, a1, b1, a2, b2)
    torch.testing.assert_close(ours(*inputs), plain(*inputs))
    assert torch.autograd.gradcheck(ours, inputs)
    grads_ours = torch.autograd.grad(ours(*inputs).sum(), inputs)
    grads_plain = torch.autograd.grad(plain(*inputs).sum(), inputs)
    for g_ours, g_plain in zip(grads_ours, grads_plain):
        torch.testing.assert_close(g_ours, g_plain)
    # An output left unused gets no gradient (None, not zeros): the others' gradients are still exact.
    unused = fused._Project.apply(x, weight, bias, widths, owners, masks, scales, a1, b1, a2, b2)
    grads_ours = torch.autograd.grad(unused[0].sum() + unused[2].sum(), inputs)
    y = plain(*inputs)
    grads_plain = torch.autograd.grad(y[:, :5].sum() + y[:, 8:].sum(), inputs)
    for g_ours, g_plain in zip(grads_ours, grads_plain):
        torch.testing.assert_close(g_ours, g_plain)


def test_rms_norm_and_rotary_gradients_equal_the_models_own():
    from transformers.models.llama.modeling_llama import LlamaRMSNorm, apply_rotary_pos_emb

    torch.manual_seed(1)
    norm = LlamaRMSNorm(8, eps=1e-6).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
    norm.weight.requires_grad_(False)
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(fused.rms_norm(norm, x), norm(x))
    assert torch.autograd.gradcheck(lambda t: fused.rms_norm(norm, t), (x,))

    q = torch.randn(5, 3, 8, dtype=torch.float64, requires_grad=True)  # [tokens, heads, head_dim]
    angles = torch.randn(5, 4, dtype=torch.float64)
    rope = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)  # Llama's: equal halves
    arbitrary = torch.randn(5, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    for cos, sin in (rope, arbitrary):
        expected, _ = apply_rotary_pos_emb(q, q, cos, sin, unsqueeze_dim=1)
        torch.testing.assert_close(fused.rotary(q, cos.unsqueeze(1), sin.unsqueeze(1)), expected)
        assert torch.autograd.gradcheck(lambda t: fused.rotary(t, cos.unsqueeze(1), sin.unsqueeze(1)), (q,))


@pytest.mark.parametrize("which,targets", [("builtin", ["q_proj", "v_proj"]), ("builtin", ["all-linear"]),
                                           ("gqa", ["q_proj", "v_proj"]), ("qwen2", ["all-linear"])])
def test_fused_training_forward_equals_the_plain_one(model_dir, which, targets):
    """Seeded training-mode forward and backward with LoRA dropout: the same masks are drawn in the same order,
    so logits and LoRA gradients equal the model's own layers' (the pruned last layer on both sides)."""
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(0)
    base = load_base_model(model_dir, torch.device("cpu")) if which == "builtin" else tiny_model_of_family(which)
    model = with_nonzero_lora_b(apply_lora(base, small_config(lora_dropout=0.2, target_modules=targets)))
    batch = long_packed_batch(tokenizer)
    module = TrainingForward(model).train()
    assert module._fused_layers(torch.device("cpu")) is not None
    results = []
    for use_fused in (True, False):
        module.use_fused = use_fused
        results.append(logits_and_lora_grads(module, model, batch, seed=3))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-5, rtol=1e-4)


def test_fused_path_steps_aside_when_it_does_not_apply(model_dir):
    """A merged adapter, autocast or an unsupported layer kind: the plain layers run instead."""
    model = apply_lora(load_base_model(model_dir, torch.device("cpu")), small_config(lora_dropout=0.0))
    module = TrainingForward(model)
    assert module._fused_layers(torch.device("cpu")) is not None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert module._fused_layers(torch.device("cpu")) is None
    assert module._fused_layers(torch.device("cuda")) is None
    model.merge_adapter()
    assert module._fused_layers(torch.device("cpu")) is None
    model.unmerge_adapter()
    assert module._fused_layers(torch.device("cpu")) is not None
    assert fused.fused_layers(torch.nn.Module()) is None
