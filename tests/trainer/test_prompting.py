"""The prompt template, loss only on outputs, and counted truncation."""

from __future__ import annotations

import pytest

from services.catalog.builtin_models import build_tokenizer
from services.trainer.data import tokenize_rows
from services.trainer.prompting import IGNORE_INDEX, PLAIN_TEMPLATE, encode_example, prompt_ids, prompt_text


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


def test_plain_template_with_bos_and_eos(tokenizer):
    example = encode_example(tokenizer, "2+2?", "4", max_seq_length=512)
    prompt = PLAIN_TEMPLATE.format(input="2+2?")
    assert prompt_text(tokenizer, "2+2?") == prompt
    ids = list(example.input_ids)
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids[1 : example.num_prompt]) == prompt
    assert tokenizer.decode(ids[example.num_prompt : -1]) == "4"
    labels = example.labels()
    assert labels[: example.num_prompt] == [IGNORE_INDEX] * example.num_prompt
    assert labels[example.num_prompt :] == ids[example.num_prompt :]
    assert not example.truncated


def test_chat_template_is_used_when_present():
    tokenizer = build_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    assert prompt_text(tokenizer, "hi") == "<user>hi<assistant>"
    assert tokenizer.decode(prompt_ids(tokenizer, "hi")) == "<user>hi<assistant>"


def test_long_output_keeps_prompt_and_cuts_output(tokenizer):
    example = encode_example(tokenizer, "short", "x" * 100, max_seq_length=48)
    assert len(example) == 48 and example.truncated
    assert example.num_prompt == len(prompt_ids(tokenizer, "short")) and example.num_targets == 48 - example.num_prompt


def test_prompt_filling_the_budget_is_cut_to_leave_one_target(tokenizer):
    example = encode_example(tokenizer, "y" * 100, "answer", max_seq_length=32)
    assert len(example) == 32 and example.num_prompt == 31 and example.num_targets == 1
    assert example.input_ids[0] == tokenizer.bos_token_id


def test_truncations_and_empty_rows_are_counted(tokenizer):
    rows = [{"input": "a", "output": "b"}, {"input": "a" * 50, "output": "b" * 50}, {"input": "", "output": None}]
    dataset = tokenize_rows(tokenizer, rows, max_seq_length=64)
    assert len(dataset) == 2 and dataset.truncated == 1 and dataset.skipped == 1
