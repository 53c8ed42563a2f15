"""Can this model be LoRA-fine-tuned here? Where it is, what it is, what it needs, and what to fix.

`check_availability` never raises for a model that is missing or unsuitable: it returns a report
whose `problems` each say what to do, and `can_fine_tune` is exactly "no problems". It raises
InvalidArgument only for an id that cannot name a model at all.

Model references follow the one rule of `services.common.model_ids`: a built-in id
("finetune-builtin/..."), a hub id ("org/name" or "name"), or a local model directory given as an
absolute path under one of the configured model roots.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

from services.catalog.builtin_models import builtin_parameters, ensure_builtin_model, is_builtin
from services.catalog.curated import known_record
from services.catalog.hub import TOKENIZER_FILES, HubClient, ModelDetails
from services.common.lora import lora_target_modules
from services.common.memory import MachineMemory, estimate_lora_memory, format_bytes, machine_memory
from services.catalog.offline import cached_model_dirs, read_config
from services.catalog.records import (
    format_parameters,
    is_causal_architecture,
    not_fine_tunable_reason,
    parameters_from_id,
)
from services.common.errors import InvalidArgument, NotFound, Unavailable
from services.common.model_ids import parse_model_id

log = logging.getLogger(__name__)

ATTENTION_AND_MLP = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
FUSED_NEOX = ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")
# Linear layers LoRA adapts, by config `model_type`: for models known only from the hub's config.
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "llama": ATTENTION_AND_MLP,
    "mistral": ATTENTION_AND_MLP,
    "mixtral": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "qwen2": ATTENTION_AND_MLP,
    "qwen3": ATTENTION_AND_MLP,
    "gemma": ATTENTION_AND_MLP,
    "gemma2": ATTENTION_AND_MLP,
    "gemma3_text": ATTENTION_AND_MLP,
    "stablelm": ATTENTION_AND_MLP,
    "olmo": ATTENTION_AND_MLP,
    "olmo2": ATTENTION_AND_MLP,
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_bigcode": ("c_attn", "c_proj", "c_fc"),
    "starcoder2": ("q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"),
    "gpt_neox": FUSED_NEOX,
    "falcon": FUSED_NEOX,
    "bloom": FUSED_NEOX,
    "gptj": ("q_proj", "k_proj", "v_proj", "out_proj", "fc_in", "fc_out"),
    "opt": ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"),
    "t5": ("q", "k", "v", "o", "wi", "wo"),
}


@dataclass
class AvailabilityReport:
    model_id: str
    found: bool = False
    locations: list[str] = field(default_factory=list)  # "builtin", "local_path", "hf_cache", "hub"
    local_path: str | None = None
    hub_reachable: bool = False
    hub_reason: str = ""  # what the hub said, or why it was not asked
    exists_on_hub: bool | None = None  # None: not known (hub not asked or unreachable)
    gated: bool | str = False
    config_found: bool = False
    tokenizer_present: bool = False
    architecture: str | None = None
    model_type: str | None = None
    is_causal_lm: bool | None = None
    lora_target_modules: list[str] = field(default_factory=list)
    parameter_count: int | None = None
    parameters: str = ""
    batch_size: int = 8
    seq_len: int = 512
    hidden_size: int | None = None  # from the config, for the memory estimate (here and in the jobs service)
    num_layers: int | None = None
    vocab_size: int | None = None
    estimated_memory_bytes: int | None = None
    available_memory_bytes: int | None = None
    memory_device: str = ""
    problems: list[str] = field(default_factory=list)  # each says what to do; any problem blocks fine-tuning
    notes: list[str] = field(default_factory=list)  # worth knowing, not blocking

    @property
    def lora_supported(self) -> bool:
        return bool(self.is_causal_lm and self.lora_target_modules)

    @property
    def can_fine_tune(self) -> bool:
        return self.found and not self.problems

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "lora_supported": self.lora_supported, "can_fine_tune": self.can_fine_tune}


def check_availability(
    model_id: str,
    *,
    data_dir: Path | str,
    hub: HubClient | None,
    cache_dir: Path | str | None = None,
    batch_size: int = 8,
    seq_len: int = 512,
    lora_r: int = 16,
    device_memory_info: MachineMemory | None = None,
    dtype_bytes: float | None = None,
    local_roots: tuple[Path, ...] = (),
) -> AvailabilityReport:
    """Where `model_id` is and whether LoRA training of it fits here; `hub=None` means offline. A local
    directory is accepted only under `local_roots`."""
    kind, ref = resolve_model_ref(model_id, local_roots)
    for name, value in (("batch_size", batch_size), ("seq_len", seq_len), ("lora_r", lora_r)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgument(
                f"{name} must be a positive integer, got {value!r}.",
                reason="INVALID_ARGUMENT",
                metadata={"field": name},
            )
    report = AvailabilityReport(model_id=model_id.strip(), batch_size=batch_size, seq_len=seq_len)

    local_dir = _find_local(report, kind, ref, data_dir, cache_dir)
    details = None
    if kind == "hub_id":
        details = _ask_hub(report, ref, hub)
    else:
        report.hub_reason = "not asked: " + ("a built-in model" if kind == "builtin" else "a local model directory")
    if local_dir is None and details is None:
        report.problems.append(_not_found_problem(report, kind))
        return report
    report.found = True

    config = read_config(local_dir) if local_dir else details.config
    if local_dir is None and config:
        report.notes.append("Model details come from the hub's summary of its config; it is not downloaded yet.")
    _describe_model(report, config or {}, local_dir, details)
    _check_gating(report, ref, local_dir, details, hub)
    _check_memory(report, config or {}, lora_r, device_memory_info, dtype_bytes)
    return report


def resolve_model_ref(model_id: str, local_roots: tuple[Path, ...] = ()) -> tuple[str, str]:
    """("builtin" | "fine_tuned" | "local_path" | "hub_id", reference); InvalidArgument naming `model_id` for anything else."""
    ref = parse_model_id(model_id, field="model_id", local_roots=local_roots)
    if ref.kind == "builtin" and not is_builtin(ref.id):
        return "hub_id", ref.id  # not one of ours: the hub and the cache are asked, and say it does not exist
    return ref.kind, str(ref.path) if ref.path else ref.id


def _find_local(report: AvailabilityReport, kind: str, ref: str, data_dir, cache_dir) -> Path | None:
    if kind == "builtin":
        local = ensure_builtin_model(Path(data_dir), ref)
        report.locations.append("builtin")
    elif kind == "local_path":
        local = Path(ref)
        if not local.is_dir():
            return None
        report.locations.append("local_path")
    else:
        local = cached_model_dirs(cache_dir).get(ref)
        if local is None:
            return None
        report.locations.append("hf_cache")
    report.local_path = str(local)
    return local


def _ask_hub(report: AvailabilityReport, model_id: str, hub: HubClient | None) -> ModelDetails | None:
    if hub is None or hub.offline:
        report.hub_reason = "offline mode is on"
        return None
    try:
        details = hub.model_info(model_id)
    except NotFound:
        report.hub_reachable, report.exists_on_hub = True, False
        report.hub_reason = "the hub has no model with this id (404)"
        return None
    except Unavailable as exc:
        report.hub_reason = exc.metadata.get("cause") or exc.message
        return None
    report.hub_reachable, report.exists_on_hub = True, True
    report.hub_reason = "found on the hub"
    report.locations.append("hub")
    return details


def _not_found_problem(report: AvailabilityReport, kind: str) -> str:
    if kind == "local_path":
        return (
            f"Directory '{report.model_id}' does not exist: give the path of a saved model directory on this machine."
        )
    if report.exists_on_hub is False:
        return (
            f"Model '{report.model_id}' was not found locally, in the Hugging Face cache, or on the hub: "
            "check the id's spelling (it is case-sensitive) or search the catalog."
        )
    return (
        f"Model '{report.model_id}' was not found locally or in the Hugging Face cache, and the hub could not be "
        f"checked ({report.hub_reason}): connect to the hub, or download the model into the cache first."
    )


def _describe_model(
    report: AvailabilityReport, config: dict, local_dir: Path | None, details: ModelDetails | None
) -> None:
    report.config_found = bool(config)
    report.architecture = (config.get("architectures") or [None])[0]
    report.model_type = config.get("model_type")
    if local_dir is not None:
        report.tokenizer_present = any((local_dir / name).is_file() for name in TOKENIZER_FILES)
    else:
        report.tokenizer_present = details.has_tokenizer
    if not report.config_found:
        report.problems.append(
            "No config.json found: the model must be a transformers model (config.json, weights and tokenizer)."
        )
        return
    report.is_causal_lm = bool(is_causal_architecture(report.architecture))
    inspected = _inspect_on_meta(local_dir) if local_dir is not None and report.is_causal_lm else None
    if inspected is not None:
        report.lora_target_modules, report.parameter_count = inspected
    else:
        report.lora_target_modules = list(LORA_TARGETS.get(report.model_type or "", ()))
    report.parameter_count = report.parameter_count or _parameter_count(report.model_id, details)
    report.parameters = format_parameters(report.parameter_count)
    if not report.is_causal_lm:
        pipeline = details.record.pipeline_tag if details else None
        reason = not_fine_tunable_reason(report.architecture, pipeline)
        report.problems.append(
            f"{reason[0].upper()}{reason[1:]}; pick a causal LM (its architecture ends in ForCausalLM)."
        )
    elif not report.lora_target_modules:
        report.problems.append(
            f"No known LoRA target modules for model type '{report.model_type}': name the Linear layers to adapt "
            "in the job's LoRA target modules, or pick a Llama, Mistral, Qwen or GPT-2 family model."
        )
    if not report.tokenizer_present:
        report.problems.append(
            "No tokenizer files (tokenizer.json, tokenizer_config.json or tokenizer.model) found: "
            "save the tokenizer next to the model, or pick a model repo that includes one."
        )


def _inspect_on_meta(model_dir: Path) -> tuple[list[str], int] | None:
    """LoRA-able Linear layer names and the parameter count, from the model built on the meta device (no memory)."""
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        config = AutoConfig.from_pretrained(model_dir)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except Exception as exc:  # custom code, unknown model_type: fall back to the table
        log.info("could not build %s on the meta device: %s", model_dir, exc)
        return None
    return lora_target_modules(model), sum(p.numel() for p in model.parameters())


def _parameter_count(model_id: str, details: ModelDetails | None) -> int | None:
    if is_builtin(model_id):
        return builtin_parameters(model_id)
    if details is not None and details.record.parameter_count:
        return details.record.parameter_count
    known = known_record(model_id)
    return known.parameter_count if known else parameters_from_id(model_id)


def _check_gating(report: AvailabilityReport, model_id: str, local_dir, details: ModelDetails | None, hub) -> None:
    known = known_record(model_id)
    report.gated = details.record.gated if details else (known.gated if known else False)
    if not report.gated or local_dir is not None:
        return
    if hub is not None and hub.has_token:
        report.notes.append(
            "The model is gated: the configured token must belong to an account that accepted its terms."
        )
    else:
        report.problems.append(
            f"Model '{model_id}' is gated on the Hugging Face Hub ({report.gated} approval): accept its terms on "
            "its hub page, then configure an HF token for this platform."
        )


def _dimension(config: dict, *keys: str) -> int | None:
    """The first of `keys` the config sets to a whole number that fits the answer's int32, else None."""
    value = next((config[k] for k in keys if config.get(k)), None)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def _check_memory(
    report: AvailabilityReport, config: dict, lora_r: int, machine: MachineMemory | None, dtype_bytes
) -> None:
    report.hidden_size = _dimension(config, "hidden_size", "n_embd", "d_model")
    report.num_layers = _dimension(config, "num_hidden_layers", "n_layer", "num_layers")
    report.vocab_size = _dimension(config, "vocab_size")
    machine = machine or machine_memory()
    report.memory_device, report.available_memory_bytes = machine.training_device()
    if not machine.gpus and machine.gpu_note:
        report.notes.append(f"No GPU found ({machine.gpu_note}); training would run on the CPU.")
    if not report.parameter_count:
        report.notes.append("Parameter count unknown, so the memory needed was not estimated.")
        return
    estimate = estimate_lora_memory(
        report.parameter_count,
        # fp32 on a CPU, bf16 on a GPU, unless the caller says otherwise.
        dtype_bytes=dtype_bytes or (2 if machine.gpus else 4),
        hidden_size=report.hidden_size,
        num_layers=report.num_layers,
        vocab_size=report.vocab_size,
        batch_size=report.batch_size,
        seq_len=report.seq_len,
        lora_r=lora_r,
        num_lora_targets=len(report.lora_target_modules) or 7,
    )
    report.estimated_memory_bytes = estimate.total_bytes
    if estimate.total_bytes > report.available_memory_bytes:
        report.problems.append(
            f"LoRA training needs about {format_bytes(estimate.total_bytes)} at batch size {report.batch_size} x "
            f"{report.seq_len} tokens, but {report.memory_device} has {format_bytes(report.available_memory_bytes)} "
            "free: lower the batch size or sequence length, or pick a smaller model."
        )
