"""Loading the base model and tokenizer, attaching LoRA, and the forward pass that yields summed token losses.

Packed rows use `segment_attention`: the model is loaded with `attn_implementation="sdpa"`, and for a
packed forward the attention is switched to `sdpa_packed`, which runs `scaled_dot_product_attention`
with `is_causal=True` on each example's slice of the row. That is exactly the block-diagonal causal
mask (`PackedBatch.block_causal_mask`) without its n^2 cost: a 4D mask makes every query look at every
key of the row (about 8x slower on the CPU for 8 examples), and restarted `position_ids` alone do not
isolate examples at all (NOTES.md, 2026-11-24).

`TrainingForward` is the module training calls (and DDP wraps): it returns logits at the loss positions
only, and for packed rows of Llama-family models it runs the last decoder layer's queries, MLP and the
lm_head at those positions alone. In fp32 on the CPU the decoder layers themselves are the fused ones of
`services.trainer.fused` (fewer passes over memory per projection and norm). Tests check every shortcut
against the model's own forward.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from services.common.hyperparameters import TrainingConfig
from services.common.lora import check_target_modules
from services.trainer.data import PackedBatch

PACKED_ATTENTION = "sdpa_packed"
_SEQ_LENS_KWARG = "packed_seq_lens"


def packed_sdpa_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """Attention over a packed row [1, heads, n, dim]: causal SDPA on each example's own slice."""
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    seq_lens = kwargs.get(_SEQ_LENS_KWARG)
    if seq_lens is None or query.shape[0] != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    # split (not slicing) keeps the backward a single concatenation instead of one zero-filled copy per slice.
    outputs = [
        causal_attention(q, k, v, dropout, scaling)
        for q, k, v in zip(query.split(seq_lens, 2), key.split(seq_lens, 2), value.split(seq_lens, 2))
    ]
    return torch.cat(outputs, 2).transpose(1, 2).contiguous(), None


def causal_attention(q, k, v, dropout: float, scaling: float | None) -> torch.Tensor:
    """Causal attention of the last q_len positions of a sequence over all its k_len positions.

    One SDPA call per sequence: on the CPU its flash kernel with `is_causal` was measured 1.2-2.5x faster
    (forward and backward, 4-8 heads, 400-800 positions) than cutting the queries into chunks that skip
    the masked triangle, which an earlier machine had preferred."""
    if q.shape[2] == k.shape[2]:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=scaling, is_causal=True)
    from torch.nn.attention.bias import causal_lower_right

    return F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(q.shape[2], k.shape[2]),
                                          dropout_p=dropout, scale=scaling)


def _register_packed_attention() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(PACKED_ATTENTION, packed_sdpa_attention)


def hf_config(model):
    """The transformers config under DDP and peft wrappers."""
    return getattr(model, "module", model).config


@contextlib.contextmanager
def segment_attention(model, enabled: bool = True):
    """Route attention through `sdpa_packed` for the duration of a packed forward (and its backward)."""
    config = hf_config(model)
    previous = config._attn_implementation
    if enabled:
        _register_packed_attention()
        config._attn_implementation = PACKED_ATTENTION
    try:
        yield
    finally:
        config._attn_implementation = previous


def select_device(requested: str = "auto", local_rank: int = 0) -> torch.device:
    """The GPU for "auto" when there is one, else the CPU; "cuda" on a machine without CUDA is an error."""
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        from services.common.errors import FailedPrecondition

        raise FailedPrecondition("a GPU was requested but CUDA is not available on this machine",
                                 reason="CUDA_UNAVAILABLE")
    return torch.device("cuda", local_rank)


def autocast_for(device: torch.device):
    """bf16 autocast on a CUDA GPU that supports it; nothing on the CPU, where training stays in fp32."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def load_tokenizer(model_path: str | Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(model_path: str | Path, device: torch.device):
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32, attn_implementation="sdpa")
    return model.to(device)


def apply_lora(model, config: TrainingConfig):
    from peft import LoraConfig, get_peft_model

    check_target_modules(config.target_modules, model)
    targets = config.target_modules[0] if config.target_modules == ["all-linear"] else list(config.target_modules)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    with quiet_peft():
        model = get_peft_model(model, lora)
    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if isinstance(dropouts, torch.nn.ModuleDict):
            for name, dropout in dropouts.items():
                if isinstance(dropout, torch.nn.Dropout) and dropout.p > 0:
                    dropouts[name] = LoraDropout(dropout.p)
    return model


class LoraDropout(torch.nn.Module):
    """`nn.Dropout(p)` for LoRA inputs, with a cheaper mask on the CPU. torch's CPU `bernoulli_` makes one
    generator call per element (4.8 ms forward and backward for a 3500 x 256 input here, about 6% of a
    LoRA step); this draws 64 random bits per call and cuts them into four 16-bit lanes (2.4 ms). The
    drop probability is rounded to a multiple of 1/65536 (0.05 becomes 0.0500031) and kept values are
    scaled by the exact inverse of the keep rate, so the expectation is unchanged. The bits come from
    torch's default generator, whose state checkpoints save and restore. On a GPU it is `F.dropout`."""

    LANES = 1 << 16

    def __init__(self, p: float):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.dropped = round(p * self.LANES)  # lane values below this, as unsigned 16-bit numbers, are dropped
        self.scale = self.LANES / (self.LANES - self.dropped)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.dropped == 0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        return x * self.scaled_mask(x)

    def scaled_mask(self, x: torch.Tensor) -> torch.Tensor:
        """A fresh mask for x (CPU): 0 where dropped, the inverse keep rate elsewhere; what `forward` multiplies by."""
        if x.device.type != "cpu":
            return F.dropout(torch.ones_like(x), self.p, True)
        n = x.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(-(1 << 63), None)  # all 64 bits
        keep = bits.view(torch.int16)[:n].view(x.shape) >= self.dropped - (1 << 15)  # int16 lanes: uniform from -2^15
        return keep.to(x.dtype).mul_(self.scale)

    def extra_repr(self) -> str:
        return f"p={self.p}"


@contextlib.contextmanager
def quiet_peft():
    """peft 0.21 reads a transformers attribute that 5.24 deprecates; the warning says nothing about our use."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*is_gradient_checkpointing.*")
        yield


# Decoder layers whose forward is exactly: x + attn(norm(x)); then x + mlp(norm(x)), with rotary q/k.
LAST_LAYER_FAST_PATH = frozenset({"LlamaDecoderLayer", "MistralDecoderLayer", "Qwen2DecoderLayer"})


class TrainingForward(torch.nn.Module):
    """The forward pass training and evaluation need: logits at the loss positions only. DDP wraps this.

    For packed rows of Llama-family models the last decoder layer runs its queries, attention output,
    MLP and the lm_head only at loss positions: there, other positions matter only as keys and values.
    That is the same computation (tests compare it with the plain forward) and about 10-15% less work.
    """

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        decoder = getattr(base, "model", None)
        layers = getattr(decoder, "layers", None)
        self.fast_last_layer = bool(
            layers is not None and len(layers) > 0 and type(layers[-1]).__name__ in LAST_LAYER_FAST_PATH
            and all(hasattr(decoder, name) for name in ("embed_tokens", "rotary_emb", "norm"))
            and hasattr(base, "lm_head")
        )
        self._base, self._decoder = base, decoder
        self.use_fused = True
        self._fused, self._fused_modules = None, []

    def forward(self, input_ids, position_ids, attention_mask, loss_mask, seq_lens: list[int], packed: bool,
                example_of_target=None):
        if packed and self.fast_last_layer and example_of_target is not None:
            fused = self._fused_layers(input_ids.device)
            if fused is not None:
                return self._packed_fused(fused, input_ids, position_ids, loss_mask, seq_lens, example_of_target)
            return self._packed_fast(input_ids, position_ids, loss_mask, seq_lens, example_of_target)
        with segment_attention(self.model, enabled=packed):
            kwargs = {_SEQ_LENS_KWARG: seq_lens} if packed else {}
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             position_ids=position_ids if packed else None, logits_to_keep=loss_mask,
                             use_cache=False, **kwargs)
        logits = out.logits
        return logits.reshape(-1, logits.shape[-1])

    def _fused_layers(self, device: torch.device):
        """The fused decoder layers (`services.trainer.fused`) when they apply now: fp32 on the CPU, no
        autocast, every layer and projection of a supported kind, no adapter merged. Built once, kept while
        they apply; `use_fused = False` turns them off."""
        from services.trainer import fused

        if not self.use_fused or device.type != "cpu" or torch.is_autocast_enabled("cpu"):
            return None
        if self._fused is not None and all(fused.projection_of(m) is not None for m in self._fused_modules):
            return self._fused
        self._fused = fused.fused_layers(self._decoder)
        self._fused_modules = [m for layer in self._decoder.layers for m in layer.modules() if hasattr(m, "base_layer")]
        return self._fused

    def _packed_fused(self, layers, input_ids, position_ids, loss_mask, seq_lens, example_of_target):
        from services.trainer import fused

        decoder = self._decoder
        hidden = decoder.embed_tokens(input_ids)
        cos, sin = decoder.rotary_emb(hidden, position_ids=position_ids)
        hidden, cos, sin = hidden[0], cos[0], sin[0]
        for layer in layers[:-1]:
            hidden = fused.layer_forward(layer, hidden, cos, sin, seq_lens, self.training)
        targets_per_example = torch.bincount(example_of_target, minlength=len(seq_lens)).tolist()
        hidden = fused.last_layer_forward(layers[-1], hidden, cos, sin, seq_lens, loss_mask[0], targets_per_example,
                                          self.training)
        return self._base.lm_head(decoder.norm(hidden))

    def _packed_fast(self, input_ids, position_ids, loss_mask, seq_lens, example_of_target):
        import sys

        decoder = self._decoder
        hidden = decoder.embed_tokens(input_ids)
        cos, sin = decoder.rotary_emb(hidden, position_ids=position_ids)
        with segment_attention(self.model):
            for layer in decoder.layers[:-1]:
                hidden = layer(hidden, attention_mask=None, position_ids=position_ids, position_embeddings=(cos, sin),
                               **{_SEQ_LENS_KWARG: seq_lens})
        layer = decoder.layers[-1]
        attn = layer.self_attn
        rotary = sys.modules[type(layer).__module__].apply_rotary_pos_emb
        keep = loss_mask[0]
        targets_per_example = torch.bincount(example_of_target.cpu(), minlength=len(seq_lens)).tolist()

        x = layer.input_layernorm(hidden)
        head_dim = attn.head_dim
        key = attn.k_proj(x).view(1, x.shape[1], -1, head_dim).transpose(1, 2)
        value = attn.v_proj(x).view(1, x.shape[1], -1, head_dim).transpose(1, 2)
        query = attn.q_proj(x[:, keep]).view(1, -1, attn.config.num_attention_heads, head_dim).transpose(1, 2)
        _, key = rotary(key, key, cos, sin)
        query, _ = rotary(query, query, cos[:, keep], sin[:, keep])
        groups = getattr(attn, "num_key_value_groups", 1)
        if groups > 1:
            from transformers.integrations.sdpa_attention import repeat_kv

            key, value = repeat_kv(key, groups), repeat_kv(value, groups)
        dropout = attn.attention_dropout if self.training else 0.0
        # An example's loss positions are contiguous and end one before its last token (data.target_positions),
        # so its queries are the last n of its first length - 1 positions: lower-right causal alignment.
        outputs = [
            causal_attention(q, k[:, :, : length - 1], v[:, :, : length - 1], dropout, attn.scaling)
            for q, k, v, length in zip(query.split(targets_per_example, 2), key.split(seq_lens, 2),
                                       value.split(seq_lens, 2), seq_lens)
        ]
        attended = torch.cat(outputs, 2).transpose(1, 2).reshape(1, query.shape[2], -1)
        hidden = hidden[:, keep] + attn.o_proj(attended)
        hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        logits = self._base.lm_head(decoder.norm(hidden))
        return logits.reshape(-1, logits.shape[-1])


def training_forward(model) -> torch.nn.Module:
    return model if isinstance(model, TrainingForward) or hasattr(model, "module") else TrainingForward(model)


def target_logits(model, batch: PackedBatch) -> torch.Tensor:
    """Logits [num_targets, vocab] at the loss positions only (the lm_head never sees prompt positions)."""
    return training_forward(model)(batch.input_ids, batch.position_ids, batch.attention_mask, batch.loss_mask,
                                   batch.seq_lens, batch.packed, batch.example_of_target)


def summed_loss(model, batch: PackedBatch) -> torch.Tensor:
    """Sum of token cross-entropies over the batch's target tokens (the caller divides by the step's count)."""
    logits = target_logits(model, batch)
    return F.cross_entropy(logits.float(), batch.targets, reduction="sum")


@torch.no_grad()
def per_example_losses(model, batch: PackedBatch) -> torch.Tensor:
    """Summed loss of each example in the batch, [num_examples]; used to check that packing changes nothing."""
    logits = target_logits(model, batch)
    token_losses = F.cross_entropy(logits.float(), batch.targets, reduction="none")
    out = torch.zeros(batch.num_examples, dtype=torch.float64)
    return out.index_add_(0, batch.example_of_target, token_losses.double().cpu())
