import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_PENDING: _ClassVar[RunState]
    RUN_STATE_RUNNING: _ClassVar[RunState]
    RUN_STATE_PAUSED: _ClassVar[RunState]
    RUN_STATE_COMPLETED: _ClassVar[RunState]
    RUN_STATE_FAILED: _ClassVar[RunState]
    RUN_STATE_CANCELLED: _ClassVar[RunState]

class AlertLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_LEVEL_UNSPECIFIED: _ClassVar[AlertLevel]
    ALERT_LEVEL_WARNING: _ClassVar[AlertLevel]
    ALERT_LEVEL_CRITICAL: _ClassVar[AlertLevel]
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_PENDING: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_PAUSED: RunState
RUN_STATE_COMPLETED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_CANCELLED: RunState
ALERT_LEVEL_UNSPECIFIED: AlertLevel
ALERT_LEVEL_WARNING: AlertLevel
ALERT_LEVEL_CRITICAL: AlertLevel

class Run(_message.Message):
    __slots__ = ("name", "job_id", "state", "model", "dataset", "hyperparameters", "model_saving", "gpu_count", "progress", "error", "error_reason", "attempts", "stopped_early", "output_dir", "last_sequence", "create_time", "start_time", "end_time", "workers", "placement")
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    MODEL_SAVING_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_EARLY_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    job_id: str
    state: RunState
    model: str
    dataset: str
    hyperparameters: Hyperparameters
    model_saving: ModelSaving
    gpu_count: int
    progress: RunProgress
    error: str
    error_reason: str
    attempts: int
    stopped_early: bool
    output_dir: str
    last_sequence: int
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    workers: int
    placement: str
    def __init__(self, name: _Optional[str] = ..., job_id: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., model: _Optional[str] = ..., dataset: _Optional[str] = ..., hyperparameters: _Optional[_Union[Hyperparameters, _Mapping]] = ..., model_saving: _Optional[_Union[ModelSaving, _Mapping]] = ..., gpu_count: _Optional[int] = ..., progress: _Optional[_Union[RunProgress, _Mapping]] = ..., error: _Optional[str] = ..., error_reason: _Optional[str] = ..., attempts: _Optional[int] = ..., stopped_early: _Optional[bool] = ..., output_dir: _Optional[str] = ..., last_sequence: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., workers: _Optional[int] = ..., placement: _Optional[str] = ...) -> None: ...

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

class ModelSaving(_message.Message):
    __slots__ = ("save_model", "model_name", "push_to_hub", "make_public", "hub_token", "hub_endpoint")
    SAVE_MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    PUSH_TO_HUB_FIELD_NUMBER: _ClassVar[int]
    MAKE_PUBLIC_FIELD_NUMBER: _ClassVar[int]
    HUB_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HUB_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    save_model: bool
    model_name: str
    push_to_hub: bool
    make_public: bool
    hub_token: str
    hub_endpoint: str
    def __init__(self, save_model: _Optional[bool] = ..., model_name: _Optional[str] = ..., push_to_hub: _Optional[bool] = ..., make_public: _Optional[bool] = ..., hub_token: _Optional[str] = ..., hub_endpoint: _Optional[str] = ...) -> None: ...

class RunProgress(_message.Message):
    __slots__ = ("step", "total_steps", "epoch", "total_epochs", "train_loss", "validation_loss", "best_validation_loss", "learning_rate", "grad_norm", "tokens_per_second", "samples_per_second", "elapsed_seconds", "eta_seconds", "percent", "checkpoint_step")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EPOCHS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    BEST_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_STEP_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    epoch: float
    total_epochs: int
    train_loss: float
    validation_loss: float
    best_validation_loss: float
    learning_rate: float
    grad_norm: float
    tokens_per_second: float
    samples_per_second: float
    elapsed_seconds: float
    eta_seconds: float
    percent: float
    checkpoint_step: int
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., epoch: _Optional[float] = ..., total_epochs: _Optional[int] = ..., train_loss: _Optional[float] = ..., validation_loss: _Optional[float] = ..., best_validation_loss: _Optional[float] = ..., learning_rate: _Optional[float] = ..., grad_norm: _Optional[float] = ..., tokens_per_second: _Optional[float] = ..., samples_per_second: _Optional[float] = ..., elapsed_seconds: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., percent: _Optional[float] = ..., checkpoint_step: _Optional[int] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("sequence", "run", "time", "step", "evaluation", "resources", "state", "log", "alert", "checkpoint", "summary")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    run: str
    time: _timestamp_pb2.Timestamp
    step: StepMetrics
    evaluation: Evaluation
    resources: ResourceSample
    state: StateChange
    log: LogLine
    alert: Alert
    checkpoint: CheckpointSaved
    summary: FinalSummary
    def __init__(self, sequence: _Optional[int] = ..., run: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step: _Optional[_Union[StepMetrics, _Mapping]] = ..., evaluation: _Optional[_Union[Evaluation, _Mapping]] = ..., resources: _Optional[_Union[ResourceSample, _Mapping]] = ..., state: _Optional[_Union[StateChange, _Mapping]] = ..., log: _Optional[_Union[LogLine, _Mapping]] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointSaved, _Mapping]] = ..., summary: _Optional[_Union[FinalSummary, _Mapping]] = ...) -> None: ...

class StepMetrics(_message.Message):
    __slots__ = ("step", "total_steps", "epoch", "train_loss", "learning_rate", "grad_norm", "tokens_per_second", "samples_per_second", "elapsed_seconds", "eta_seconds", "percent")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    GRAD_NORM_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    epoch: float
    train_loss: float
    learning_rate: float
    grad_norm: float
    tokens_per_second: float
    samples_per_second: float
    elapsed_seconds: float
    eta_seconds: float
    percent: float
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., epoch: _Optional[float] = ..., train_loss: _Optional[float] = ..., learning_rate: _Optional[float] = ..., grad_norm: _Optional[float] = ..., tokens_per_second: _Optional[float] = ..., samples_per_second: _Optional[float] = ..., elapsed_seconds: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., percent: _Optional[float] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("step", "epoch", "validation_loss", "perplexity", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    PERPLEXITY_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    step: int
    epoch: float
    validation_loss: float
    perplexity: float
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, step: _Optional[int] = ..., epoch: _Optional[float] = ..., validation_loss: _Optional[float] = ..., perplexity: _Optional[float] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ResourceSample(_message.Message):
    __slots__ = ("cpu_percent", "cpu_count", "memory_percent", "memory_used_bytes", "memory_total_bytes", "process_rss_bytes", "disk_read_bytes_per_second", "disk_write_bytes_per_second", "network_sent_bytes_per_second", "network_received_bytes_per_second", "gpus", "disk_percent", "time", "process_cpu_percent", "node")
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROCESS_RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_READ_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    DISK_WRITE_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    NETWORK_SENT_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    NETWORK_RECEIVED_BYTES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    DISK_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    PROCESS_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    cpu_percent: float
    cpu_count: int
    memory_percent: float
    memory_used_bytes: int
    memory_total_bytes: int
    process_rss_bytes: int
    disk_read_bytes_per_second: float
    disk_write_bytes_per_second: float
    network_sent_bytes_per_second: float
    network_received_bytes_per_second: float
    gpus: _containers.RepeatedCompositeFieldContainer[GpuSample]
    disk_percent: float
    time: _timestamp_pb2.Timestamp
    process_cpu_percent: float
    node: str
    def __init__(self, cpu_percent: _Optional[float] = ..., cpu_count: _Optional[int] = ..., memory_percent: _Optional[float] = ..., memory_used_bytes: _Optional[int] = ..., memory_total_bytes: _Optional[int] = ..., process_rss_bytes: _Optional[int] = ..., disk_read_bytes_per_second: _Optional[float] = ..., disk_write_bytes_per_second: _Optional[float] = ..., network_sent_bytes_per_second: _Optional[float] = ..., network_received_bytes_per_second: _Optional[float] = ..., gpus: _Optional[_Iterable[_Union[GpuSample, _Mapping]]] = ..., disk_percent: _Optional[float] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., process_cpu_percent: _Optional[float] = ..., node: _Optional[str] = ...) -> None: ...

class GpuSample(_message.Message):
    __slots__ = ("index", "name", "utilization_percent", "memory_used_bytes", "memory_total_bytes", "temperature_celsius", "power_watts")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    utilization_percent: float
    memory_used_bytes: int
    memory_total_bytes: int
    temperature_celsius: float
    power_watts: float
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., utilization_percent: _Optional[float] = ..., memory_used_bytes: _Optional[int] = ..., memory_total_bytes: _Optional[int] = ..., temperature_celsius: _Optional[float] = ..., power_watts: _Optional[float] = ...) -> None: ...

class StateChange(_message.Message):
    __slots__ = ("state", "previous_state", "message", "attempt")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    state: RunState
    previous_state: RunState
    message: str
    attempt: int
    def __init__(self, state: _Optional[_Union[RunState, str]] = ..., previous_state: _Optional[_Union[RunState, str]] = ..., message: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class LogLine(_message.Message):
    __slots__ = ("level", "message", "source")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    level: str
    message: str
    source: str
    def __init__(self, level: _Optional[str] = ..., message: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("level", "code", "message", "value", "threshold", "suggestion")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    level: AlertLevel
    code: str
    message: str
    value: float
    threshold: float
    suggestion: str
    def __init__(self, level: _Optional[_Union[AlertLevel, str]] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., value: _Optional[float] = ..., threshold: _Optional[float] = ..., suggestion: _Optional[str] = ...) -> None: ...

class FinalSummary(_message.Message):
    __slots__ = ("metrics",)
    METRICS_FIELD_NUMBER: _ClassVar[int]
    metrics: _struct_pb2.Struct
    def __init__(self, metrics: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CheckpointSaved(_message.Message):
    __slots__ = ("step", "path")
    STEP_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    step: int
    path: str
    def __init__(self, step: _Optional[int] = ..., path: _Optional[str] = ...) -> None: ...

class TrainingSummary(_message.Message):
    __slots__ = ("run", "job_id", "state", "progress", "error", "attempts")
    RUN_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    run: str
    job_id: str
    state: RunState
    progress: RunProgress
    error: str
    attempts: int
    def __init__(self, run: _Optional[str] = ..., job_id: _Optional[str] = ..., state: _Optional[_Union[RunState, str]] = ..., progress: _Optional[_Union[RunProgress, _Mapping]] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ...) -> None: ...

class LossPoint(_message.Message):
    __slots__ = ("step", "epoch", "train_loss", "validation_loss", "learning_rate", "time")
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    step: int
    epoch: float
    train_loss: float
    validation_loss: float
    learning_rate: float
    time: _timestamp_pb2.Timestamp
    def __init__(self, step: _Optional[int] = ..., epoch: _Optional[float] = ..., train_loss: _Optional[float] = ..., validation_loss: _Optional[float] = ..., learning_rate: _Optional[float] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("code", "severity", "message", "suggestion")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    severity: str
    message: str
    suggestion: str
    def __init__(self, code: _Optional[str] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., suggestion: _Optional[str] = ...) -> None: ...
