"""Packing changes the layout, never the numbers: per-example losses packed equal those computed alone."""

from __future__ import annotations

import pytest
import torch

from services.trainer.data import collate, count_targets, epoch_order, micro_batches, shard, tokenize_rows
from services.trainer.modeling import (
    CPU_QUERY_CHUNK,
    TrainingForward,
    apply_lora,
    load_base_model,
    load_tokenizer,
    per_example_losses,
    summed_loss,
    target_logits,
)
from services.trainer.prompting import IGNORE_INDEX
from services.trainer.synthetic import synthetic_rows
from tests.trainer.helpers import TRAIN_ROWS, model_dir, small_config  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def model_and_examples(model_dir):
    path = model_dir
    tokenizer = load_tokenizer(path)
    torch.manual_seed(0)
    model = apply_lora(load_base_model(path, torch.device("cpu")), small_config(lora_dropout=0.0))
    # Non-zero LoRA B so that the adapter takes part in the comparison.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    model.eval()
    examples = tokenize_rows(tokenizer, TRAIN_ROWS[:6], 96).examples
    return model, tokenizer, examples


def _alone(model, examples):
    return torch.cat([per_example_losses(model, collate([e], packed=True)) for e in examples])


def test_packed_per_example_losses_equal_losses_alone(model_and_examples):
    model, _, examples = model_and_examples
    alone = _alone(model, examples)
    packed = per_example_losses(model, collate(examples, packed=True))
    assert packed.shape == (len(examples),)
    torch.testing.assert_close(packed, alone, atol=1e-4, rtol=0)


def test_padded_per_example_losses_equal_losses_alone(model_and_examples):
    model, tokenizer, examples = model_and_examples
    padded = per_example_losses(model, collate(examples, packed=False, pad_token_id=tokenizer.pad_token_id))
    torch.testing.assert_close(padded, _alone(model, examples), atol=1e-4, rtol=0)


@pytest.mark.parametrize("long", [False, True], ids=["short", "long-chunked"])
def test_block_diagonal_mask_under_stock_sdpa_matches_segment_attention(model_and_examples, long):
    """The 4D [1, 1, n, n] mask is the reference the faster per-example attention must reproduce
    (long examples also take the CPU path that cuts queries into chunks)."""
    model, tokenizer, examples = model_and_examples
    if long:
        examples = tokenize_rows(tokenizer, synthetic_rows(3, seed=5, min_length=150, max_length=300), 1024).examples
        assert min(len(e) for e in examples) >= 2 * CPU_QUERY_CHUNK
    batch = collate(examples, packed=True)
    with torch.no_grad():
        masked = model(input_ids=batch.input_ids, position_ids=batch.position_ids,
                       attention_mask=batch.block_causal_mask()).logits[0][batch.loss_mask[0]]
        segmented = target_logits(model, batch)
    torch.testing.assert_close(segmented, masked, atol=1e-4, rtol=0)


def test_restarted_positions_and_shifted_targets():
    from services.trainer.prompting import EncodedExample

    a, b = EncodedExample((1, 2, 3, 4), num_prompt=2), EncodedExample((5, 6, 7), num_prompt=1)
    batch = collate([a, b], packed=True)
    assert batch.position_ids.tolist() == [[0, 1, 2, 3, 0, 1, 2]]
    # Position 1 predicts 3, 2 predicts 4; position 4 (b's first) predicts 6, 5 predicts 7; 3 never predicts b.
    assert batch.loss_mask.nonzero()[:, 1].tolist() == [1, 2, 4, 5]
    assert batch.targets.tolist() == [3, 4, 6, 7]
    assert a.labels() == [IGNORE_INDEX, IGNORE_INDEX, 3, 4]
    assert batch.num_tokens == 7 and count_targets(a) + count_targets(b) == batch.num_targets
    mask = batch.block_causal_mask()[0, 0]
    assert mask.shape == (7, 7) and not mask[4, 3] and mask[3, 0] and mask[6, 4] and not mask[0, 1]


def test_gradients_do_not_depend_on_layout(model_and_examples):
    """Summed loss over the step's targets: packed and padded give the same gradient."""
    model, tokenizer, examples = model_and_examples
    grads = []
    for packed in (True, False):
        model.zero_grad(set_to_none=True)
        batch = collate(examples, packed=packed, pad_token_id=tokenizer.pad_token_id)
        (summed_loss(model, batch) / batch.num_targets).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad]))
    model.zero_grad(set_to_none=True)
    torch.testing.assert_close(grads[0], grads[1], atol=1e-5, rtol=1e-4)


def test_epoch_order_is_reproducible_and_shards_cover_it():
    assert epoch_order(10, 3, 0) == epoch_order(10, 3, 0)
    assert epoch_order(10, 3, 0) != epoch_order(10, 3, 1)
    order = epoch_order(9, 3, 0, world_size=2)
    assert len(order) == 10 and set(order) == set(range(9))
    batches = micro_batches(order, batch_size=2, world_size=2)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(shard(batches[0], 0, 2) + shard(batches[0], 1, 2)) == sorted(batches[0])


def _gqa_llama():
    """A small Llama with grouped-query attention (2 key/value heads for 4 query heads)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1)
    config = LlamaConfig(vocab_size=259, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         attn_implementation="sdpa")
    return LlamaForCausalLM(config)


@pytest.mark.parametrize("which", ["builtin", "gqa"])
def test_last_layer_fast_path_equals_the_plain_forward(model_and_examples, which):
    """Logits and LoRA gradients of the pruned last layer equal the model's own forward, long rows included."""
    model, tokenizer, _ = model_and_examples
    if which == "gqa":
        model = apply_lora(_gqa_llama(), small_config(lora_dropout=0.0))
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.02)
    rows = TRAIN_ROWS[:3] + synthetic_rows(2, seed=6, min_length=150, max_length=300)
    batch = collate(tokenize_rows(tokenizer, rows, 1024).examples, packed=True)
    results = []
    for fast in (True, False):
        module = TrainingForward(model)
        assert module.fast_last_layer
        module.fast_last_layer = fast
        model.zero_grad(set_to_none=True)
        logits = module(batch.input_ids, batch.position_ids, None, batch.loss_mask, batch.seq_lens, True,
                        batch.example_of_target)
        torch.nn.functional.cross_entropy(logits, batch.targets, reduction="sum").backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.requires_grad])
        results.append((logits.detach(), grads))
    model.zero_grad(set_to_none=True)
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-5, rtol=1e-4)
