"""The hyperparameters every service shares: one schema (`TrainingConfig`, the guide's snake_case names with
their defaults and allowed ranges), one converter to and from the `finetune.trainer.v1.Hyperparameters`
message that the trainer's and the jobs service's APIs both use, and the messages of the checks that
depend on a model or a machine (LoRA target modules, GPU count), so that whoever checks first says the same."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from finetune.trainer.v1 import run_pb2
from services.common.errors import InvalidArgument

SUPPORTED_OPTIMIZERS = ("adamw", "adamw_torch", "sgd", "adafactor")
# transformers.get_scheduler names that need nothing but warmup and total steps.
SUPPORTED_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
)
# Keys the guide puts next to the hyperparameters that carry no training meaning.
IGNORED_KEYS = frozenset({"uid", "mode", "name"})
ALL_LINEAR = "all-linear"


@dataclass
class TrainingConfig:
    """Everything one run needs besides the model and the data. Defaults follow the guide (Stage 3)."""

    learning_rate: float = 2e-4
    batch_size: int = 8
    epochs: int = 3
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    weight_decay: float = 0.01
    gradient_accumulation_steps: int = 1
    max_grad_norm: float = 1.0
    optimizer: str = "adamw"
    scheduler: str = "linear"
    save_steps: int = 500
    eval_steps: int = 0
    logging_steps: int = 1
    seed: int = 42
    early_stopping_patience: int = 0
    early_stopping_threshold: float = 0.0
    timeout_seconds: float = 0.0
    max_seq_length: int = 512
    lora_r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    max_steps: int | None = None
    keep_checkpoints: int = 3
    packing: bool = True

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        """Build and validate; unknown keys are an error so that a typo never silently trains with a default."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in values if k not in known and k not in IGNORED_KEYS)
        if unknown:
            raise InvalidArgument(
                f"unknown training parameter(s) {', '.join(unknown)}; known parameters: {', '.join(sorted(known))}",
                reason="INVALID_TRAINING_CONFIG",
                metadata={"field": unknown[0]},
            )
        kwargs = {k: _coerce(k, v) for k, v in values.items() if k in known and v is not None}
        config = cls(**kwargs)
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> None:
        _in_range("learning_rate", self.learning_rate, 0.0, 1.0, low_open=True)
        _in_range("batch_size", self.batch_size, 1, 4096)
        _in_range("epochs", self.epochs, 1, 1000)
        _in_range("warmup_steps", self.warmup_steps, 0, 10_000_000)
        _in_range("warmup_ratio", self.warmup_ratio, 0.0, 1.0, high_open=True)
        _in_range("weight_decay", self.weight_decay, 0.0, 1.0)
        _in_range("gradient_accumulation_steps", self.gradient_accumulation_steps, 1, 1024)
        _in_range("max_grad_norm", self.max_grad_norm, 0.0, 1e6)
        _in_range("save_steps", self.save_steps, 0, 10_000_000)
        _in_range("eval_steps", self.eval_steps, 0, 10_000_000)
        _in_range("logging_steps", self.logging_steps, 1, 10_000_000)
        _in_range("seed", self.seed, 0, 2**32 - 1)
        _in_range("early_stopping_patience", self.early_stopping_patience, 0, 10_000)
        _in_range("early_stopping_threshold", self.early_stopping_threshold, 0.0, 1e6)
        _in_range("timeout_seconds", self.timeout_seconds, 0.0, 365 * 24 * 3600.0)
        _in_range("max_seq_length", self.max_seq_length, 16, 131_072)
        _in_range("lora_r", self.lora_r, 1, 1024)
        _in_range("lora_alpha", self.lora_alpha, 0.0, 1e6, low_open=True)
        _in_range("lora_dropout", self.lora_dropout, 0.0, 1.0, high_open=True)
        _in_range("keep_checkpoints", self.keep_checkpoints, 1, 1000)
        if self.max_steps is not None:
            _in_range("max_steps", self.max_steps, 1, 100_000_000)
        if self.optimizer not in SUPPORTED_OPTIMIZERS:
            raise _invalid("optimizer", f"must be one of {', '.join(SUPPORTED_OPTIMIZERS)}, got {self.optimizer!r}",
                           ", ".join(SUPPORTED_OPTIMIZERS))
        if self.scheduler not in SUPPORTED_SCHEDULERS:
            raise _invalid("scheduler", f"must be one of {', '.join(SUPPORTED_SCHEDULERS)}, got {self.scheduler!r}",
                           ", ".join(SUPPORTED_SCHEDULERS))
        if isinstance(self.target_modules, str):
            self.target_modules = [self.target_modules]
        if not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules):
            raise _invalid("target_modules", "must be a non-empty list of module names such as q_proj, v_proj",
                           "module names")

    def warmup_for(self, total_steps: int) -> int:
        """warmup_steps wins when set; otherwise warmup_ratio of the total."""
        if self.warmup_steps > 0:
            return min(self.warmup_steps, total_steps)
        return int(math.ceil(self.warmup_ratio * total_steps))


_INT_FIELDS = {f.name for f in dataclasses.fields(TrainingConfig) if f.type in ("int", "int | None")}
_FLOAT_FIELDS = {f.name for f in dataclasses.fields(TrainingConfig) if f.type == "float"}


def _coerce(name: str, value: Any) -> Any:
    """JSON and protobuf give 8.0 for 8 and ints for floats; accept those, refuse anything else by name."""
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise _invalid(name, f"must be a whole number, got {value!r}", "integers")
        return int(value)
    if name in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _invalid(name, f"must be a finite number, got {value!r}", "numbers")
        return float(value)
    if name == "packing":
        if not isinstance(value, bool):
            raise _invalid(name, f"must be true or false, got {value!r}", "true, false")
        return value
    if name == "target_modules":
        return [value] if isinstance(value, str) else list(value)
    if name in ("optimizer", "scheduler"):
        return str(value).strip().lower()
    return value


def _in_range(name: str, value, low, high, *, low_open: bool = False, high_open: bool = False) -> None:
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high or (isinstance(value, float) and math.isnan(value)):
        allowed = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise _invalid(name, f"must be in {allowed}, got {value}", allowed)


def _invalid(name: str, what: str, allowed: str) -> InvalidArgument:
    return InvalidArgument(
        f"{name} {what}", reason="INVALID_TRAINING_CONFIG", metadata={"field": name, "allowed": allowed}
    )


# The message and the schema name the same parameters: a field added to one and not the other fails at import.
PROTO_FIELDS = tuple(f for f in run_pb2.Hyperparameters.DESCRIPTOR.fields if f.name != "uid")
PARAMETERS = tuple(f.name for f in dataclasses.fields(TrainingConfig))
if sorted(PARAMETERS) != sorted(f.name for f in PROTO_FIELDS):
    raise ImportError("TrainingConfig and finetune.trainer.v1.Hyperparameters name different parameters: "
                      f"{sorted(set(PARAMETERS) ^ {f.name for f in PROTO_FIELDS})}")


def from_proto(message: run_pb2.Hyperparameters) -> tuple[dict[str, Any], str]:
    """(the parameters set in the message, by name; its configuration uid). Unset ones are absent."""
    values = {f.name: v for f, v in message.ListFields() if f.name != "uid"}
    if "target_modules" in values:
        values["target_modules"] = list(values["target_modules"])
    return values, message.uid.strip()


def to_proto(values: dict[str, Any] | None, uid: str = "") -> run_pb2.Hyperparameters:
    """The message of `values` (parameter name -> value; None and unknown names are left out)."""
    message = run_pb2.Hyperparameters(uid=uid)
    for f in PROTO_FIELDS:
        value = (values or {}).get(f.name)
        if value is None:
            continue
        if f.is_repeated:
            getattr(message, f.name).extend(value)
        elif f.cpp_type in (f.CPPTYPE_INT32, f.CPPTYPE_INT64):
            setattr(message, f.name, int(value))
        elif f.cpp_type == f.CPPTYPE_DOUBLE:
            setattr(message, f.name, float(value))
        else:
            setattr(message, f.name, value)
    return message


def target_modules_error(target_modules: list[str], available: list[str]) -> InvalidArgument | None:
    """The error for LoRA targets a model lacks, listing the ones it has; None when every one is there (or
    `available` is unknown, i.e. empty). The trainer and the jobs service raise the same."""
    if target_modules == [ALL_LINEAR] or not available:
        return None
    missing = [m for m in target_modules if m not in available]
    if not missing:
        return None
    available = sorted(set(available))
    return _invalid("target_modules", f"{', '.join(missing)} not found in this model; its Linear modules are: "
                                      f"{', '.join(available)} (or use {ALL_LINEAR!r})", ", ".join(available))


MAX_WORKERS = 64  # data-parallel ranks one run may ask for


def workers_problem(workers: int, gpu_count: int) -> str:
    """What is wrong with a run's `workers` (data-parallel ranks) beside its `gpu_count`; "" when nothing is
    (the trainer and the jobs service say it alike)."""
    if not 0 <= workers <= MAX_WORKERS:
        return f"workers must be in [0, {MAX_WORKERS}] (0: one per GPU, or one on the CPU), got {workers}"
    if gpu_count > 0 and workers not in (0, gpu_count):
        return (f"a run on GPUs has one worker per GPU: leave workers 0 or set it to gpu_count ({gpu_count}), "
                f"got {workers}")
    return ""


def gpu_shortfall(asked: int, available: int, where: str = "this trainer") -> str:
    """What is wrong with a run that asks for more GPUs than `where` has (the trainer and the jobs service say it alike)."""
    return f"the run asks for {asked} GPU(s) but {where} has {available}; use gpu_count 0 to train on the CPU"
