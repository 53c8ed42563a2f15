"""Property-based fuzzing of request bodies (hypothesis) against the whole suite as `make run` starts it.

Schemathesis (test_fuzz_openapi.py) generates bodies from the schema; this starts from bodies that are
right, the guide's own examples, and breaks one thing at a time: a value anywhere in the tree replaced by
any JSON value (deep nesting, huge integers, NaN, lone surrogates, nulls, wrong types), a key removed, an
unknown key added, or the whole body replaced. Each answer must be a 2xx or a 4xx whose error names a
reason and says what is wrong: never a 5xx. Deterministic (derandomize), so a failure reproduces.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.suite import running_suite
from tests.web.helpers import csv_bytes, support_rows

pytestmark = pytest.mark.slow

JSON_LEAVES = (
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
    | st.sampled_from(["", "\ud800", "~root", "../../etc/passwd", "finetune-builtin/tiny-llama-3m", "1e309", "x" * 5000])
)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=16)
DEEP = st.integers(min_value=20, max_value=3000).map(lambda n: "[" * n + "]" * n)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON tree: keys of objects and indexes of lists, the root as ()."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: Any, path: tuple, new: Any, delete: bool = False) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    parent = copy
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


@st.composite
def broken(draw, body: dict, pinned: dict) -> bytes:
    """`body` with one thing broken, as the bytes a client sends; `pinned` keys stay as they are."""
    kind = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "deep"]))
    path = draw(st.sampled_from([p for p in _paths(body) if p[:1] not in [(k,) for k in pinned]]))
    if kind == "delete" and path:
        value = _replace(body, path, None, delete=True)
    elif kind == "add":
        where = draw(st.sampled_from([p for p in _paths(body) if isinstance(_get(body, p), dict)]))
        value = _replace(body, where, {**_get(body, where), draw(st.text(min_size=1, max_size=12)): draw(JSON_VALUES)})
    elif kind == "deep":
        marker = "__deep__"
        return json.dumps(_pin(_replace(body, path, marker), pinned)).replace(json.dumps(marker), draw(DEEP)).encode()
    else:
        value = _replace(body, path, draw(JSON_VALUES))
    return json.dumps(_pin(value, pinned), allow_nan=True).encode()


def _pin(value: Any, pinned: dict) -> Any:
    return value | pinned if isinstance(value, dict) else value


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz-suite")
    with running_suite(data, gateway_ports=1) as suite, httpx.Client(base_url=suite.url, timeout=60) as client:
        r = client.post("/api/datasets", files={"file": ("data.csv", csv_bytes(support_rows()), "text/csv")},
                        data={"name": "fuzz"})
        r.raise_for_status()
        yield suite, client, r.json()["uid"]


def bodies(dataset: str) -> dict[str, dict]:
    """The guide's request bodies that are right, by path (a job only validated, so nothing trains)."""
    hyper = {"learning_rate": 0.0002, "batch_size": 4, "epochs": 1, "max_seq_length": 96, "lora_r": 8,
             "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    configuration = {"model": {"uid": "finetune-builtin/tiny-llama-3m"}, "dataset": {"uid": dataset}, "hyperparameters": hyper}
    return {
        "/api/jobs": {"name": "fuzzed", "configuration": configuration, "validateOnly": True, "tags": ["a"],
                      "modelSaving": {"saveModel": True, "modelName": "fuzzed-v1", "pushToHub": False}},
        "/api/configurations/validate": {"mode": "manual", "model": "finetune-builtin/tiny-llama-3m", "dataset": dataset,
                                         "hyperparameters": hyper},
        "/api/models": {"id": "acme/fuzz-1b", "name": "Fuzz 1B", "provider": "Acme", "category": "Instruction Following"},
        "/api/jobs/compare": {"jobIds": ["job_1", "job_2"], "metrics": ["final_loss", "training_time"]},
        "/api/sweeps": {
            "displayName": "fuzz sweep", "algorithm": "SEARCH_ALGORITHM_GRID", "maxTrials": 2,
            "configuration": {**configuration, "dataset": {"uid": "dataset_missing"}},
            "searchSpace": [{"parameter": "lora_dropout", "min": 0.0, "max": 0.1, "step": 0.05}]},
        # The OpenAI API's (its error shape): a chat answer kept short, a fine-tuning job on a file that does not exist.
        "/openai/v1/chat/completions": {"model": "finetune-builtin/tiny-llama-3m", "max_tokens": 3, "temperature": 0, "stop": ["."],
                                        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]},
        "/openai/v1/fine_tuning/jobs": {"model": "finetune-builtin/tiny-llama-3m", "training_file": "dataset_missing", "suffix": "s",
                                        "seed": 3, "metadata": {"k": "v"},
                                        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}}},
    }


# The right bodies' own answers: compare names jobs that do not exist, the sweep a dataset that does not (so nothing trains).
RIGHT_STATUS = {"/api/jobs/compare": 404, "/api/sweeps": 400, "/openai/v1/fine_tuning/jobs": 400}
PINNED = {"/api/jobs": {"validateOnly": True},  # validated only: nothing trains
          "/openai/v1/chat/completions": {"max_tokens": 3}}  # short answers


def _assert_answered(path: str, content: bytes, r: httpx.Response) -> None:
    where = f"POST {path} {content[:300]!r}"
    assert r.status_code < 500, f"{where} -> {r.status_code} {r.text[:500]}"
    if r.status_code >= 400:
        error = r.json()["error"]  # ours names a reason, OpenAI's a type (and mostly a code)
        assert error["message"] and (error.get("reason") or error.get("type")), f"{where} -> {r.text[:500]}"


@pytest.mark.parametrize("path", list(bodies("d")))
def test_a_right_body_broken_one_way_is_a_2xx_or_a_clear_4xx(gateway, path):
    _, client, dataset = gateway
    body = bodies(dataset)[path]
    right = client.post(path, json=body)
    assert right.status_code == RIGHT_STATUS.get(path, 200), right.text
    if path == "/api/sweeps":
        assert list(right.json()["error"]["metadata"]) == ["configuration.dataset.uid"], right.text  # only the dataset
    pinned = PINNED.get(path, {})

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 70)), deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(content=broken(body, pinned))
    def check(content: bytes) -> None:
        _assert_answered(path, content, client.post(path, content=content, headers={"content-type": "application/json"}))

    check()


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)), deadline=None, derandomize=True, database=None)
@given(value=JSON_VALUES, path=st.sampled_from(list(bodies("d"))))
def test_any_json_at_all_is_a_2xx_or_a_clear_4xx(gateway, value, path):
    _, client, _ = gateway
    if isinstance(value, dict) and path in PINNED:
        value = value | PINNED[path]
    content = json.dumps(value, allow_nan=True).encode()
    _assert_answered(path, content, client.post(path, content=content, headers={"content-type": "application/json"}))


def test_no_service_logged_a_traceback(gateway):
    """After the fuzzing above (module order): no service met an exception it did not expect."""
    suite, _, _ = gateway
    assert "Traceback" not in suite.log, suite.log[suite.log.find("Traceback") - 2000:][:6000]
