import datetime

from finetune.trainer.v1 import run_pb2 as _run_pb2
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
    hyperparameters: _run_pb2.Hyperparameters
    display_name: str
    description: str
    source_sweep: str
    best_job: str
    best_validation_loss: float
    completed_jobs: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., mode: _Optional[_Union[ConfigurationMode, str]] = ..., hyperparameters: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., source_sweep: _Optional[str] = ..., best_job: _Optional[str] = ..., best_validation_loss: _Optional[float] = ..., completed_jobs: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

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
