import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConfigurationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONFIGURATION_MODE_UNSPECIFIED: _ClassVar[ConfigurationMode]
    CONFIGURATION_MODE_MANUAL: _ClassVar[ConfigurationMode]
    CONFIGURATION_MODE_AUTOMATED: _ClassVar[ConfigurationMode]
CONFIGURATION_MODE_UNSPECIFIED: ConfigurationMode
CONFIGURATION_MODE_MANUAL: ConfigurationMode
CONFIGURATION_MODE_AUTOMATED: ConfigurationMode

class Hyperparameters(_message.Message):
    __slots__ = ("learning_rate", "batch_size", "epochs", "warmup_steps", "warmup_ratio", "weight_decay", "gradient_accumulation_steps", "max_grad_norm", "optimizer", "scheduler", "save_steps", "eval_steps", "logging_steps", "seed", "early_stopping_patience", "early_stopping_threshold", "timeout_seconds", "max_seq_length", "lora_r", "lora_alpha", "lora_dropout", "target_modules", "max_steps", "keep_checkpoints", "packing", "uid")
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_RATIO_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_DECAY_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_ACCUMULATION_STEPS_FIELD_NUMBER: _ClassVar[int]
    MAX_GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    SAVE_STEPS_FIELD_NUMBER: _ClassVar[int]
    EVAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    LOGGING_STEPS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_PATIENCE_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_SEQ_LENGTH_FIELD_NUMBER: _ClassVar[int]
    LORA_R_FIELD_NUMBER: _ClassVar[int]
    LORA_ALPHA_FIELD_NUMBER: _ClassVar[int]
    LORA_DROPOUT_FIELD_NUMBER: _ClassVar[int]
    TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    MAX_STEPS_FIELD_NUMBER: _ClassVar[int]
    KEEP_CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    PACKING_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    learning_rate: float
    batch_size: int
    epochs: int
    warmup_steps: int
    warmup_ratio: float
    weight_decay: float
    gradient_accumulation_steps: int
    max_grad_norm: float
    optimizer: str
    scheduler: str
    save_steps: int
    eval_steps: int
    logging_steps: int
    seed: int
    early_stopping_patience: int
    early_stopping_threshold: float
    timeout_seconds: float
    max_seq_length: int
    lora_r: int
    lora_alpha: float
    lora_dropout: float
    target_modules: _containers.RepeatedScalarFieldContainer[str]
    max_steps: int
    keep_checkpoints: int
    packing: bool
    uid: str
    def __init__(self, learning_rate: _Optional[float] = ..., batch_size: _Optional[int] = ..., epochs: _Optional[int] = ..., warmup_steps: _Optional[int] = ..., warmup_ratio: _Optional[float] = ..., weight_decay: _Optional[float] = ..., gradient_accumulation_steps: _Optional[int] = ..., max_grad_norm: _Optional[float] = ..., optimizer: _Optional[str] = ..., scheduler: _Optional[str] = ..., save_steps: _Optional[int] = ..., eval_steps: _Optional[int] = ..., logging_steps: _Optional[int] = ..., seed: _Optional[int] = ..., early_stopping_patience: _Optional[int] = ..., early_stopping_threshold: _Optional[float] = ..., timeout_seconds: _Optional[float] = ..., max_seq_length: _Optional[int] = ..., lora_r: _Optional[int] = ..., lora_alpha: _Optional[float] = ..., lora_dropout: _Optional[float] = ..., target_modules: _Optional[_Iterable[str]] = ..., max_steps: _Optional[int] = ..., keep_checkpoints: _Optional[int] = ..., packing: _Optional[bool] = ..., uid: _Optional[str] = ...) -> None: ...

class Configuration(_message.Message):
    __slots__ = ("name", "uid", "mode", "hyperparameters", "display_name", "description", "source_sweep", "best_job", "best_validation_loss", "completed_jobs", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SWEEP_FIELD_NUMBER: _ClassVar[int]
    BEST_JOB_FIELD_NUMBER: _ClassVar[int]
    BEST_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_JOBS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    mode: ConfigurationMode
    hyperparameters: Hyperparameters
    display_name: str
    description: str
    source_sweep: str
    best_job: str
    best_validation_loss: float
    completed_jobs: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., mode: _Optional[_Union[ConfigurationMode, str]] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., source_sweep: _Optional[str] = ..., best_job: _Optional[str] = ..., best_validation_loss: _Optional[float] = ..., completed_jobs: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ValidationIssue(_message.Message):
    __slots__ = ("field", "code", "message", "suggested_value")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    code: str
    message: str
    suggested_value: str
    def __init__(self, field: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., suggested_value: _Optional[str] = ...) -> None: ...

class ParameterRange(_message.Message):
    __slots__ = ("parameter", "min", "max", "log_scale", "step", "values", "choices")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LOG_SCALE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    min: float
    max: float
    log_scale: bool
    step: float
    values: _containers.RepeatedScalarFieldContainer[float]
    choices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, parameter: _Optional[str] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., log_scale: _Optional[bool] = ..., step: _Optional[float] = ..., values: _Optional[_Iterable[float]] = ..., choices: _Optional[_Iterable[str]] = ...) -> None: ...
