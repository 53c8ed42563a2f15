"""Tokenised datasets, the per-epoch shuffled order, and padding-free packed (or padded) micro-batches.

Batch semantics match an unpacked trainer: a micro-batch holds `batch_size` examples (per rank),
and an optimizer step takes `gradient_accumulation_steps` micro-batches. Packing only changes how
those examples are laid out: one row, concatenated, with `position_ids` restarting at 0 for each
example and attention confined to each example (see `recipe.packed_attention`, and
`PackedBatch.block_causal_mask` for the equivalent 4D mask used with stock `sdpa`).

Loss targets are stored already shifted: position `p` of the row predicts `targets` at `p + 1`,
so one example never predicts the next one's first token, and the model's own label shift is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from services.trainer.prompting import EncodedExample, encode_example


@dataclass(frozen=True)
class TokenizedDataset:
    examples: list[EncodedExample]
    truncated: int  # examples cut to max_seq_length
    skipped: int  # rows with neither input nor output

    def __len__(self) -> int:
        return len(self.examples)


def tokenize_rows(tokenizer, rows: list[dict], max_seq_length: int) -> TokenizedDataset:
    examples, skipped = [], 0
    for row in rows:
        input_text, output_text = _text(row.get("input")), _text(row.get("output"))
        if not input_text and not output_text:
            skipped += 1
            continue
        examples.append(encode_example(tokenizer, input_text, output_text, max_seq_length))
    return TokenizedDataset(examples, sum(e.truncated for e in examples), skipped)


def _text(value) -> str:
    return "" if value is None else str(value)


def epoch_order(num_examples: int, seed: int, epoch: int, world_size: int = 1) -> list[int]:
    """The epoch's shuffled order, a pure function of (seed, epoch) so that a resumed run replays it.

    With several ranks the order is padded by wrapping around (like DistributedSampler) so that it
    divides evenly and no rank ever gets an empty micro-batch.
    """
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(num_examples, generator=generator).tolist()
    remainder = len(order) % world_size
    if remainder:
        pad = world_size - remainder
        order += (order * (pad // max(len(order), 1) + 1))[:pad]
    return order


def micro_batches(order: list[int], batch_size: int, world_size: int = 1) -> list[list[int]]:
    """Global micro-batches of `batch_size * world_size` examples; `shard` takes one rank's part."""
    size = batch_size * world_size
    return [order[i : i + size] for i in range(0, len(order), size)]


def shard(global_micro_batch: list[int], rank: int, world_size: int) -> list[int]:
    return global_micro_batch[rank::world_size]


def target_positions(example: EncodedExample) -> range:
    """Positions whose next token is a target (loss) token."""
    return range(max(example.num_prompt, 1) - 1, len(example) - 1)


def count_targets(example: EncodedExample) -> int:
    return len(target_positions(example))


@dataclass
class PackedBatch:
    """Examples laid out for one forward pass, either packed into one row or padded into several.

    `loss_mask` marks the positions whose logits are needed (Hugging Face's boolean `logits_to_keep`
    returns them flattened, row-major); `targets` are the ids they must predict, in that order;
    `example_of_target` says which example each target belongs to.
    """

    input_ids: torch.Tensor  # [rows, length]
    position_ids: torch.Tensor  # [rows, length]
    attention_mask: torch.Tensor | None  # 2D padding mask when padded; None when packed
    seq_lens: list[int]
    loss_mask: torch.Tensor  # [rows, length] bool
    targets: torch.Tensor  # [num_targets]
    example_of_target: torch.Tensor  # [num_targets]
    packed: bool

    @property
    def num_examples(self) -> int:
        return len(self.seq_lens)

    @property
    def num_tokens(self) -> int:
        """Real (non-pad) tokens processed."""
        return sum(self.seq_lens)

    @property
    def num_targets(self) -> int:
        return int(self.targets.numel())

    @property
    def cu_seq_lens(self) -> torch.Tensor:
        lens = torch.tensor([0] + self.seq_lens, dtype=torch.int32)
        return torch.cumsum(lens, 0, dtype=torch.int32)

    def block_causal_mask(self) -> torch.Tensor:
        """The [1, 1, n, n] boolean block-diagonal causal mask of a packed row (True = may attend)."""
        segment = torch.repeat_interleave(torch.arange(len(self.seq_lens)), torch.tensor(self.seq_lens))
        n = segment.numel()
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        return (causal & (segment[:, None] == segment[None, :]))[None, None]

    def to(self, device) -> PackedBatch:
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return PackedBatch(
            move(self.input_ids), move(self.position_ids), move(self.attention_mask), self.seq_lens,
            move(self.loss_mask), move(self.targets), self.example_of_target, self.packed,
        )


def collate(examples: list[EncodedExample], *, packed: bool, pad_token_id: int = 0) -> PackedBatch:
    if packed:
        return _pack(examples)
    return _pad(examples, pad_token_id)


def _pack(examples: list[EncodedExample]) -> PackedBatch:
    ids, positions, loss_index, targets, owners = [], [], [], [], []
    offset = 0
    for k, example in enumerate(examples):
        ids.extend(example.input_ids)
        positions.extend(range(len(example)))
        for p in target_positions(example):
            loss_index.append(offset + p)
            targets.append(example.input_ids[p + 1])
            owners.append(k)
        offset += len(example)
    return PackedBatch(
        input_ids=torch.tensor([ids], dtype=torch.long),
        position_ids=torch.tensor([positions], dtype=torch.long),
        attention_mask=None,
        seq_lens=[len(e) for e in examples],
        loss_mask=_mask_from_index(loss_index, 1, offset),
        targets=torch.tensor(targets, dtype=torch.long),
        example_of_target=torch.tensor(owners, dtype=torch.long),
        packed=True,
    )


def _pad(examples: list[EncodedExample], pad_token_id: int) -> PackedBatch:
    """Right padding to the longest example, as a classic collator does; used when packing is off."""
    length = max(len(e) for e in examples)
    input_ids = torch.full((len(examples), length), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), length), dtype=torch.long)
    loss_index, targets, owners = [], [], []
    for k, example in enumerate(examples):
        input_ids[k, : len(example)] = torch.tensor(example.input_ids)
        attention_mask[k, : len(example)] = 1
        for p in target_positions(example):
            loss_index.append(k * length + p)
            targets.append(example.input_ids[p + 1])
            owners.append(k)
    position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)
    return PackedBatch(
        input_ids=input_ids,
        position_ids=position_ids,
        attention_mask=attention_mask,
        seq_lens=[len(e) for e in examples],
        loss_mask=_mask_from_index(loss_index, len(examples), length),
        targets=torch.tensor(targets, dtype=torch.long),
        example_of_target=torch.tensor(owners, dtype=torch.long),
        packed=False,
    )


def _mask_from_index(flat_index: list[int], rows: int, length: int) -> torch.Tensor:
    mask = torch.zeros(rows * length, dtype=torch.bool)
    mask[torch.tensor(flat_index, dtype=torch.long)] = True
    return mask.view(rows, length)
