"""The six model categories of the guide, and the one rule that puts every model in exactly one.

The rule, first match wins (`categorize`):

1. **Multimodal** - the hub's pipeline tag (or a tag) is a task that takes or makes more than text:
   image-text-to-text, visual-question-answering, any-to-any, image-to-text, ...
2. **Code Generation** - a word of the repo name is a code word (code, coder, starcoder, codegen,
   codet5, ...; also any word starting with "code", like "CodeLlama") or the model is tagged "code".
3. **Compact Models** - a built-in model, or one with fewer than 3.5 billion parameters (the 3B class
   and below, so that StableLM 3B, TinyLlama 1.1B and DistilBERT land here as the guide lists them).
4. **Instruction Following** - a word of the repo name is "instruct", "it" or "flan".
5. **Conversational** - a word of the repo name is "chat", or the hub tags it "conversational".
6. **Text Generation** - everything else.

**Fine-tuned** holds the models fine-tuned here (`finetune-models/<name>`), registered when their job
completes; the rule above never assigns it.

Instruction words come before the "conversational" tag because the hub tags almost every
instruction-tuned model with a chat template "conversational"; the name says what it was tuned for.
Words are the repo name (not the org) split on "-", "_", "." and spaces, lowercased.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TEXT_GENERATION = "Text Generation"
CODE_GENERATION = "Code Generation"
INSTRUCTION_FOLLOWING = "Instruction Following"
CONVERSATIONAL = "Conversational"
MULTIMODAL = "Multimodal"
COMPACT = "Compact Models"
FINE_TUNED = "Fine-tuned"  # the registry's: models fine-tuned here; the rule never assigns it

CATEGORIES: tuple[str, ...] = (
    TEXT_GENERATION,
    CODE_GENERATION,
    INSTRUCTION_FOLLOWING,
    CONVERSATIONAL,
    MULTIMODAL,
    COMPACT,
    FINE_TUNED,
)

MULTIMODAL_TASKS = frozenset(
    {
        "image-text-to-text",
        "visual-question-answering",
        "any-to-any",
        "image-to-text",
        "video-text-to-text",
        "audio-text-to-text",
        "document-question-answering",
        "text-to-image",
        "text-to-speech",
        "automatic-speech-recognition",
        "multimodal",
    }
)
CODE_WORDS = frozenset({"code", "coder", "starcoder", "starcoder2", "santacoder", "wizardcoder", "octocoder"})
CODE_TAGS = frozenset({"code", "code-generation"})
INSTRUCT_WORDS = frozenset({"instruct", "it", "flan"})
CHAT_WORDS = frozenset({"chat"})
CHAT_TAGS = frozenset({"conversational"})
COMPACT_MAX_PARAMETERS = 3_500_000_000


def name_words(model_id: str) -> set[str]:
    """ "codellama/CodeLlama-7b-Instruct-hf" -> {"codellama", "7b", "instruct", "hf"}."""
    name = model_id.rpartition("/")[2].lower()
    return {w for w in re.split(r"[-_.\s]+", name) if w}


def categorize(
    model_id: str,
    *,
    tags: Iterable[str] = (),
    pipeline_tag: str | None = None,
    parameter_count: int | None = None,
    builtin: bool = False,
) -> str:
    """The category of a model by the module's rule; always one of `CATEGORIES`."""
    words = name_words(model_id)
    tag_set = {t.lower() for t in tags}
    if (pipeline_tag or "").lower() in MULTIMODAL_TASKS or tag_set & MULTIMODAL_TASKS:
        return MULTIMODAL
    if words & CODE_WORDS or any(w.startswith("code") for w in words) or tag_set & CODE_TAGS:
        return CODE_GENERATION
    if builtin or (parameter_count is not None and parameter_count < COMPACT_MAX_PARAMETERS):
        return COMPACT
    if words & INSTRUCT_WORDS:
        return INSTRUCTION_FOLLOWING
    if words & CHAT_WORDS or tag_set & CHAT_TAGS:
        return CONVERSATIONAL
    return TEXT_GENERATION


def normalize_category(value: str) -> str:
    """A category as a person may type it ("code generation", "compact") -> its canonical name.

    Raises ValueError listing the categories when nothing matches.
    """
    wanted = value.strip().lower()
    for category in CATEGORIES:
        if wanted in (category.lower(), category.lower().split()[0]):
            return category
    raise ValueError(f"unknown category {value!r}; use one of: {', '.join(CATEGORIES)}")
