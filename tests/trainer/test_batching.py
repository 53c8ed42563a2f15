"""Concurrent generations decoded together: the same answers as alone, in one batch, rows that end leave."""

from __future__ import annotations

import threading

from services.trainer.batching import Batcher
from services.trainer.generation import Usage, iter_token_ids, load_for_generation
from services.trainer.prompting import prompt_ids
from tests.trainer.helpers import model_dir  # noqa: F401 (fixture)

PROMPTS = ["hi", "How do I reset my password?", "alpha bravo charlie delta echo foxtrot golf hotel", "x" * 40,
           "Where is my order?", "a", "Refunds take 5 to 10 business days, how long is shipping?", "zz top"]


def concurrently(batcher: Batcher, prompts: list[str], tokenizer, max_new: int) -> list[tuple[list[int], Usage]]:
    results: list = [None] * len(prompts)

    def run(i: int) -> None:
        usage = Usage()
        results[i] = (list(batcher.generate(prompt_ids(tokenizer, prompts[i]), max_new, usage=usage)), usage)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_eight_concurrent_answers_are_each_the_answer_alone_in_one_batch(model_dir):
    model, tokenizer = load_for_generation(str(model_dir))
    alone = []
    for prompt in PROMPTS:
        usage = Usage()
        alone.append((list(iter_token_ids(model, tokenizer, prompt_ids(tokenizer, prompt), 20, usage=usage)), usage))
    batcher = Batcher(model, tokenizer, window_s=0.2)
    together = concurrently(batcher, PROMPTS, tokenizer, 20)
    assert batcher.batch_sizes == [8]
    for (ids, usage), (want, want_usage) in zip(together, alone):
        assert ids == want
        assert (usage.prompt_tokens, usage.completion_tokens, usage.finish_reason) == (
            want_usage.prompt_tokens, want_usage.completion_tokens, want_usage.finish_reason)


def test_a_reader_that_stops_leaves_the_batch_and_the_others_go_on(model_dir):
    model, tokenizer = load_for_generation(str(model_dir))
    batcher = Batcher(model, tokenizer, window_s=0.2)
    results: dict[str, list[int]] = {}

    def short() -> None:
        tokens = batcher.generate(prompt_ids(tokenizer, "hi"), 30)
        results["short"] = [next(tokens), next(tokens)]
        tokens.close()  # a stop text seen, or the call cancelled

    def full() -> None:
        results["full"] = list(batcher.generate(prompt_ids(tokenizer, "Where is my order?"), 30))

    threads = [threading.Thread(target=short), threading.Thread(target=full)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    want = list(iter_token_ids(model, tokenizer, prompt_ids(tokenizer, "Where is my order?"), 30))
    assert len(results["short"]) == 2 and results["full"] == want
