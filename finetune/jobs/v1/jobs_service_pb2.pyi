import datetime

from finetune.jobs.v1 import analytics_pb2 as _analytics_pb2
from finetune.jobs.v1 import configuration_pb2 as _configuration_pb2
from finetune.jobs.v1 import ensemble_pb2 as _ensemble_pb2
from finetune.jobs.v1 import job_pb2 as _job_pb2
from finetune.jobs.v1 import sweep_pb2 as _sweep_pb2
from finetune.trainer.v1 import run_pb2 as _run_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValidateConfigurationRequest(_message.Message):
    __slots__ = ("hyperparameters", "model", "dataset", "dataset_rows", "mode")
    HYPERPARAMETERS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATASET_ROWS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    hyperparameters: _run_pb2.Hyperparameters
    model: str
    dataset: str
    dataset_rows: int
    mode: _configuration_pb2.ConfigurationMode
    def __init__(self, hyperparameters: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ..., model: _Optional[str] = ..., dataset: _Optional[str] = ..., dataset_rows: _Optional[int] = ..., mode: _Optional[_Union[_configuration_pb2.ConfigurationMode, str]] = ...) -> None: ...

class ValidateConfigurationResponse(_message.Message):
    __slots__ = ("valid", "errors", "warnings", "normalized", "suggested", "estimated_memory_bytes", "available_memory_bytes")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    errors: _containers.RepeatedCompositeFieldContainer[_configuration_pb2.ValidationIssue]
    warnings: _containers.RepeatedCompositeFieldContainer[_configuration_pb2.ValidationIssue]
    normalized: _run_pb2.Hyperparameters
    suggested: _run_pb2.Hyperparameters
    estimated_memory_bytes: int
    available_memory_bytes: int
    def __init__(self, valid: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[_configuration_pb2.ValidationIssue, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[_configuration_pb2.ValidationIssue, _Mapping]]] = ..., normalized: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ..., suggested: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ..., estimated_memory_bytes: _Optional[int] = ..., available_memory_bytes: _Optional[int] = ...) -> None: ...

class CreateConfigurationRequest(_message.Message):
    __slots__ = ("configuration",)
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    configuration: _configuration_pb2.Configuration
    def __init__(self, configuration: _Optional[_Union[_configuration_pb2.Configuration, _Mapping]] = ...) -> None: ...

class GetConfigurationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListConfigurationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "mode")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    mode: _configuration_pb2.ConfigurationMode
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., mode: _Optional[_Union[_configuration_pb2.ConfigurationMode, str]] = ...) -> None: ...

class ListConfigurationsResponse(_message.Message):
    __slots__ = ("configurations", "next_page_token", "total_size")
    CONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    configurations: _containers.RepeatedCompositeFieldContainer[_configuration_pb2.Configuration]
    next_page_token: str
    total_size: int
    def __init__(self, configurations: _Optional[_Iterable[_Union[_configuration_pb2.Configuration, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetBestConfigurationRequest(_message.Message):
    __slots__ = ("mode",)
    MODE_FIELD_NUMBER: _ClassVar[int]
    mode: str
    def __init__(self, mode: _Optional[str] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ("name", "description", "tags", "configuration", "model_saving", "priority", "timeout", "gpu_count", "mode", "job_id", "validate_only", "metadata", "workers")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    MODEL_SAVING_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    configuration: _job_pb2.JobConfiguration
    model_saving: _run_pb2.ModelSaving
    priority: _job_pb2.JobPriority
    timeout: _duration_pb2.Duration
    gpu_count: int
    mode: _configuration_pb2.ConfigurationMode
    job_id: str
    validate_only: bool
    metadata: _containers.ScalarMap[str, str]
    workers: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., configuration: _Optional[_Union[_job_pb2.JobConfiguration, _Mapping]] = ..., model_saving: _Optional[_Union[_run_pb2.ModelSaving, _Mapping]] = ..., priority: _Optional[_Union[_job_pb2.JobPriority, str]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., gpu_count: _Optional[int] = ..., mode: _Optional[_Union[_configuration_pb2.ConfigurationMode, str]] = ..., job_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., metadata: _Optional[_Mapping[str, str]] = ..., workers: _Optional[int] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state", "tag", "sweep", "dataset", "unfinished", "model")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    UNFINISHED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: _job_pb2.JobState
    tag: str
    sweep: str
    dataset: str
    unfinished: bool
    model: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[_job_pb2.JobState, str]] = ..., tag: _Optional[str] = ..., sweep: _Optional[str] = ..., dataset: _Optional[str] = ..., unfinished: _Optional[bool] = ..., model: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token", "total_size")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_job_pb2.Job]
    next_page_token: str
    total_size: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[_job_pb2.Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PauseJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeJobRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StreamJobStateChangesRequest(_message.Message):
    __slots__ = ("name", "after_sequence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    after_sequence: int
    def __init__(self, name: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class CompareJobsRequest(_message.Message):
    __slots__ = ("job_ids", "metrics")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[str]] = ..., metrics: _Optional[_Iterable[str]] = ...) -> None: ...

class CompareJobsResponse(_message.Message):
    __slots__ = ("jobs", "differences", "best", "metrics")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[_analytics_pb2.ComparedJob]
    differences: _containers.RepeatedCompositeFieldContainer[_analytics_pb2.ConfigurationDifference]
    best: _containers.RepeatedCompositeFieldContainer[_analytics_pb2.MetricWinner]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, jobs: _Optional[_Iterable[_Union[_analytics_pb2.ComparedJob, _Mapping]]] = ..., differences: _Optional[_Iterable[_Union[_analytics_pb2.ConfigurationDifference, _Mapping]]] = ..., best: _Optional[_Iterable[_Union[_analytics_pb2.MetricWinner, _Mapping]]] = ..., metrics: _Optional[_Iterable[str]] = ...) -> None: ...

class GetJobStatisticsRequest(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSweepRequest(_message.Message):
    __slots__ = ("sweep", "trial_timeout")
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    TRIAL_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    sweep: _sweep_pb2.Sweep
    trial_timeout: _duration_pb2.Duration
    def __init__(self, sweep: _Optional[_Union[_sweep_pb2.Sweep, _Mapping]] = ..., trial_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetSweepRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSweepsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSweepsResponse(_message.Message):
    __slots__ = ("sweeps", "next_page_token", "total_size")
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    sweeps: _containers.RepeatedCompositeFieldContainer[_sweep_pb2.Sweep]
    next_page_token: str
    total_size: int
    def __init__(self, sweeps: _Optional[_Iterable[_Union[_sweep_pb2.Sweep, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListSweepTrialsRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListSweepTrialsResponse(_message.Message):
    __slots__ = ("trials",)
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[_sweep_pb2.SweepTrial]
    def __init__(self, trials: _Optional[_Iterable[_Union[_sweep_pb2.SweepTrial, _Mapping]]] = ...) -> None: ...

class CancelSweepRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PromoteSweepTrialRequest(_message.Message):
    __slots__ = ("name", "trial_number", "display_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    trial_number: int
    display_name: str
    def __init__(self, name: _Optional[str] = ..., trial_number: _Optional[int] = ..., display_name: _Optional[str] = ...) -> None: ...

class CreateEnsembleRequest(_message.Message):
    __slots__ = ("ensemble",)
    ENSEMBLE_FIELD_NUMBER: _ClassVar[int]
    ensemble: _ensemble_pb2.Ensemble
    def __init__(self, ensemble: _Optional[_Union[_ensemble_pb2.Ensemble, _Mapping]] = ...) -> None: ...

class GetEnsembleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListEnsemblesRequest(_message.Message):
    __slots__ = ("page_size",)
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    def __init__(self, page_size: _Optional[int] = ...) -> None: ...

class ListEnsemblesResponse(_message.Message):
    __slots__ = ("ensembles",)
    ENSEMBLES_FIELD_NUMBER: _ClassVar[int]
    ensembles: _containers.RepeatedCompositeFieldContainer[_ensemble_pb2.Ensemble]
    def __init__(self, ensembles: _Optional[_Iterable[_Union[_ensemble_pb2.Ensemble, _Mapping]]] = ...) -> None: ...

class GenerateEnsembleRequest(_message.Message):
    __slots__ = ("name", "prompt", "max_new_tokens")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    name: str
    prompt: str
    max_new_tokens: int
    def __init__(self, name: _Optional[str] = ..., prompt: _Optional[str] = ..., max_new_tokens: _Optional[int] = ...) -> None: ...

class EvaluateEnsembleRequest(_message.Message):
    __slots__ = ("name", "max_rows")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_ROWS_FIELD_NUMBER: _ClassVar[int]
    name: str
    max_rows: int
    def __init__(self, name: _Optional[str] = ..., max_rows: _Optional[int] = ...) -> None: ...

class EnsembleEvaluation(_message.Message):
    __slots__ = ("name", "rows", "members", "ensemble_exact_match")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ENSEMBLE_EXACT_MATCH_FIELD_NUMBER: _ClassVar[int]
    name: str
    rows: int
    members: _containers.RepeatedCompositeFieldContainer[_ensemble_pb2.MemberScore]
    ensemble_exact_match: float
    def __init__(self, name: _Optional[str] = ..., rows: _Optional[int] = ..., members: _Optional[_Iterable[_Union[_ensemble_pb2.MemberScore, _Mapping]]] = ..., ensemble_exact_match: _Optional[float] = ...) -> None: ...
