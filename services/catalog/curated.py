"""The guide's recommended models and the built-in models: the catalog that works with no network.

Metadata is what the hub shows for each repo (size from its safetensors total, license from its card,
gating as its page shows); downloads and likes are left unknown offline. Categories follow the one
rule in `categories`; `use_case` keeps the guide's own recommendation ("Recommendations by Use Case").
"""

from __future__ import annotations

from services.catalog.builtin_models import BUILTIN_MODELS, builtin_parameters
from services.catalog.records import ModelRecord, make_record

CODE = "Code Generation"
INSTRUCTION = "Instruction Following"
RESOURCE_CONSTRAINED = "Resource Constrained"
MULTILINGUAL = "Multilingual"


def _curated(model_id: str, parameter_count: int, *, name: str | None = None, **fields) -> ModelRecord:
    return make_record(
        model_id, source="curated", name=name, parameter_count=parameter_count, library="transformers", **fields
    )


CURATED_MODELS: tuple[ModelRecord, ...] = (
    _curated(
        "codellama/CodeLlama-7b-hf",
        6_738_546_688,
        name="CodeLlama 7B",
        description="Meta's Llama 2 further trained on code; completes and infills code in many languages.",
        license="llama2",
        architecture="LlamaForCausalLM",
        pipeline_tag="text-generation",
        tags=("code", "llama", "llama-2"),
        use_case=CODE,
    ),
    _curated(
        "bigcode/starcoder",
        15_517_462_528,
        name="StarCoder 15B",
        description="Open-source code generation model trained on permissively licensed GitHub code (80+ languages).",
        license="bigcode-openrail-m",
        gated="auto",
        architecture="GPTBigCodeForCausalLM",
        pipeline_tag="text-generation",
        tags=("code", "gpt_bigcode"),
        use_case=CODE,
    ),
    _curated(
        "meta-llama/Llama-3.1-8B-Instruct",
        8_030_261_248,
        description="High-performance instruction-following model with strong general-purpose quality.",
        license="llama3.1",
        gated="manual",
        architecture="LlamaForCausalLM",
        pipeline_tag="text-generation",
        tags=("llama", "llama-3", "conversational"),
        use_case=INSTRUCTION,
    ),
    _curated(
        "google/flan-t5-base",
        247_577_856,
        name="FLAN-T5 Base",
        description="Instruction-tuned T5 (encoder-decoder); the family spans 80M to 11B parameters.",
        license="apache-2.0",
        architecture="T5ForConditionalGeneration",
        pipeline_tag="text2text-generation",
        tags=("t5", "text2text-generation"),
        use_case=INSTRUCTION,
    ),
    _curated(
        "mistralai/Mistral-7B-v0.1",
        7_241_732_096,
        name="Mistral 7B v0.1",
        description="Efficient, high-quality 7B base model with grouped-query and sliding-window attention.",
        license="apache-2.0",
        gated="auto",
        architecture="MistralForCausalLM",
        pipeline_tag="text-generation",
        tags=("mistral", "pretrained"),
        use_case=INSTRUCTION,
    ),
    _curated(
        "stabilityai/stablelm-3b-4e1t",
        2_795_443_200,
        name="StableLM 3B 4E1T",
        description="Efficient 3B base model trained on 4T tokens; a good baseline on modest hardware.",
        license="cc-by-sa-4.0",
        architecture="StableLmForCausalLM",
        pipeline_tag="text-generation",
        tags=("stablelm", "causal-lm"),
        use_case=RESOURCE_CONSTRAINED,
    ),
    _curated(
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        1_100_048_384,
        description="Ultra-compact 1.1B Llama chat model; trains and runs on a single small GPU.",
        license="apache-2.0",
        architecture="LlamaForCausalLM",
        pipeline_tag="text-generation",
        tags=("llama", "conversational"),
        use_case=RESOURCE_CONSTRAINED,
    ),
    _curated(
        "distilbert/distilbert-base-uncased",
        66_985_530,
        name="DistilBERT Base Uncased",
        description="Lightweight distilled BERT encoder for classification and embeddings.",
        license="apache-2.0",
        architecture="DistilBertForMaskedLM",
        pipeline_tag="fill-mask",
        tags=("distilbert", "exbert"),
        use_case=RESOURCE_CONSTRAINED,
    ),
    _curated(
        "google-bert/bert-base-multilingual-cased",
        178_566_653,
        name="mBERT Base Multilingual Cased",
        description="Multilingual BERT encoder pretrained on Wikipedia in 104 languages.",
        license="apache-2.0",
        architecture="BertForMaskedLM",
        pipeline_tag="fill-mask",
        tags=("bert", "multilingual"),
        use_case=MULTILINGUAL,
    ),
    _curated(
        "FacebookAI/xlm-roberta-base",
        278_295_186,
        name="XLM-RoBERTa Base",
        description="Cross-lingual RoBERTa encoder pretrained on 2.5TB of CommonCrawl text in 100 languages.",
        license="mit",
        architecture="XLMRobertaForMaskedLM",
        pipeline_tag="fill-mask",
        tags=("xlm-roberta", "multilingual"),
        use_case=MULTILINGUAL,
    ),
)

BUILTIN_RECORDS: tuple[ModelRecord, ...] = tuple(
    make_record(
        spec.id,
        source="builtin",
        name=spec.name,
        parameter_count=builtin_parameters(spec.id),
        description=spec.description,
        architecture="LlamaForCausalLM",
        pipeline_tag="text-generation",
        library="transformers",
        tags=("llama", "built-in"),
        use_case=RESOURCE_CONSTRAINED,
    )
    for spec in BUILTIN_MODELS.values()
)

_BY_ID = {r.id: r for r in (*BUILTIN_RECORDS, *CURATED_MODELS)}


def known_record(model_id: str) -> ModelRecord | None:
    """The built-in or curated record for an id, if the catalog ships one."""
    return _BY_ID.get(model_id)
