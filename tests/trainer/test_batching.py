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


def test_a_request_arriving_mid_batch_joins_it_and_still_answers_as_alone(model_dir):
    """Continuous batching: the second prompt is submitted after the first's batch has started; its cache is
    merged into the running batch (the shorter side left-padded) and every answer is the one it gets alone."""
    model, tokenizer = load_for_generation(str(model_dir))
    batcher = Batcher(model, tokenizer, window_s=0.0)
    first_started = threading.Event()
    results: dict[str, list[int]] = {}

    def first() -> None:
        tokens = batcher.generate(prompt_ids(tokenizer, PROMPTS[2]), 30)
        got = [next(tokens)]
        first_started.set()
        results["first"] = got + list(tokens)

    def later(key: str, prompt: str) -> None:
        first_started.wait(30)
        results[key] = list(batcher.generate(prompt_ids(tokenizer, prompt), 20))

    threads = [threading.Thread(target=first), threading.Thread(target=later, args=("short", PROMPTS[0])),
               threading.Thread(target=later, args=("long", PROMPTS[3]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results["first"] == list(iter_token_ids(model, tokenizer, prompt_ids(tokenizer, PROMPTS[2]), 30))
    assert results["short"] == list(iter_token_ids(model, tokenizer, prompt_ids(tokenizer, PROMPTS[0]), 20))
    assert results["long"] == list(iter_token_ids(model, tokenizer, prompt_ids(tokenizer, PROMPTS[3]), 20))
    assert batcher.joined >= 1  # at least one newcomer was merged into the running batch
