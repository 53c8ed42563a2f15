"""Packing changes the layout, never the numbers: per-example losses packed equal those computed alone."""

from __future__ import annotations

import pytest
import torch

from services.trainer.data import collate, count_targets, epoch_order, micro_batches, shard, tokenize_rows
from services.trainer.modeling import (
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
from tests.trainer.helpers import (  # noqa: F401 (fixture)
    TRAIN_ROWS,
    long_packed_batch,
    logits_and_lora_grads,
    model_dir,
    small_config,
    tiny_model_of_family,
    with_nonzero_lora_b,
)


@pytest.fixture(scope="module")
def model_and_examples(model_dir):
    path = model_dir
    tokenizer = load_tokenizer(path)
    torch.manual_seed(0)
    model = with_nonzero_lora_b(apply_lora(load_base_model(path, torch.device("cpu")), small_config(lora_dropout=0.0)))
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


@pytest.mark.parametrize("long", [False, True], ids=["short", "long"])
def test_block_diagonal_mask_under_stock_sdpa_matches_segment_attention(model_and_examples, long):
    """The 4D [1, 1, n, n] mask is the reference the faster per-example attention must reproduce
    (long examples included)."""
    model, tokenizer, examples = model_and_examples
    if long:
        examples = tokenize_rows(tokenizer, synthetic_rows(3, seed=5, min_length=150, max_length=300), 1024).examples
        assert min(len(e) for e in examples) >= 256
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


@pytest.mark.parametrize("which", ["builtin", "gqa"])
def test_last_layer_fast_path_equals_the_plain_forward(model_and_examples, which):
    """Logits and LoRA gradients of the pruned last layer (the model's own layers below it, not the fused
    ones: tests/trainer/test_fused.py) equal the model's own forward, long rows included."""
    model, tokenizer, _ = model_and_examples
    if which == "gqa":
        model = with_nonzero_lora_b(apply_lora(tiny_model_of_family("gqa"), small_config(lora_dropout=0.0)))
    batch = long_packed_batch(tokenizer)
    results = []
    for fast in (True, False):
        module = TrainingForward(model)
        assert module.fast_last_layer
        module.fast_last_layer, module.use_fused = fast, False
        results.append(logits_and_lora_grads(module, model, batch))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-4, rtol=0)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-5, rtol=1e-4)
