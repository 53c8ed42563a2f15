import datetime

from finetune.trainer.v1 import run_pb2 as _run_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComparedJob(_message.Message):
    __slots__ = ("job", "display_name", "state", "model", "configuration_uid", "metrics", "hyperparameters")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    JOB_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_UID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    job: str
    display_name: str
    state: str
    model: str
    configuration_uid: str
    metrics: _containers.ScalarMap[str, float]
    hyperparameters: _run_pb2.Hyperparameters
    def __init__(self, job: _Optional[str] = ..., display_name: _Optional[str] = ..., state: _Optional[str] = ..., model: _Optional[str] = ..., configuration_uid: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., hyperparameters: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ...) -> None: ...

class ConfigurationDifference(_message.Message):
    __slots__ = ("parameter", "values")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, parameter: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class MetricWinner(_message.Message):
    __slots__ = ("metric", "job", "value")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    metric: str
    job: str
    value: float
    def __init__(self, metric: _Optional[str] = ..., job: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class ValueCount(_message.Message):
    __slots__ = ("value", "count")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    value: str
    count: int
    def __init__(self, value: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class TimeBucket(_message.Message):
    __slots__ = ("start_time", "created", "completed", "failed", "cancelled")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    created: int
    completed: int
    failed: int
    cancelled: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ...) -> None: ...

class ParameterUsage(_message.Message):
    __slots__ = ("parameter", "values")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    values: _containers.RepeatedCompositeFieldContainer[ValueCount]
    def __init__(self, parameter: _Optional[str] = ..., values: _Optional[_Iterable[_Union[ValueCount, _Mapping]]] = ...) -> None: ...

class Distribution(_message.Message):
    __slots__ = ("count", "mean", "p50", "p95", "min", "max")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    count: int
    mean: float
    p50: float
    p95: float
    min: float
    max: float
    def __init__(self, count: _Optional[int] = ..., mean: _Optional[float] = ..., p50: _Optional[float] = ..., p95: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class JobStatistics(_message.Message):
    __slots__ = ("start_time", "end_time", "total_jobs", "jobs_by_state", "success_rate", "jobs_per_hour", "jobs_per_day", "queue_wait_seconds", "queued_now", "popular_models", "popular_datasets", "hyperparameter_choices", "dataset_rows", "dataset_size_classes", "training_seconds", "gpu_hours")
    class JobsByStateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_JOBS_FIELD_NUMBER: _ClassVar[int]
    JOBS_BY_STATE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    JOBS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    JOBS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_NOW_FIELD_NUMBER: _ClassVar[int]
    POPULAR_MODELS_FIELD_NUMBER: _ClassVar[int]
    POPULAR_DATASETS_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETER_CHOICES_FIELD_NUMBER: _ClassVar[int]
    DATASET_ROWS_FIELD_NUMBER: _ClassVar[int]
    DATASET_SIZE_CLASSES_FIELD_NUMBER: _ClassVar[int]
    TRAINING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    GPU_HOURS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    total_jobs: int
    jobs_by_state: _containers.ScalarMap[str, int]
    success_rate: float
    jobs_per_hour: _containers.RepeatedCompositeFieldContainer[TimeBucket]
    jobs_per_day: _containers.RepeatedCompositeFieldContainer[TimeBucket]
    queue_wait_seconds: Distribution
    queued_now: int
    popular_models: _containers.RepeatedCompositeFieldContainer[ValueCount]
    popular_datasets: _containers.RepeatedCompositeFieldContainer[ValueCount]
    hyperparameter_choices: _containers.RepeatedCompositeFieldContainer[ParameterUsage]
    dataset_rows: Distribution
    dataset_size_classes: _containers.RepeatedCompositeFieldContainer[ValueCount]
    training_seconds: Distribution
    gpu_hours: float
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total_jobs: _Optional[int] = ..., jobs_by_state: _Optional[_Mapping[str, int]] = ..., success_rate: _Optional[float] = ..., jobs_per_hour: _Optional[_Iterable[_Union[TimeBucket, _Mapping]]] = ..., jobs_per_day: _Optional[_Iterable[_Union[TimeBucket, _Mapping]]] = ..., queue_wait_seconds: _Optional[_Union[Distribution, _Mapping]] = ..., queued_now: _Optional[int] = ..., popular_models: _Optional[_Iterable[_Union[ValueCount, _Mapping]]] = ..., popular_datasets: _Optional[_Iterable[_Union[ValueCount, _Mapping]]] = ..., hyperparameter_choices: _Optional[_Iterable[_Union[ParameterUsage, _Mapping]]] = ..., dataset_rows: _Optional[_Union[Distribution, _Mapping]] = ..., dataset_size_classes: _Optional[_Iterable[_Union[ValueCount, _Mapping]]] = ..., training_seconds: _Optional[_Union[Distribution, _Mapping]] = ..., gpu_hours: _Optional[float] = ...) -> None: ...
