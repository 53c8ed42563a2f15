"""The catalog's model record, and how a display name, provider and size string come from a model id."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from services.catalog.builtin_models import is_builtin
from services.catalog.categories import categorize

Source = Literal["hub", "cache", "builtin", "curated", "collection"]
SOURCES: tuple[str, ...] = ("hub", "cache", "builtin", "curated", "collection")

# Organisation on the hub -> the provider a person knows. Anything else shows the org name itself.
PROVIDERS: dict[str, str] = {
    "meta-llama": "Meta",
    "codellama": "Meta",
    "facebook": "Meta",
    "mistralai": "Mistral AI",
    "google": "Google",
    "google-bert": "Google",
    "google-t5": "Google",
    "microsoft": "Microsoft",
    "bigcode": "BigCode",
    "TinyLlama": "TinyLlama",
    "stabilityai": "Stability AI",
    "Qwen": "Alibaba Qwen",
    "EleutherAI": "EleutherAI",
    "HuggingFaceTB": "Hugging Face",
    "distilbert": "Hugging Face",
    "FacebookAI": "Meta",
    "openai-community": "OpenAI",
    "deepseek-ai": "DeepSeek",
    "tiiuae": "TII",
    "Salesforce": "Salesforce",
    "finetune-builtin": "Built-in",
    "finetune-models": "Fine-tuned here",
}

# "8B", "1.1B", "135M" standing alone in a repo name: "Llama-3.1-8B-Instruct", "SmolLM2-135M". At most five
# digits (and three decimals), and no more than MAX_PARAMETERS: a name is a guess, not a count to trust.
_SIZE_IN_NAME = re.compile(r"(?<![\w.])(\d{1,5}(?:\.\d{1,3})?)([bBmMkK])(?![A-Za-z0-9])")
MAX_PARAMETERS = 10**13  # 10T: above any model there is; also far inside the int64 the API carries
_SIZE_TOKEN = re.compile(r"^\d+(?:\.\d+)?[bBmMkK]$")
_SCALE = {"b": 1_000_000_000, "m": 1_000_000, "k": 1_000}


@dataclass(frozen=True)
class ModelRecord:
    """One model as the catalog shows it, wherever it came from (see `source`)."""

    id: str
    name: str
    provider: str
    category: str
    parameters: str  # human size, "8B" or "3.3M"; "" when unknown
    downloads: int | None = None  # last 30 days on the hub; None when not known (offline sources)
    likes: int | None = None
    description: str = ""
    parameter_count: int | None = None
    download_size_bytes: int | None = None
    license: str | None = None
    gated: bool | str = False  # False, or the hub's approval mode: "auto" / "manual"
    pipeline_tag: str | None = None
    tags: tuple[str, ...] = ()
    library: str | None = None
    architecture: str | None = None  # e.g. "LlamaForCausalLM"
    is_causal_lm: bool | None = None  # None when not known without fetching the config
    fine_tunable: bool = False  # LoRA on a causal LM with transformers weights
    fine_tune_note: str = ""  # why it is not fine-tunable, when it is not
    use_case: str = ""  # the guide's recommendation it answers, for curated entries
    source: Source = "hub"
    fine_tuned: dict | None = None  # a model fine-tuned here: FineTunedOrigin's fields

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["tags"] = list(self.tags)
        return data

    def replace(self, **changes) -> ModelRecord:
        return dataclasses.replace(self, **changes)


def split_id(model_id: str) -> tuple[str, str]:
    """("meta-llama", "Llama-3.1-8B-Instruct"); the org is "" for ids without one ("gpt2")."""
    org, _, name = model_id.rpartition("/")
    return org, name


def provider_for(model_id: str) -> str:
    org, _ = split_id(model_id)
    return PROVIDERS.get(org, org or "Community")


def display_name(model_id: str) -> str:
    """ "meta-llama/Llama-3.1-8B-Instruct" -> "Llama 3.1 8B Instruct"; "flan-t5-base" -> "Flan T5 Base"."""
    _, name = split_id(model_id)
    words = [w for w in re.split(r"[-_\s]+", name) if w]
    if len(words) > 1 and words[-1].lower() == "hf":  # "-hf" marks a conversion to HF format, not a name
        words.pop()
    return " ".join(_pretty_word(w) for w in words)


def _pretty_word(word: str) -> str:
    if _SIZE_TOKEN.match(word):
        return word[:-1] + word[-1].upper()
    if word[0].isalpha() and word.islower() and not re.match(r"v\d", word):  # leave versions as "v0.1"
        return word.capitalize()
    return word


def format_parameters(count: int | None) -> str:
    """3_300_000 -> "3.3M", 8_030_000_000 -> "8B", None -> ""."""
    if not count:
        return ""
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            value = count / scale
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return str(count)


def parameters_from_id(model_id: str) -> int | None:
    """The size a repo name announces ("...-8B-..." -> 8e9), or None; a guess, used when the hub gives none."""
    _, name = split_id(model_id)
    match = _SIZE_IN_NAME.search(name)
    if not match:
        return None
    count = int(float(match.group(1)) * _SCALE[match.group(2).lower()])
    return count if 0 < count <= MAX_PARAMETERS else None


def license_from_tags(tags: tuple[str, ...] | list[str]) -> str | None:
    for tag in tags:
        if tag.startswith("license:"):
            return tag.removeprefix("license:")
    return None


CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")


def is_causal_architecture(architecture: str | None) -> bool | None:
    """True for "LlamaForCausalLM"/"GPT2LMHeadModel", False for other known heads, None when unknown."""
    if not architecture:
        return None
    # Old T5 checkpoints say "T5WithLMHeadModel": an encoder-decoder, not a causal LM.
    return architecture.endswith(CAUSAL_SUFFIXES) and "WithLMHead" not in architecture


def make_record(
    model_id: str,
    *,
    source: Source,
    name: str | None = None,
    provider: str | None = None,
    category: str | None = None,
    parameter_count: int | None = None,
    tags: tuple[str, ...] | list[str] = (),
    pipeline_tag: str | None = None,
    architecture: str | None = None,
    **fields,
) -> ModelRecord:
    """A record whose unset name, provider, size, category and fine-tunability follow from the id and facts.

    One place for these derivations, so hub results, cache entries, curated entries and collection
    rows all agree. `fields` are the remaining `ModelRecord` fields, taken as given.
    """
    tags = tuple(tags)
    if parameter_count is None:
        parameter_count = parameters_from_id(model_id)
    causal = fields.pop("is_causal_lm", None)
    if causal is None:
        causal = is_causal_architecture(architecture)
    if causal is None and pipeline_tag is not None:
        causal = pipeline_tag == "text-generation"
    fine_tunable = fields.pop("fine_tunable", None)
    if fine_tunable is None:
        fine_tunable = bool(causal)
    note = fields.pop("fine_tune_note", "")
    if not fine_tunable and not note:
        note = not_fine_tunable_reason(architecture, pipeline_tag)
    return ModelRecord(
        id=model_id,
        name=name or display_name(model_id),
        provider=provider or provider_for(model_id),
        category=category
        or categorize(
            model_id,
            tags=tags,
            pipeline_tag=pipeline_tag,
            parameter_count=parameter_count,
            builtin=is_builtin(model_id),
        ),
        parameters=format_parameters(parameter_count),
        parameter_count=parameter_count,
        license=fields.pop("license", None) or license_from_tags(tags),
        tags=tags,
        pipeline_tag=pipeline_tag,
        architecture=architecture,
        is_causal_lm=causal,
        fine_tunable=fine_tunable,
        fine_tune_note=note,
        source=source,
        **fields,
    )


ENCODER_ONLY_NOTE = "encoder-only model: cannot be fine-tuned as a causal LM here"
SEQ2SEQ_NOTE = "encoder-decoder (seq2seq) model: cannot be fine-tuned as a causal LM here"
_ENCODER_HEADS = ("ForMaskedLM", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")
_SEQ2SEQ_FAMILIES = ("T5", "MT5", "UMT5", "LongT5", "Bart", "MBart", "Pegasus", "Marian", "Blenderbot", "LED")
_SEQ2SEQ_TASKS = ("text2text-generation", "translation", "summarization")
_ENCODER_TASKS = (
    "fill-mask",
    "feature-extraction",
    "text-classification",
    "token-classification",
    "sentence-similarity",
)


def not_fine_tunable_reason(architecture: str | None, pipeline_tag: str | None = None) -> str:
    """Why a model is not a causal LM this platform can LoRA-tune, in words a person can act on."""
    if architecture:
        if architecture.endswith(_ENCODER_HEADS):
            return ENCODER_ONLY_NOTE
        if "WithLMHead" in architecture or (
            architecture.endswith("ForConditionalGeneration")
            and (architecture.startswith(_SEQ2SEQ_FAMILIES) or pipeline_tag in _SEQ2SEQ_TASKS)
        ):
            return SEQ2SEQ_NOTE
        return f"architecture {architecture} is not a causal language model"
    if pipeline_tag in _ENCODER_TASKS:
        return ENCODER_ONLY_NOTE
    if pipeline_tag in _SEQ2SEQ_TASKS:
        return SEQ2SEQ_NOTE
    if pipeline_tag:
        return f"task '{pipeline_tag}' is not causal text generation: pick a text-generation model"
    return "could not tell whether this is a causal LM: check the model's config.json"
