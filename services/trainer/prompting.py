"""The prompt template shared by training, evaluation and generation, and the tokenisation of one example.

Template:
- If the tokenizer has a chat template, the prompt is
  `tokenizer.apply_chat_template([{"role": "user", "content": input}], add_generation_prompt=True)`.
- Otherwise it is the plain template `PLAIN_TEMPLATE` ("### Input:\\n{input}\\n\\n### Response:\\n"),
  preceded by the BOS token when the tokenizer has one and does not add it itself.

The target is `output` followed by EOS. Loss is computed on the target tokens only (the prompt's
labels are -100). An example longer than `max_seq_length` keeps the head of its prompt and as much
of the target as fits; if the prompt alone fills the budget, the prompt is cut so that one target
token remains. Truncated examples are flagged so that callers can count and report them.
"""

from __future__ import annotations

from dataclasses import dataclass

PLAIN_TEMPLATE = "### Input:\n{input}\n\n### Response:\n"
IGNORE_INDEX = -100


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_text(tokenizer, input_text: str) -> str:
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": input_text}], add_generation_prompt=True, tokenize=False
        )
    return PLAIN_TEMPLATE.format(input=input_text)


def prompt_ids(tokenizer, input_text: str) -> list[int]:
    """Token ids of the prompt exactly as training sees them; generation starts right after these."""
    text = prompt_text(tokenizer, input_text)
    if has_chat_template(tokenizer):
        # Chat templates write their own BOS text; adding special tokens again would double it.
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
    bos = tokenizer.bos_token_id
    if bos is not None and (not ids or ids[0] != bos):
        ids.insert(0, bos)
    return ids


def target_ids(tokenizer, output_text: str) -> list[int]:
    ids = list(tokenizer(output_text, add_special_tokens=False)["input_ids"])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return ids


@dataclass(frozen=True)
class EncodedExample:
    """One tokenised example: `input_ids` is prompt then target; the first `num_prompt` ids carry no loss."""

    input_ids: tuple[int, ...]
    num_prompt: int
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def num_targets(self) -> int:
        return len(self.input_ids) - self.num_prompt

    def labels(self) -> list[int]:
        """Unshifted labels in the Hugging Face convention (the model shifts them)."""
        return [IGNORE_INDEX] * self.num_prompt + list(self.input_ids[self.num_prompt :])


def encode_example(tokenizer, input_text: str, output_text: str, max_seq_length: int) -> EncodedExample:
    prompt = prompt_ids(tokenizer, input_text)
    target = target_ids(tokenizer, output_text)
    if not target:
        # A tokenizer without EOS and an empty output: nothing to learn from; keep one prompt token as target.
        prompt, target = prompt[:-1], prompt[-1:]
    truncated = len(prompt) + len(target) > max_seq_length
    if truncated:
        if len(prompt) >= max_seq_length:
            prompt = prompt[: max_seq_length - 1]
        target = target[: max_seq_length - len(prompt)]
    return EncodedExample(tuple(prompt + target), len(prompt), truncated)
