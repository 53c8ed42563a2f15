import datetime

from finetune.jobs.v1 import configuration_pb2 as _configuration_pb2
from finetune.trainer.v1 import run_pb2 as _run_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_CREATED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_PAUSED: _ClassVar[JobState]
    JOB_STATE_COMPLETED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class JobPriority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_PRIORITY_UNSPECIFIED: _ClassVar[JobPriority]
    JOB_PRIORITY_HIGH: _ClassVar[JobPriority]
    JOB_PRIORITY_MEDIUM: _ClassVar[JobPriority]
    JOB_PRIORITY_LOW: _ClassVar[JobPriority]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_CREATED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_PAUSED: JobState
JOB_STATE_COMPLETED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
JOB_PRIORITY_UNSPECIFIED: JobPriority
JOB_PRIORITY_HIGH: JobPriority
JOB_PRIORITY_MEDIUM: JobPriority
JOB_PRIORITY_LOW: JobPriority

class Job(_message.Message):
    __slots__ = ("name", "job_uid", "display_name", "description", "tags", "configuration", "model_saving", "priority", "timeout", "gpu_count", "state", "state_reason", "error", "transitions", "attempts", "max_attempts", "trainer", "metrics", "warnings", "sweep", "trial_number", "output_dir", "create_time", "start_time", "end_time", "update_time", "metadata", "workers", "waiting_for", "placement")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOB_UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    MODEL_SAVING_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    TRAINER_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    TRIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    WAITING_FOR_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    job_uid: str
    display_name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    configuration: JobConfiguration
    model_saving: _run_pb2.ModelSaving
    priority: JobPriority
    timeout: _duration_pb2.Duration
    gpu_count: int
    state: JobState
    state_reason: str
    error: str
    transitions: _containers.RepeatedCompositeFieldContainer[StateTransition]
    attempts: int
    max_attempts: int
    trainer: str
    metrics: JobMetrics
    warnings: _containers.RepeatedCompositeFieldContainer[_configuration_pb2.ValidationIssue]
    sweep: str
    trial_number: int
    output_dir: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    workers: int
    waiting_for: str
    placement: str
    def __init__(self, name: _Optional[str] = ..., job_uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., configuration: _Optional[_Union[JobConfiguration, _Mapping]] = ..., model_saving: _Optional[_Union[_run_pb2.ModelSaving, _Mapping]] = ..., priority: _Optional[_Union[JobPriority, str]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., gpu_count: _Optional[int] = ..., state: _Optional[_Union[JobState, str]] = ..., state_reason: _Optional[str] = ..., error: _Optional[str] = ..., transitions: _Optional[_Iterable[_Union[StateTransition, _Mapping]]] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., trainer: _Optional[str] = ..., metrics: _Optional[_Union[JobMetrics, _Mapping]] = ..., warnings: _Optional[_Iterable[_Union[_configuration_pb2.ValidationIssue, _Mapping]]] = ..., sweep: _Optional[str] = ..., trial_number: _Optional[int] = ..., output_dir: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., workers: _Optional[int] = ..., waiting_for: _Optional[str] = ..., placement: _Optional[str] = ...) -> None: ...

class ResourceReference(_message.Message):
    __slots__ = ("uid", "name")
    UID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    uid: str
    name: str
    def __init__(self, uid: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class JobConfiguration(_message.Message):
    __slots__ = ("model", "dataset", "hyperparameters")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    model: ResourceReference
    dataset: ResourceReference
    hyperparameters: _run_pb2.Hyperparameters
    def __init__(self, model: _Optional[_Union[ResourceReference, _Mapping]] = ..., dataset: _Optional[_Union[ResourceReference, _Mapping]] = ..., hyperparameters: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ...) -> None: ...

class StateTransition(_message.Message):
    __slots__ = ("sequence", "from_state", "to_state", "reason", "message", "time", "job")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    from_state: JobState
    to_state: JobState
    reason: str
    message: str
    time: _timestamp_pb2.Timestamp
    job: str
    def __init__(self, sequence: _Optional[int] = ..., from_state: _Optional[_Union[JobState, str]] = ..., to_state: _Optional[_Union[JobState, str]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., job: _Optional[str] = ...) -> None: ...

class JobMetrics(_message.Message):
    __slots__ = ("step", "total_steps", "final_loss", "final_validation_loss", "best_validation_loss", "training_time_seconds", "gpu_hours", "tokens_per_second", "percent", "queue_wait_seconds", "dataset_rows")
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_STEPS_FIELD_NUMBER: _ClassVar[int]
    FINAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    FINAL_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    BEST_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_TIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    GPU_HOURS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DATASET_ROWS_FIELD_NUMBER: _ClassVar[int]
    step: int
    total_steps: int
    final_loss: float
    final_validation_loss: float
    best_validation_loss: float
    training_time_seconds: float
    gpu_hours: float
    tokens_per_second: float
    percent: float
    queue_wait_seconds: float
    dataset_rows: int
    def __init__(self, step: _Optional[int] = ..., total_steps: _Optional[int] = ..., final_loss: _Optional[float] = ..., final_validation_loss: _Optional[float] = ..., best_validation_loss: _Optional[float] = ..., training_time_seconds: _Optional[float] = ..., gpu_hours: _Optional[float] = ..., tokens_per_second: _Optional[float] = ..., percent: _Optional[float] = ..., queue_wait_seconds: _Optional[float] = ..., dataset_rows: _Optional[int] = ...) -> None: ...
