import datetime

from finetune.trainer.v1 import run_pb2 as _run_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProfileRunRequest(_message.Message):
    __slots__ = ("name", "steps")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    steps: int
    def __init__(self, name: _Optional[str] = ..., steps: _Optional[int] = ...) -> None: ...

class StepProfile(_message.Message):
    __slots__ = ("first_step", "last_step", "wall_seconds", "phases", "top_operators", "peak_memory_bytes", "device", "advice")
    FIRST_STEP_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    TOP_OPERATORS_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    ADVICE_FIELD_NUMBER: _ClassVar[int]
    first_step: int
    last_step: int
    wall_seconds: float
    phases: _containers.RepeatedCompositeFieldContainer[ProfilePhase]
    top_operators: _containers.RepeatedCompositeFieldContainer[ProfileOperator]
    peak_memory_bytes: int
    device: str
    advice: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, first_step: _Optional[int] = ..., last_step: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., phases: _Optional[_Iterable[_Union[ProfilePhase, _Mapping]]] = ..., top_operators: _Optional[_Iterable[_Union[ProfileOperator, _Mapping]]] = ..., peak_memory_bytes: _Optional[int] = ..., device: _Optional[str] = ..., advice: _Optional[_Iterable[str]] = ...) -> None: ...

class ProfilePhase(_message.Message):
    __slots__ = ("phase", "seconds", "percent")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    phase: str
    seconds: float
    percent: float
    def __init__(self, phase: _Optional[str] = ..., seconds: _Optional[float] = ..., percent: _Optional[float] = ...) -> None: ...

class ProfileOperator(_message.Message):
    __slots__ = ("name", "self_seconds", "calls")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SELF_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    name: str
    self_seconds: float
    calls: int
    def __init__(self, name: _Optional[str] = ..., self_seconds: _Optional[float] = ..., calls: _Optional[int] = ...) -> None: ...

class QuantizeModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class QuantizationReport(_message.Message):
    __slots__ = ("name", "path", "quantized_layers", "fp32_bytes", "int8_bytes", "fp32_tokens_per_second", "int8_tokens_per_second", "fp32_validation_loss", "int8_validation_loss", "loader")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    QUANTIZED_LAYERS_FIELD_NUMBER: _ClassVar[int]
    FP32_BYTES_FIELD_NUMBER: _ClassVar[int]
    INT8_BYTES_FIELD_NUMBER: _ClassVar[int]
    FP32_TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    INT8_TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    FP32_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    INT8_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    LOADER_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    quantized_layers: int
    fp32_bytes: int
    int8_bytes: int
    fp32_tokens_per_second: float
    int8_tokens_per_second: float
    fp32_validation_loss: float
    int8_validation_loss: float
    loader: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., quantized_layers: _Optional[int] = ..., fp32_bytes: _Optional[int] = ..., int8_bytes: _Optional[int] = ..., fp32_tokens_per_second: _Optional[float] = ..., int8_tokens_per_second: _Optional[float] = ..., fp32_validation_loss: _Optional[float] = ..., int8_validation_loss: _Optional[float] = ..., loader: _Optional[str] = ...) -> None: ...

class DeleteSavedModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteSavedModelResponse(_message.Message):
    __slots__ = ("removed", "freed_bytes")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    removed: _containers.RepeatedScalarFieldContainer[str]
    freed_bytes: int
    def __init__(self, removed: _Optional[_Iterable[str]] = ..., freed_bytes: _Optional[int] = ...) -> None: ...

class SendTestAlertRequest(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class SendTestAlertResponse(_message.Message):
    __slots__ = ("deliveries", "dropped")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[WebhookDelivery]
    dropped: int
    def __init__(self, deliveries: _Optional[_Iterable[_Union[WebhookDelivery, _Mapping]]] = ..., dropped: _Optional[int] = ...) -> None: ...

class WebhookDelivery(_message.Message):
    __slots__ = ("host", "kind", "delivered", "attempts", "status", "error")
    HOST_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    host: str
    kind: str
    delivered: bool
    attempts: int
    status: int
    error: str
    def __init__(self, host: _Optional[str] = ..., kind: _Optional[str] = ..., delivered: _Optional[bool] = ..., attempts: _Optional[int] = ..., status: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class TrainingExample(_message.Message):
    __slots__ = ("input", "output")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    input: str
    output: str
    def __init__(self, input: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...

class CreateRunRequest(_message.Message):
    __slots__ = ("run", "run_id", "train_rows", "validation_rows")
    RUN_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ROWS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_ROWS_FIELD_NUMBER: _ClassVar[int]
    run: _run_pb2.Run
    run_id: str
    train_rows: _containers.RepeatedCompositeFieldContainer[TrainingExample]
    validation_rows: _containers.RepeatedCompositeFieldContainer[TrainingExample]
    def __init__(self, run: _Optional[_Union[_run_pb2.Run, _Mapping]] = ..., run_id: _Optional[str] = ..., train_rows: _Optional[_Iterable[_Union[TrainingExample, _Mapping]]] = ..., validation_rows: _Optional[_Iterable[_Union[TrainingExample, _Mapping]]] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "job_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    job_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token", "total_size")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    next_page_token: str
    total_size: int
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class StreamRunEventsRequest(_message.Message):
    __slots__ = ("name", "after_sequence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    after_sequence: int
    def __init__(self, name: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class PauseRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ResumeRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class SetLearningRateRequest(_message.Message):
    __slots__ = ("name", "learning_rate")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    learning_rate: float
    def __init__(self, name: _Optional[str] = ..., learning_rate: _Optional[float] = ...) -> None: ...

class SaveCheckpointRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StopRunEarlyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetTrainingSummaryRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: str
    def __init__(self, run: _Optional[str] = ...) -> None: ...

class GetTrainingStatusRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetLossHistoryRequest(_message.Message):
    __slots__ = ("run", "last_n")
    RUN_FIELD_NUMBER: _ClassVar[int]
    LAST_N_FIELD_NUMBER: _ClassVar[int]
    run: str
    last_n: int
    def __init__(self, run: _Optional[str] = ..., last_n: _Optional[int] = ...) -> None: ...

class LossHistory(_message.Message):
    __slots__ = ("run", "losses")
    RUN_FIELD_NUMBER: _ClassVar[int]
    LOSSES_FIELD_NUMBER: _ClassVar[int]
    run: str
    losses: _containers.RepeatedCompositeFieldContainer[_run_pb2.LossPoint]
    def __init__(self, run: _Optional[str] = ..., losses: _Optional[_Iterable[_Union[_run_pb2.LossPoint, _Mapping]]] = ...) -> None: ...

class GetRunMetricsRequest(_message.Message):
    __slots__ = ("name", "max_notices")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_NOTICES_FIELD_NUMBER: _ClassVar[int]
    name: str
    max_notices: int
    def __init__(self, name: _Optional[str] = ..., max_notices: _Optional[int] = ...) -> None: ...

class RunMetrics(_message.Message):
    __slots__ = ("name", "last_sequence", "steps", "evaluations", "resources", "latest_resources", "notices")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    LATEST_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    name: str
    last_sequence: int
    steps: StepSeries
    evaluations: EvaluationSeries
    resources: ResourceSeries
    latest_resources: _run_pb2.ResourceSample
    notices: _containers.RepeatedCompositeFieldContainer[_run_pb2.RunEvent]
    def __init__(self, name: _Optional[str] = ..., last_sequence: _Optional[int] = ..., steps: _Optional[_Union[StepSeries, _Mapping]] = ..., evaluations: _Optional[_Union[EvaluationSeries, _Mapping]] = ..., resources: _Optional[_Union[ResourceSeries, _Mapping]] = ..., latest_resources: _Optional[_Union[_run_pb2.ResourceSample, _Mapping]] = ..., notices: _Optional[_Iterable[_Union[_run_pb2.RunEvent, _Mapping]]] = ...) -> None: ...

class StepSeries(_message.Message):
    __slots__ = ("steps", "times", "elapsed_seconds", "epochs", "train_losses", "learning_rates", "grad_norms", "tokens_per_second")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_LOSSES_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATES_FIELD_NUMBER: _ClassVar[int]
    GRAD_NORMS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedScalarFieldContainer[int]
    times: _containers.RepeatedScalarFieldContainer[float]
    elapsed_seconds: _containers.RepeatedScalarFieldContainer[float]
    epochs: _containers.RepeatedScalarFieldContainer[float]
    train_losses: _containers.RepeatedScalarFieldContainer[float]
    learning_rates: _containers.RepeatedScalarFieldContainer[float]
    grad_norms: _containers.RepeatedScalarFieldContainer[float]
    tokens_per_second: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, steps: _Optional[_Iterable[int]] = ..., times: _Optional[_Iterable[float]] = ..., elapsed_seconds: _Optional[_Iterable[float]] = ..., epochs: _Optional[_Iterable[float]] = ..., train_losses: _Optional[_Iterable[float]] = ..., learning_rates: _Optional[_Iterable[float]] = ..., grad_norms: _Optional[_Iterable[float]] = ..., tokens_per_second: _Optional[_Iterable[float]] = ...) -> None: ...

class EvaluationSeries(_message.Message):
    __slots__ = ("steps", "times", "validation_losses", "perplexities")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSSES_FIELD_NUMBER: _ClassVar[int]
    PERPLEXITIES_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedScalarFieldContainer[int]
    times: _containers.RepeatedScalarFieldContainer[float]
    validation_losses: _containers.RepeatedScalarFieldContainer[float]
    perplexities: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, steps: _Optional[_Iterable[int]] = ..., times: _Optional[_Iterable[float]] = ..., validation_losses: _Optional[_Iterable[float]] = ..., perplexities: _Optional[_Iterable[float]] = ...) -> None: ...

class ResourceSeries(_message.Message):
    __slots__ = ("times", "cpu_percents", "memory_percents", "process_rss_bytes", "gpu_utilization_percents", "gpu_memory_percents")
    TIMES_FIELD_NUMBER: _ClassVar[int]
    CPU_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    GPU_UTILIZATION_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    times: _containers.RepeatedScalarFieldContainer[float]
    cpu_percents: _containers.RepeatedScalarFieldContainer[float]
    memory_percents: _containers.RepeatedScalarFieldContainer[float]
    process_rss_bytes: _containers.RepeatedScalarFieldContainer[float]
    gpu_utilization_percents: _containers.RepeatedScalarFieldContainer[float]
    gpu_memory_percents: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, times: _Optional[_Iterable[float]] = ..., cpu_percents: _Optional[_Iterable[float]] = ..., memory_percents: _Optional[_Iterable[float]] = ..., process_rss_bytes: _Optional[_Iterable[float]] = ..., gpu_utilization_percents: _Optional[_Iterable[float]] = ..., gpu_memory_percents: _Optional[_Iterable[float]] = ...) -> None: ...

class GetCurrentResourcesRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: str
    def __init__(self, run: _Optional[str] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("name", "prompt", "max_new_tokens", "temperature", "base_model", "model", "seed", "top_p", "stop", "checkpoint_step")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_STEP_FIELD_NUMBER: _ClassVar[int]
    name: str
    prompt: str
    max_new_tokens: int
    temperature: float
    base_model: bool
    model: str
    seed: int
    top_p: float
    stop: _containers.RepeatedScalarFieldContainer[str]
    checkpoint_step: int
    def __init__(self, name: _Optional[str] = ..., prompt: _Optional[str] = ..., max_new_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., base_model: _Optional[bool] = ..., model: _Optional[str] = ..., seed: _Optional[int] = ..., top_p: _Optional[float] = ..., stop: _Optional[_Iterable[str]] = ..., checkpoint_step: _Optional[int] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("text", "done", "prompt_tokens", "completion_tokens", "finish_reason")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    text: str
    done: bool
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    def __init__(self, text: _Optional[str] = ..., done: _Optional[bool] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., finish_reason: _Optional[str] = ...) -> None: ...

class ListRunArtifactsRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListRunArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class Artifact(_message.Message):
    __slots__ = ("name", "path", "size_bytes", "update_time", "media_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    size_bytes: int
    update_time: _timestamp_pb2.Timestamp
    media_type: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., media_type: _Optional[str] = ...) -> None: ...

class ReadRunArtifactRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReadRunArtifactResponse(_message.Message):
    __slots__ = ("artifact", "chunk")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    chunk: bytes
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class DiagnoseRunRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Diagnosis(_message.Message):
    __slots__ = ("run", "summary", "findings", "profile")
    RUN_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    run: str
    summary: str
    findings: _containers.RepeatedCompositeFieldContainer[_run_pb2.Finding]
    profile: StepProfile
    def __init__(self, run: _Optional[str] = ..., summary: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[_run_pb2.Finding, _Mapping]]] = ..., profile: _Optional[_Union[StepProfile, _Mapping]] = ...) -> None: ...

class GetCapacityRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Capacity(_message.Message):
    __slots__ = ("active_runs", "max_concurrent_runs", "gpu_count", "free_gpus", "free_runs", "backend")
    ACTIVE_RUNS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    GPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    FREE_GPUS_FIELD_NUMBER: _ClassVar[int]
    FREE_RUNS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    active_runs: int
    max_concurrent_runs: int
    gpu_count: int
    free_gpus: int
    free_runs: int
    backend: str
    def __init__(self, active_runs: _Optional[int] = ..., max_concurrent_runs: _Optional[int] = ..., gpu_count: _Optional[int] = ..., free_gpus: _Optional[int] = ..., free_runs: _Optional[int] = ..., backend: _Optional[str] = ...) -> None: ...
