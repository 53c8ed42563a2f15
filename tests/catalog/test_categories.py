"""The category rule, the record's derived fields, the curated catalog and offline browsing."""

import pytest

from services.catalog.builtin_models import TINY_MODEL_ID
from services.catalog.categories import (
    CATEGORIES,
    CODE_GENERATION,
    COMPACT,
    CONVERSATIONAL,
    INSTRUCTION_FOLLOWING,
    MULTIMODAL,
    TEXT_GENERATION,
    categorize,
    normalize_category,
)
from services.catalog.curated import BUILTIN_RECORDS, CURATED_MODELS, known_record
from services.catalog.offline import browse, filter_records, offline_records, sort_records
from services.catalog.records import (
    ENCODER_ONLY_NOTE,
    SEQ2SEQ_NOTE,
    display_name,
    format_parameters,
    make_record,
    parameters_from_id,
    provider_for,
)

B = 1_000_000_000


@pytest.mark.parametrize(
    ("model_id", "kwargs", "expected"),
    [
        # 1. multimodal task wins over everything, even a small instruct model
        ("Qwen/Qwen2-VL-2B-Instruct", {"pipeline_tag": "image-text-to-text", "parameter_count": 2 * B}, MULTIMODAL),
        ("org/any-model", {"tags": ["visual-question-answering"]}, MULTIMODAL),
        # 2. code words in the name, or a "code" tag, over size and instruct words
        ("codellama/CodeLlama-7b-Instruct-hf", {"parameter_count": 7 * B}, CODE_GENERATION),
        ("bigcode/starcoder", {}, CODE_GENERATION),
        ("Qwen/Qwen2.5-Coder-0.5B-Instruct", {"parameter_count": B // 2}, CODE_GENERATION),
        ("Salesforce/codegen-350M-mono", {}, CODE_GENERATION),
        ("org/plain-model", {"tags": ["code"]}, CODE_GENERATION),
        ("google/flan-t5-decoder-xl", {"parameter_count": 11 * B}, INSTRUCTION_FOLLOWING),  # "decoder" is no code word
        # 3. compact: built-in, or under 3.5B parameters
        (TINY_MODEL_ID, {"builtin": True}, COMPACT),
        ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", {"parameter_count": int(1.1 * B), "tags": ["conversational"]}, COMPACT),
        ("stabilityai/stablelm-3b-4e1t", {"parameter_count": int(2.8 * B)}, COMPACT),
        ("org/model-7b", {"parameter_count": 3_500_000_000}, TEXT_GENERATION),  # the bound is exclusive
        # 4. instruction words in the name, even when the hub also tags it conversational
        (
            "meta-llama/Llama-3.1-8B-Instruct",
            {"parameter_count": 8 * B, "tags": ["conversational"]},
            INSTRUCTION_FOLLOWING,
        ),
        ("google/gemma-2-9b-it", {"parameter_count": 9 * B}, INSTRUCTION_FOLLOWING),
        ("google/flan-ul2", {"parameter_count": 20 * B}, INSTRUCTION_FOLLOWING),
        # 5. chat in the name, or the conversational tag
        ("meta-llama/Llama-2-13b-chat-hf", {"parameter_count": 13 * B}, CONVERSATIONAL),
        ("org/assistant-13b", {"tags": ["conversational"], "parameter_count": 13 * B}, CONVERSATIONAL),
        # 6. everything else; unknown size is not compact
        ("mistralai/Mistral-7B-v0.1", {"parameter_count": 7 * B}, TEXT_GENERATION),
        ("openai-community/gpt2", {}, TEXT_GENERATION),
    ],
)
def test_category_rule(model_id, kwargs, expected):
    assert categorize(model_id, **kwargs) == expected


def test_categories_are_the_guides_six_and_the_registrys():
    assert CATEGORIES == (
        "Text Generation",
        "Code Generation",
        "Instruction Following",
        "Conversational",
        "Multimodal",
        "Compact Models",
        "Fine-tuned",
    )


@pytest.mark.parametrize(
    ("typed", "canonical"), [("code generation", CODE_GENERATION), ("Compact", COMPACT), (" multimodal ", MULTIMODAL)]
)
def test_normalize_category(typed, canonical):
    assert normalize_category(typed) == canonical


def test_normalize_category_lists_the_choices():
    with pytest.raises(ValueError, match="Compact Models"):
        normalize_category("poetry")


@pytest.mark.parametrize(
    ("model_id", "name", "provider"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "Llama 3.1 8B Instruct", "Meta"),
        ("mistralai/Mistral-7B-v0.1", "Mistral 7B v0.1", "Mistral AI"),
        ("codellama/CodeLlama-7b-hf", "CodeLlama 7B", "Meta"),
        ("google/flan-t5-base", "Flan T5 Base", "Google"),
        ("Qwen/Qwen2-7B", "Qwen2 7B", "Alibaba Qwen"),
        ("HuggingFaceTB/SmolLM2-135M", "SmolLM2 135M", "Hugging Face"),
        ("someone/my_model", "My Model", "someone"),
        ("gpt2", "Gpt2", "Community"),
    ],
)
def test_name_and_provider_from_id(model_id, name, provider):
    assert (display_name(model_id), provider_for(model_id)) == (name, provider)


@pytest.mark.parametrize(
    ("count", "text"),
    [(8_030_261_248, "8B"), (1_100_048_384, "1.1B"), (3_297_024, "3.3M"), (135_000_000, "135M"), (None, "")],
)
def test_format_parameters(count, text):
    assert format_parameters(count) == text


def test_parameters_from_id():
    assert parameters_from_id("meta-llama/Llama-3.1-8B-Instruct") == 8 * B
    assert parameters_from_id("TinyLlama/TinyLlama-1.1B-Chat-v1.0") == int(1.1 * B)
    assert parameters_from_id("HuggingFaceTB/SmolLM2-135M") == 135_000_000
    assert parameters_from_id("mistralai/Mixtral-8x7B-v0.1") is None
    assert parameters_from_id("google/flan-t5-base") is None


def test_curated_catalog_covers_the_guides_recommendations():
    ids = {r.id for r in CURATED_MODELS}
    assert ids == {
        "codellama/CodeLlama-7b-hf",
        "bigcode/starcoder",
        "meta-llama/Llama-3.1-8B-Instruct",
        "google/flan-t5-base",
        "mistralai/Mistral-7B-v0.1",
        "stabilityai/stablelm-3b-4e1t",
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "distilbert/distilbert-base-uncased",
        "google-bert/bert-base-multilingual-cased",
        "FacebookAI/xlm-roberta-base",
    }
    for record in CURATED_MODELS:
        assert record.source == "curated"
        assert record.parameters and record.license and record.architecture and record.use_case
        assert record.category in CATEGORIES


def test_encoders_and_seq2seq_are_not_fine_tunable_with_a_reason():
    for model_id in (
        "distilbert/distilbert-base-uncased",
        "google-bert/bert-base-multilingual-cased",
        "FacebookAI/xlm-roberta-base",
    ):
        record = known_record(model_id)
        assert (record.is_causal_lm, record.fine_tunable, record.fine_tune_note) == (False, False, ENCODER_ONLY_NOTE)
    flan = known_record("google/flan-t5-base")
    assert (flan.is_causal_lm, flan.fine_tune_note) == (False, SEQ2SEQ_NOTE)
    llama = known_record("meta-llama/Llama-3.1-8B-Instruct")
    assert (llama.is_causal_lm, llama.fine_tunable, llama.gated, llama.category) == (
        True,
        True,
        "manual",
        INSTRUCTION_FOLLOWING,
    )


def test_builtin_models_are_compact_and_fine_tunable():
    tiny = known_record(TINY_MODEL_ID)
    assert tiny in BUILTIN_RECORDS
    assert (tiny.category, tiny.parameters, tiny.provider, tiny.source, tiny.fine_tunable) == (
        COMPACT,
        "3.3M",
        "Built-in",
        "builtin",
        True,
    )


def test_browse_by_category_and_provider_offline():
    collection = [make_record("Qwen/Qwen2-VL-2B-Instruct", source="collection", pipeline_tag="image-text-to-text")]
    records = offline_records(cache_dir=None, collection=collection)
    by_category = browse(records)
    assert list(by_category) == list(CATEGORIES)
    assert {r.id for r in by_category[CODE_GENERATION]} == {"codellama/CodeLlama-7b-hf", "bigcode/starcoder"}
    assert TINY_MODEL_ID in {r.id for r in by_category[COMPACT]}
    assert [r.id for r in by_category[MULTIMODAL]] == ["Qwen/Qwen2-VL-2B-Instruct"]
    by_provider = browse(records, by="provider")
    assert {r.id for r in by_provider["Meta"]} >= {"codellama/CodeLlama-7b-hf", "meta-llama/Llama-3.1-8B-Instruct"}
    assert [r.id for r in filter_records(records, provider="mistral ai")] == ["mistralai/Mistral-7B-v0.1"]


def test_offline_records_prefer_builtin_and_curated_over_collection_copies():
    copy = make_record("bigcode/starcoder", source="collection", name="My StarCoder")
    records = offline_records(collection=[copy])
    assert [r.source for r in records if r.id == "bigcode/starcoder"] == ["curated"]


def test_offline_query_matches_words_not_descriptions():
    found = {r.id for r in filter_records(offline_records(), query="code")}
    assert found == {"codellama/CodeLlama-7b-hf", "bigcode/starcoder"}  # not every "encoder"
    assert {r.id for r in filter_records(offline_records(), query="llama 8b")} == {"meta-llama/Llama-3.1-8B-Instruct"}


def test_sort_puts_unknown_counts_last():
    a = make_record("a/a", source="hub", downloads=5)
    b = make_record("b/b", source="curated")
    c = make_record("c/c", source="hub", downloads=50)
    assert [r.id for r in sort_records([a, b, c], "downloads")] == ["c/c", "a/a", "b/b"]
