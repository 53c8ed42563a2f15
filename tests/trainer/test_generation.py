"""Token streaming: pieces join to the full completion, and multi-byte characters are never split."""

from __future__ import annotations

import pytest

from services.catalog.builtin_models import build_tokenizer
import torch

from services.trainer.generation import generate_text, load_for_generation, nucleus, stream_generate, stream_ids_as_text
from tests.trainer.helpers import model_dir  # noqa: F401 (fixture)


def test_pieces_wait_for_whole_characters():
    tokenizer = build_tokenizer()
    ids = tokenizer("héllo 👋!", add_special_tokens=False)["input_ids"]
    assert len(ids) == len("héllo 👋!".encode())  # one token per byte
    pieces = list(stream_ids_as_text(tokenizer, iter(ids)))
    assert "".join(pieces) == "héllo 👋!"
    assert "\ufffd" not in "".join(pieces) and "👋" in pieces


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_stream_generate_from_a_model_directory(model_dir, temperature):
    source = str(model_dir)
    pieces = list(stream_generate(source, "alpha bravo", max_new_tokens=8, temperature=temperature, seed=3))
    assert 0 < len(pieces) <= 8 and all(isinstance(p, str) for p in pieces)
    if temperature == 0.0:
        model, tokenizer = load_for_generation(source)
        assert "".join(pieces) == generate_text(model, tokenizer, "alpha bravo", max_new_tokens=8)
    else:
        again = list(stream_generate(source, "alpha bravo", max_new_tokens=8, temperature=temperature, seed=3))
        assert again == pieces  # a seed makes sampling repeatable


def test_nucleus_keeps_the_most_likely_tokens_up_to_top_p():
    probs = torch.tensor([0.1, 0.5, 0.3, 0.1])
    assert torch.allclose(nucleus(probs, 0.7), torch.tensor([0.0, 0.625, 0.375, 0.0]))  # 0.5 falls short, 0.5+0.3 reaches
    assert torch.allclose(nucleus(probs, 0.2), torch.tensor([0.0, 1.0, 0.0, 0.0]))  # always at least the most likely
    assert torch.equal(nucleus(probs, 0.0), probs) and torch.equal(nucleus(probs, 1.0), probs)


@pytest.mark.parametrize("pieces, stop, expected", [
    (["Hello wor", "ld. Bye"], ["."], ["Hello wor", "ld"]),
    (["ab", "c<", "/s", ">tail"], ["</s>"], ["ab", "c"]),  # the stop text spans pieces: none of it yielded
    (["a<", "b"], ["</s>"], ["a", "<b"]),  # held back while it could begin one, then yielded
    (["STOP"], ["STOP"], []),
    (["no stop here"], ["zz"], ["no stop here"]),
])
def test_until_stop_never_yields_any_of_a_stop_text(pieces, stop, expected):
    from services.trainer.generation import Usage, until_stop

    usage = Usage()
    assert list(until_stop(iter(pieces), stop, usage)) == expected
    assert (usage.finish_reason == "stop") == any(s in "".join(pieces) for s in stop)
