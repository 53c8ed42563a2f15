"""Hub search and details through the real HfApi client against the fake hub; the offline fallback."""

import time
from types import SimpleNamespace

import huggingface_hub.constants
import huggingface_hub.utils._http
import pytest

from services.catalog.categories import CODE_GENERATION, COMPACT, INSTRUCTION_FOLLOWING, MULTIMODAL
from services.catalog.hub import HubClient
from services.catalog.records import make_record
from services.common.errors import InvalidArgument, NotFound, Unavailable
from tests.fakes.fake_hub import fake_hub_fixture  # noqa: F401 (the fake_hub fixture)


def closed_port_endpoint() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def client(fake_hub):
    return HubClient(endpoint=fake_hub.endpoint, timeout_s=2.0)


def ids(result):
    return [m.id for m in result.models]


def test_search_returns_records_with_the_guides_fields(client, fake_hub):
    result = client.search("llama", limit=5)
    assert not result.offline and result.offline_reason == ""
    top = result.models[0]
    assert top.to_dict() | {"tags": None} == top.to_dict() | {
        "id": "meta-llama/Llama-3.1-8B-Instruct",
        "name": "Llama 3.1 8B Instruct",
        "provider": "Meta",
        "category": INSTRUCTION_FOLLOWING,
        "parameters": "8B",
        "downloads": 5_000_000,
        "likes": 4_100,
        "parameter_count": 8_030_261_248,
        "license": "llama3.1",
        "gated": "manual",
        "pipeline_tag": "text-generation",
        "library": "transformers",
        "is_causal_lm": True,
        "fine_tunable": True,
        "source": "hub",
        "tags": None,
    }
    assert top.description  # the curated description for a model the catalog knows
    method, path, params = fake_hub.requests[-1]
    assert (method, path, params["search"], params["sort"], params["limit"]) == (
        "GET",
        "/api/models",
        ["llama"],
        ["downloads"],
        ["5"],
    )
    assert {"downloads", "likes", "tags", "pipeline_tag", "safetensors", "gated", "config"} <= set(params["expand"])
    # a model the catalog does not know gets its architecture from the listing itself
    other = next(m for m in result.models if m.id == "someone/llama-chat-13b")
    assert other.architecture == "LlamaForCausalLM"


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("downloads", "meta-llama/Llama-3.1-8B-Instruct"),
        ("likes", "someone/llama-chat-13b"),
        ("trending", "meta-llama/Llama-3.1-8B-Instruct"),
    ],
)
def test_search_sorts(client, fake_hub, sort, first):
    result = client.search("llama", limit=10, sort=sort)
    assert ids(result)[0] == first
    assert fake_hub.requests[-1][2]["sort"] == [{"trending": "trendingScore"}.get(sort, sort)]


def test_trending_order_differs_from_downloads(client):
    assert ids(client.search("qwen", limit=3, sort="trending")) == ["Qwen/Qwen2-VL-2B-Instruct"]
    trending = ids(client.search("l", limit=3, sort="trending"))
    assert trending[0] == "Qwen/Qwen2-VL-2B-Instruct"  # trendingScore 400, far fewer downloads than Llama


def test_search_limit(client):
    assert len(client.search("llama", limit=2).models) == 2


def test_search_category_filters_after_fetching_more(client, fake_hub):
    result = client.search("llama", limit=2, category="compact")
    assert ids(result) == ["meta-llama/Llama-3.2-1B", "TinyLlama/TinyLlama-1.1B-Chat-v1.0"]
    assert all(m.category == COMPACT for m in result.models)
    assert fake_hub.requests[-1][2]["limit"] == ["8"]
    assert ids(client.search("code", limit=5, category="Code Generation")) == ["codellama/CodeLlama-7b-hf"]
    assert [m.category for m in client.search("vl", limit=5).models] == [MULTIMODAL]


def test_model_info_details(client):
    details = client.model_info("meta-llama/Llama-3.1-8B-Instruct")
    record = details.record
    assert (record.gated, record.architecture, record.license) == ("manual", "LlamaForCausalLM", "llama3.1")
    # safetensors shards + configs + tokenizer, without the original/ .pth copy
    assert 16_000_000_000 < record.download_size_bytes < 16_200_000_000
    assert details.has_tokenizer and details.config["model_type"] == "llama"
    assert "config.json" in details.files


def test_model_info_download_size_prefers_safetensors_over_bin(client):
    record = client.model_info("codellama/CodeLlama-7b-hf").record
    assert 13_400_000_000 < record.download_size_bytes < 13_600_000_000
    assert record.category == CODE_GENERATION


def test_model_info_of_a_seq2seq_model_says_why_not(client):
    record = client.model_info("google/flan-t5-base").record
    assert (record.is_causal_lm, record.fine_tunable) == (False, False)
    assert "encoder-decoder" in record.fine_tune_note


def test_model_info_missing_model_is_not_found(client):
    with pytest.raises(NotFound) as caught:
        client.model_info("nobody/does-not-exist")
    assert caught.value.reason == "MODEL_NOT_FOUND"
    assert "does not exist on the Hugging Face Hub" in caught.value.message


def test_model_info_missing_model_with_a_token_is_not_found_too(fake_hub):
    client = HubClient(endpoint=fake_hub.endpoint, token="hf_fake", timeout_s=2.0)
    with pytest.raises(NotFound):
        client.model_info("nobody/does-not-exist")


def test_model_info_when_the_hub_is_down_is_unavailable():
    client = HubClient(endpoint=closed_port_endpoint(), timeout_s=2.0)
    with pytest.raises(Unavailable) as caught:
        client.model_info("meta-llama/Llama-3.1-8B-Instruct")
    assert caught.value.reason == "HUB_UNREACHABLE"


def test_slow_hub_falls_back_to_offline_results_in_time(fake_hub):
    fake_hub.delay_s = 30
    client = HubClient(endpoint=fake_hub.endpoint, timeout_s=1.0)
    started = time.monotonic()
    result = client.search("code", limit=5)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert result.offline
    assert result.offline_reason == (
        "Hugging Face Hub unreachable (timed out after 1.0 s); "
        "showing offline results from the local cache, built-in and curated models."
    )
    assert ids(result) == ["codellama/CodeLlama-7b-hf", "bigcode/starcoder"]
    assert {m.source for m in result.models} == {"curated"}


def test_after_a_timeout_the_hub_is_skipped_for_the_cooldown(fake_hub):
    fake_hub.delay_s = 30
    client = HubClient(endpoint=fake_hub.endpoint, timeout_s=0.5, cooldown_s=60)
    client.search("code", limit=5)
    asked = len(fake_hub.requests)
    started = time.monotonic()
    again = client.search("llama", limit=5)
    assert time.monotonic() - started < 0.2
    assert again.offline and "skipped for 60 s" in again.offline_reason
    with pytest.raises(Unavailable, match="skipped"):
        client.model_info("meta-llama/Llama-3.1-8B-Instruct")
    assert len(fake_hub.requests) == asked


def test_refused_connection_falls_back_with_the_cause(monkeypatch):
    # huggingface_hub retries refused connections with 1-8 s sleeps and closes its shared client on
    # each: left running, those retries would disturb later tests. Without the sleeps they end at once.
    monkeypatch.setattr(huggingface_hub.utils._http, "time", SimpleNamespace(sleep=lambda seconds: None))
    client = HubClient(endpoint=closed_port_endpoint(), timeout_s=2.0)
    started = time.monotonic()
    result = client.search("tiny", limit=5)
    assert time.monotonic() - started < 2.0
    assert result.offline
    assert result.offline_reason.startswith("Hugging Face Hub unreachable (ConnectError:")
    assert "finetune-builtin/tiny-llama-3m" in ids(result)


def test_hub_errors_fall_back_with_the_status(fake_hub):
    fake_hub.fail_status = 401  # not retried by the client, unlike 5xx
    result = HubClient(endpoint=fake_hub.endpoint, timeout_s=2.0).search("mistral", limit=5)
    assert result.offline and "HTTP 401" in result.offline_reason
    assert ids(result) == ["mistralai/Mistral-7B-v0.1"]


def test_offline_setting_never_calls_the_hub(fake_hub):
    client = HubClient(endpoint=fake_hub.endpoint, offline=True)
    collection = [make_record("someone/llama-notes-7b", source="collection")]
    result = client.search("llama", limit=10, collection=collection)
    assert result.offline and result.offline_reason.startswith("Offline mode is on")
    assert "someone/llama-notes-7b" in ids(result) and "meta-llama/Llama-3.1-8B-Instruct" in ids(result)
    with pytest.raises(Unavailable):
        client.model_info("meta-llama/Llama-3.1-8B-Instruct")
    assert fake_hub.requests == []


def test_hf_hub_offline_environment_is_honoured(fake_hub, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    result = HubClient(endpoint=fake_hub.endpoint).search("llama", limit=3)
    assert result.offline and fake_hub.requests == []


def test_offline_search_includes_the_local_cache(tmp_path):
    snapshot = tmp_path / "models--someorg--cached-llama-7b" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}')
    (tmp_path / "models--someorg--cached-llama-7b" / "refs").mkdir()
    (tmp_path / "models--someorg--cached-llama-7b" / "refs" / "main").write_text("abc123")
    client = HubClient(offline=True, cache_dir=tmp_path)
    [record] = client.search("cached", limit=5).models
    assert (record.id, record.source, record.architecture, record.parameters) == (
        "someorg/cached-llama-7b",
        "cache",
        "LlamaForCausalLM",
        "7B",
    )


def test_missing_cache_dir_is_tolerated(tmp_path):
    result = HubClient(offline=True, cache_dir=tmp_path / "nope").search("tiny", limit=5)
    assert result.offline and result.models


@pytest.mark.parametrize(
    ("kwargs", "reason", "phrase"),
    [
        ({"query": ""}, "EMPTY_QUERY", "query must not be empty"),
        ({"query": "   "}, "EMPTY_QUERY", "query must not be empty"),
        ({"query": "x" * 201}, "QUERY_TOO_LONG", "at most 200"),
        ({"query": "llama", "limit": 0}, "LIMIT_OUT_OF_RANGE", "limit must be between 1 and 100"),
        ({"query": "llama", "limit": 101}, "LIMIT_OUT_OF_RANGE", "limit must be between 1 and 100"),
        ({"query": "llama", "sort": "newest"}, "INVALID_SORT", "sort must be one of downloads, likes, trending"),
        ({"query": "llama", "category": "poetry"}, "INVALID_CATEGORY", "Instruction Following"),
    ],
)
def test_bad_search_input(kwargs, reason, phrase):
    client = HubClient(offline=True)
    with pytest.raises(InvalidArgument) as caught:
        client.search(**kwargs)
    assert caught.value.reason == reason
    assert phrase in caught.value.message
