"""The pretrained built-in model's build (`services/catalog/pretraining.py`, `builtin_models.ensure_pretrained`):
deterministic (the same seed gives the same weights hash), done once per machine (each data folder copies the
cached weights), keyed by everything that makes the weights, and trained on nothing of the demo's data."""

from __future__ import annotations

import dataclasses
import json
import runpy

import pytest

from services.catalog import builtin_models
from services.catalog.builtin_models import BUILTIN_MODELS, MARKER, PRETRAINED_MODEL_ID, ensure_builtin_model, ensure_pretrained, pretrained_dir
from services.catalog.pretraining import PretrainPlan, build, corpus, weights_digest
from tests.cli.conftest import EXAMPLES

pytestmark = pytest.mark.slow

# The real plan's code path with a few small steps: the full plan takes about a minute.
SHORT = PretrainPlan(steps=3, batch_size=4, warmup_steps=1)


@pytest.fixture
def short_spec(monkeypatch, tmp_path):
    monkeypatch.setenv("FINETUNE_BUILTIN_CACHE_DIR", str(tmp_path / "cache"))
    spec = dataclasses.replace(BUILTIN_MODELS[PRETRAINED_MODEL_ID], pretrain=SHORT)
    monkeypatch.setitem(BUILTIN_MODELS, spec.id, spec)
    return spec


def marker(path) -> dict:
    return json.loads((path / MARKER).read_text())


def test_the_same_seed_gives_the_same_weights_and_another_seed_other_weights(tmp_path, short_spec):
    first, second = ensure_pretrained(short_spec, tmp_path / "a"), ensure_pretrained(short_spec, tmp_path / "b")
    digest = marker(first)["weights_sha256"]
    assert marker(second)["weights_sha256"] == digest == weights_digest(first) == weights_digest(second)
    assert marker(first)["plan"] == SHORT.as_dict() and marker(first)["final_loss"] < marker(first)["first_loss"]
    other = build(short_spec.id, tmp_path / "other", plan=dataclasses.replace(SHORT, seed=SHORT.seed + 1), progress=False)
    assert other["weights_sha256"] != digest


def test_it_is_pretrained_once_and_every_data_folder_gets_a_copy(tmp_path, short_spec, monkeypatch):
    from transformers import AutoModelForCausalLM

    first = ensure_builtin_model(tmp_path / "data1", short_spec.id)

    def pretrain_again(*args, **kwargs):
        raise AssertionError("pretrained a second time")

    monkeypatch.setattr(builtin_models.subprocess, "run", pretrain_again)
    second = ensure_builtin_model(tmp_path / "data2", short_spec.id)
    assert first != second and weights_digest(first) == weights_digest(second) == marker(second)["weights_sha256"]
    assert ensure_builtin_model(tmp_path / "data1", short_spec.id) == first
    assert AutoModelForCausalLM.from_pretrained(second).num_parameters() == marker(second)["parameters"]


def test_the_cache_key_follows_the_plan(short_spec):
    assert pretrained_dir(short_spec) == pretrained_dir(dataclasses.replace(short_spec))
    assert pretrained_dir(short_spec) != pretrained_dir(dataclasses.replace(short_spec, pretrain=dataclasses.replace(SHORT, steps=4)))
    assert pretrained_dir(short_spec) != pretrained_dir(dataclasses.replace(short_spec, hidden_size=256))


def test_the_corpus_holds_nothing_of_the_demo_data():
    script = runpy.run_path(str(EXAMPLES / "support_intents.py"))
    train, heldout = script["build"]()
    plan = BUILTIN_MODELS[PRETRAINED_MODEL_ID].pretrain
    rows = corpus(plan.steps * plan.batch_size, plan.seed)
    assert rows == corpus(plan.steps * plan.batch_size, plan.seed)
    texts = {r["input"] for r in rows} | {r["output"] for r in rows}
    assert not texts & ({r["input"] for r in train + heldout} | {r["output"] for r in train})
