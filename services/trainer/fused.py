"""A fused training forward for the decoder layers of Llama-family models on packed rows (fp32, no autocast).

The model's own layer runs a chain of small operations per projection and norm, each one a pass over
[tokens, width] memory; on a CPU those passes cost about as much as the matrix products (a LoRA step of
the 25M built-in model measured: matmuls 46%, attention 25%, elementwise the rest). This module runs
the same computation with fewer passes, each speed-up one named function with a test that its numbers
equal the plain path's (tests/trainer/test_fused.py):

- `project`: the frozen projections that read the same input (q, k and v; gate and up) as one matrix
  product over their concatenated weights, and each LoRA adapter added into its output slice by the
  same GEMM call (`addmm_`), with a hand-written backward: one product for the input gradient of the
  whole group, the adapters' gradients from the saved [tokens, r] activations;
- `rms_norm`: the norm of a frozen weight with a backward of five passes instead of autograd's chain;
- `rotary`: rotary embedding on the two halves directly, without `rotate_half`'s negated copy and cat.

LoRA dropout draws its masks through `LoraDropout.scaled_mask`, in the order the plain layer draws them
(q before v), so a seeded run draws the same masks either way. The frozen weights of each group are
concatenated once, on first use (a copy of those weights: about 70 MB for the 25M model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Decoder layers whose forward is exactly: x + attn(norm(x)); then x + mlp(norm(x)), with rotary q/k.
FUSABLE_LAYERS = frozenset({"LlamaDecoderLayer", "MistralDecoderLayer", "Qwen2DecoderLayer"})
SILU = frozenset({"SiLU", "SiLUActivation"})  # torch's and transformers' (both F.silu)


@dataclass(frozen=True)
class Adapter:
    """One LoRA adapter on one projection: `lora_B(lora_A(dropout(x))) * scale`."""

    lora_A: torch.nn.Parameter  # [r, in]
    lora_B: torch.nn.Parameter  # [out, r]
    scale: float
    dropout: torch.nn.Module | None  # a LoraDropout, or None for no dropout


@dataclass(frozen=True)
class Projection:
    """A frozen linear layer (the base of a peft LoRA layer, or a plain `nn.Linear`) and its adapter."""

    base: torch.nn.Linear
    adapter: Adapter | None


def projection_of(module: torch.nn.Module) -> Projection | None:
    """The frozen linear and LoRA adapter behind `module`, or None where the fused path does not apply
    (several or merged adapters, DoRA, a trainable base weight, another dropout than ours)."""
    from services.trainer.modeling import LoraDropout

    if type(module) is torch.nn.Linear:
        return None if module.weight.requires_grad else Projection(module, None)
    base = getattr(module, "base_layer", None)
    if type(base) is not torch.nn.Linear or base.weight.requires_grad or getattr(module, "merged", True):
        return None
    active = list(getattr(module, "active_adapters", []))
    if (len(active) != 1 or getattr(module, "disable_adapters", False)
            or any(getattr(module, "use_dora", {}).get(name) for name in active)):
        return None
    name = active[0]
    if name not in module.lora_A:
        return Projection(base, None)
    if module.lora_A[name].bias is not None or module.lora_B[name].bias is not None:
        return None
    dropout = module.lora_dropout[name]
    if isinstance(dropout, torch.nn.Identity):
        dropout = None
    elif not isinstance(dropout, LoraDropout):
        return None
    return Projection(base, Adapter(module.lora_A[name].weight, module.lora_B[name].weight,
                                    float(module.scaling[name]), dropout))


class ProjectionGroup:
    """Projections of one input, computed as one: their frozen weights (and biases) concatenated."""

    def __init__(self, projections: list[Projection]) -> None:
        self.projections = projections
        self.widths = [p.base.out_features for p in projections]
        self._weight: torch.Tensor | None = None
        self._bias: torch.Tensor | None = None

    def weight_and_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._weight is None or self._weight.device != self.projections[0].base.weight.device:
            bases = [p.base for p in self.projections]
            self._weight = torch.cat([b.weight.detach() for b in bases]) if len(bases) > 1 else bases[0].weight.detach()
            biases = [b.bias for b in bases]
            if any(b is not None for b in biases):
                self._bias = torch.cat([b.detach() if b is not None else torch.zeros(b_.out_features, device=b_.weight.device)
                                        for b, b_ in zip(biases, bases)])
        return self._weight, self._bias


def project(group: ProjectionGroup, x: torch.Tensor, training: bool) -> list[torch.Tensor]:
    """Each projection of `group` applied to x [tokens, in] with its adapter: one output per projection."""
    weight, bias = group.weight_and_bias()
    owners, masks, scales, params = [], [], [], []
    for index, projection in enumerate(group.projections):
        adapter = projection.adapter
        if adapter is not None:
            dropout = adapter.dropout
            owners.append(index)
            masks.append(dropout.scaled_mask(x) if dropout is not None and training and dropout.dropped else None)
            scales.append(adapter.scale)
            params += [adapter.lora_A, adapter.lora_B]
    out = _Project.apply(x, weight, bias, tuple(group.widths), tuple(owners), tuple(masks), tuple(scales), *params)
    return list(out) if len(group.widths) > 1 else [out]


class _Project(torch.autograd.Function):
    """y = x W^T (+ b) split into one output per projection (widths), and output i += scale * (x * mask) A^T B^T
    for each adapter on projection i (owners).

    The outputs are views of one product, and the backward takes each one's gradient as it comes: the input
    gradient is the sum of one product per projection, so their gradients are never concatenated (a pass over
    [tokens, sum of widths] that autograd's split would add, measured about 6% of a step of the 25M model)."""

    @staticmethod
    def forward(ctx, x, weight, bias, widths, owners, masks, scales, *params):
        y = torch.addmm(bias, x, weight.t()) if bias is not None else x @ weight.t()
        outputs = y.split(widths, -1) if len(widths) > 1 else (y,)
        hidden = []
        for owner, mask, scale, a, b in zip(owners, masks, scales, params[::2], params[1::2]):
            h = (x * mask if mask is not None else x) @ a.t()
            outputs[owner].addmm_(h, b.t(), alpha=scale)
            hidden.append(h)
        ctx.widths, ctx.owners, ctx.masks, ctx.scales = widths, owners, masks, scales
        ctx.save_for_backward(x, weight, *params, *hidden)
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None: no product for it
        return outputs if len(widths) > 1 else y

    @staticmethod
    def backward(ctx, *grads):
        x, weight, *rest = ctx.saved_tensors
        count = len(ctx.owners)
        params, hidden = rest[: 2 * count], rest[2 * count :]
        grad_x = None
        if ctx.needs_input_grad[0]:
            for grad, rows in zip(grads, weight.split(ctx.widths)):
                if grad is not None:
                    grad_x = grad @ rows if grad_x is None else grad_x.addmm_(grad, rows)
        grad_params = []
        for owner, mask, scale, a, b, h in zip(ctx.owners, ctx.masks, ctx.scales, params[::2], params[1::2], hidden):
            grad = grads[owner]
            if grad is None:
                grad_params += [None, None]
                continue
            grad_b = (grad.t() @ h).mul_(scale)
            grad_h = (grad @ b).mul_(scale)
            grad_a = grad_h.t() @ (x * mask if mask is not None else x)
            if ctx.needs_input_grad[0] and mask is None:
                grad_x = grad_h @ a if grad_x is None else grad_x.addmm_(grad_h, a)
            elif ctx.needs_input_grad[0]:
                grad_x = (grad_h @ a).mul_(mask) if grad_x is None else grad_x.addcmul_(grad_h @ a, mask)
            grad_params += [grad_a, grad_b]
        return (grad_x, None, None, None, None, None, None, *grad_params)


def rms_norm(norm: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """`norm(x)` of an RMSNorm module with a frozen weight (Llama's: x * rsqrt(mean(x^2) + eps) * weight)."""
    return _RMSNorm.apply(x, norm.weight.detach(), norm.variance_epsilon)


class _RMSNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, eps):
        inv = torch.rsqrt(x.pow(2).mean(-1, keepdim=True).add_(eps))
        ctx.save_for_backward(x, weight, inv)
        return (x * inv).mul_(weight)

    @staticmethod
    def backward(ctx, grad):
        x, weight, inv = ctx.saved_tensors
        normed = x * inv
        grad_normed = grad * weight
        # d/dx of x * inv: inv * (g - normed * mean(g * normed))
        dot = (grad_normed * normed).mean(-1, keepdim=True)
        grad_x = grad_normed.mul_(inv).addcmul_(normed, dot.mul_(inv), value=-1)
        return grad_x, None, None


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [..., head_dim] with cos/sin broadcastable to it: x * cos + rotate_half(x) * sin."""
    return _Rotary.apply(x, cos, sin)


def _rotate(x, cos, sin, sign: float):
    """[x1 * c1 - sign * x2 * s1, x2 * c2 + sign * x1 * s2] over the two halves of the last dimension."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    out = torch.empty(torch.broadcast_shapes(x.shape, cos.shape), dtype=x.dtype, device=x.device)
    torch.mul(x1, cos[..., :half], out=out[..., :half]).addcmul_(x2, sin[..., :half], value=-sign)
    torch.mul(x2, cos[..., half:], out=out[..., half:]).addcmul_(x1, sin[..., half:], value=sign)
    return out


class _Rotary(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, cos, sin):
        ctx.save_for_backward(cos, sin)
        return _rotate(x, cos, sin, 1.0)

    @staticmethod
    def backward(ctx, grad):
        cos, sin = ctx.saved_tensors
        # the transpose of the rotation: g1 * c1 + g2 * s2 and g2 * c2 - g1 * s1 (sin's halves swap roles)
        half = grad.shape[-1] // 2
        swapped = torch.cat([sin[..., half:], sin[..., :half]], -1) if not torch.equal(sin[..., :half], sin[..., half:]) else sin
        return _rotate(grad, cos, swapped, -1.0), None, None


class FusedLayer:
    """One decoder layer's projections grouped for `project`; built by `fused_layers` when every part fits."""

    def __init__(self, layer) -> None:
        attn, mlp = layer.self_attn, layer.mlp
        self.layer = layer
        q, k, v, o = (projection_of(getattr(attn, name)) for name in ("q_proj", "k_proj", "v_proj", "o_proj"))
        gate, up, down = (projection_of(getattr(mlp, name)) for name in ("gate_proj", "up_proj", "down_proj"))
        self.ok = all(p is not None for p in (q, k, v, o, gate, up, down))
        if not self.ok:
            return
        self.qkv, self.kv, self.q = ProjectionGroup([q, k, v]), ProjectionGroup([k, v]), ProjectionGroup([q])
        self.o, self.gate_up, self.down = ProjectionGroup([o]), ProjectionGroup([gate, up]), ProjectionGroup([down])
        self.heads, self.kv_heads = attn.config.num_attention_heads, attn.config.num_key_value_heads
        self.head_dim, self.scaling = attn.head_dim, attn.scaling
        self.attention_dropout = attn.attention_dropout


def fused_layers(decoder) -> list[FusedLayer] | None:
    """A FusedLayer per decoder layer, or None when any layer is not one the fused path reproduces."""
    layers = getattr(decoder, "layers", None)
    if not layers:
        return None
    for layer in layers:
        if type(layer).__name__ not in FUSABLE_LAYERS or type(getattr(layer.mlp, "act_fn", None)).__name__ not in SILU:
            return None
        norms = (layer.input_layernorm, layer.post_attention_layernorm)
        if any(n.weight.requires_grad or not hasattr(n, "variance_epsilon") for n in norms):
            return None
        if getattr(layer.self_attn.config, "use_sliding_window", False):
            return None
    fused = [FusedLayer(layer) for layer in layers]
    return fused if all(f.ok for f in fused) else None


def attention(fused: FusedLayer, queries, keys, values, training: bool) -> torch.Tensor:
    """Causal attention of each example on its own: queries [1, heads, n, dim] and keys/values
    [1, kv_heads, m, dim] per example, the queries being the last n of the m positions (lower-right aligned).
    Returns [sum of n, heads * dim]."""
    from services.trainer.modeling import causal_attention

    groups = fused.heads // fused.kv_heads
    dropout = fused.attention_dropout if training else 0.0
    outputs = []
    for q, k, v in zip(queries, keys, values):
        if groups > 1:
            k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        outputs.append(causal_attention(q, k, v, dropout, fused.scaling))
    out = torch.cat(outputs, 2) if len(outputs) > 1 else outputs[0]
    return out.transpose(1, 2).reshape(out.shape[2], -1)


def _heads(x: torch.Tensor, heads: int, dim: int) -> torch.Tensor:
    """[tokens, heads * dim] or [tokens, heads, dim] as SDPA's [1, heads, tokens, dim] (a view)."""
    return x.view(x.shape[0], heads, dim).transpose(0, 1).unsqueeze(0)


def layer_forward(fused: FusedLayer, hidden, cos, sin, seq_lens, training: bool) -> torch.Tensor:
    """One decoder layer over a packed row: hidden [tokens, width], cos/sin [tokens, head_dim]."""
    layer = fused.layer
    x = rms_norm(layer.input_layernorm, hidden)
    query, key, value = project(fused.qkv, x, training)
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    query = _heads(rotary(query.view(-1, fused.heads, fused.head_dim), cos, sin), fused.heads, fused.head_dim)
    key = _heads(rotary(key.view(-1, fused.kv_heads, fused.head_dim), cos, sin), fused.kv_heads, fused.head_dim)
    value = _heads(value, fused.kv_heads, fused.head_dim)
    attended = attention(fused, query.split(seq_lens, 2), key.split(seq_lens, 2), value.split(seq_lens, 2), training)
    hidden = hidden + project(fused.o, attended, training)[0]
    return hidden + _mlp(fused, rms_norm(layer.post_attention_layernorm, hidden), training)


def last_layer_forward(fused: FusedLayer, hidden, cos, sin, seq_lens, keep, targets_per_example,
                       training: bool) -> torch.Tensor:
    """The last decoder layer with queries, attention output and MLP at the loss positions `keep` only
    (other positions are needed there only as keys and values). Returns [targets, width]."""
    layer = fused.layer
    x = rms_norm(layer.input_layernorm, hidden)
    key, value = project(fused.kv, x, training)
    query = project(fused.q, x[keep], training)[0]
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    key = _heads(rotary(key.view(-1, fused.kv_heads, fused.head_dim), cos, sin), fused.kv_heads, fused.head_dim)
    query = _heads(rotary(query.view(-1, fused.heads, fused.head_dim), cos[keep], sin[keep]), fused.heads,
                   fused.head_dim)
    value = _heads(value, fused.kv_heads, fused.head_dim)
    # An example's loss positions are contiguous and end one before its last token (data.target_positions),
    # so its queries are the last n of its first length - 1 positions; its last key is never attended to.
    keys = [k[:, :, : n - 1] for k, n in zip(key.split(seq_lens, 2), seq_lens)]
    values = [v[:, :, : n - 1] for v, n in zip(value.split(seq_lens, 2), seq_lens)]
    attended = attention(fused, query.split(targets_per_example, 2), keys, values, training)
    hidden = hidden[keep] + project(fused.o, attended, training)[0]
    return hidden + _mlp(fused, rms_norm(layer.post_attention_layernorm, hidden), training)


def _mlp(fused: FusedLayer, x, training: bool) -> torch.Tensor:
    gate, up = project(fused.gate_up, x, training)
    return project(fused.down, F.silu(gate) * up, training)[0]
