import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Model(_message.Message):
    __slots__ = ("name", "id", "display_name", "provider", "category", "parameters", "downloads", "likes", "description", "parameter_count", "download_size_bytes", "license", "gated", "pipeline_tag", "tags", "library", "architecture", "fine_tunable", "fine_tune_note", "use_case", "source", "add_time", "fine_tuned")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_FIELD_NUMBER: _ClassVar[int]
    LIKES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    GATED_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_TAG_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNABLE_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNE_NOTE_FIELD_NUMBER: _ClassVar[int]
    USE_CASE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ADD_TIME_FIELD_NUMBER: _ClassVar[int]
    FINE_TUNED_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: str
    display_name: str
    provider: str
    category: str
    parameters: str
    downloads: int
    likes: int
    description: str
    parameter_count: int
    download_size_bytes: int
    license: str
    gated: str
    pipeline_tag: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    library: str
    architecture: str
    fine_tunable: bool
    fine_tune_note: str
    use_case: str
    source: str
    add_time: _timestamp_pb2.Timestamp
    fine_tuned: FineTunedOrigin
    def __init__(self, name: _Optional[str] = ..., id: _Optional[str] = ..., display_name: _Optional[str] = ..., provider: _Optional[str] = ..., category: _Optional[str] = ..., parameters: _Optional[str] = ..., downloads: _Optional[int] = ..., likes: _Optional[int] = ..., description: _Optional[str] = ..., parameter_count: _Optional[int] = ..., download_size_bytes: _Optional[int] = ..., license: _Optional[str] = ..., gated: _Optional[str] = ..., pipeline_tag: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., library: _Optional[str] = ..., architecture: _Optional[str] = ..., fine_tunable: _Optional[bool] = ..., fine_tune_note: _Optional[str] = ..., use_case: _Optional[str] = ..., source: _Optional[str] = ..., add_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fine_tuned: _Optional[_Union[FineTunedOrigin, _Mapping]] = ...) -> None: ...

class FineTunedOrigin(_message.Message):
    __slots__ = ("base_model", "job", "dataset", "run", "trainer", "model_dir", "adapter_dir", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BASE_MODEL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    TRAINER_FIELD_NUMBER: _ClassVar[int]
    MODEL_DIR_FIELD_NUMBER: _ClassVar[int]
    ADAPTER_DIR_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    base_model: str
    job: str
    dataset: str
    run: str
    trainer: str
    model_dir: str
    adapter_dir: str
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, base_model: _Optional[str] = ..., job: _Optional[str] = ..., dataset: _Optional[str] = ..., run: _Optional[str] = ..., trainer: _Optional[str] = ..., model_dir: _Optional[str] = ..., adapter_dir: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ModelAvailability(_message.Message):
    __slots__ = ("model_id", "found", "locations", "local_path", "hub_reachable", "hub_reason", "gated", "config_found", "tokenizer_present", "architecture", "model_type", "is_causal_lm", "lora_target_modules", "lora_supported", "parameter_count", "parameters", "batch_size", "seq_len", "estimated_memory_bytes", "available_memory_bytes", "memory_device", "can_fine_tune", "problems", "notes", "exists_on_hub", "hidden_size", "num_layers", "vocab_size")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_PATH_FIELD_NUMBER: _ClassVar[int]
    HUB_REACHABLE_FIELD_NUMBER: _ClassVar[int]
    HUB_REASON_FIELD_NUMBER: _ClassVar[int]
    GATED_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FOUND_FIELD_NUMBER: _ClassVar[int]
    TOKENIZER_PRESENT_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    IS_CAUSAL_LM_FIELD_NUMBER: _ClassVar[int]
    LORA_TARGET_MODULES_FIELD_NUMBER: _ClassVar[int]
    LORA_SUPPORTED_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEQ_LEN_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_DEVICE_FIELD_NUMBER: _ClassVar[int]
    CAN_FINE_TUNE_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    EXISTS_ON_HUB_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_SIZE_FIELD_NUMBER: _ClassVar[int]
    NUM_LAYERS_FIELD_NUMBER: _ClassVar[int]
    VOCAB_SIZE_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    found: bool
    locations: _containers.RepeatedScalarFieldContainer[str]
    local_path: str
    hub_reachable: bool
    hub_reason: str
    gated: str
    config_found: bool
    tokenizer_present: bool
    architecture: str
    model_type: str
    is_causal_lm: bool
    lora_target_modules: _containers.RepeatedScalarFieldContainer[str]
    lora_supported: bool
    parameter_count: int
    parameters: str
    batch_size: int
    seq_len: int
    estimated_memory_bytes: int
    available_memory_bytes: int
    memory_device: str
    can_fine_tune: bool
    problems: _containers.RepeatedScalarFieldContainer[str]
    notes: _containers.RepeatedScalarFieldContainer[str]
    exists_on_hub: bool
    hidden_size: int
    num_layers: int
    vocab_size: int
    def __init__(self, model_id: _Optional[str] = ..., found: _Optional[bool] = ..., locations: _Optional[_Iterable[str]] = ..., local_path: _Optional[str] = ..., hub_reachable: _Optional[bool] = ..., hub_reason: _Optional[str] = ..., gated: _Optional[str] = ..., config_found: _Optional[bool] = ..., tokenizer_present: _Optional[bool] = ..., architecture: _Optional[str] = ..., model_type: _Optional[str] = ..., is_causal_lm: _Optional[bool] = ..., lora_target_modules: _Optional[_Iterable[str]] = ..., lora_supported: _Optional[bool] = ..., parameter_count: _Optional[int] = ..., parameters: _Optional[str] = ..., batch_size: _Optional[int] = ..., seq_len: _Optional[int] = ..., estimated_memory_bytes: _Optional[int] = ..., available_memory_bytes: _Optional[int] = ..., memory_device: _Optional[str] = ..., can_fine_tune: _Optional[bool] = ..., problems: _Optional[_Iterable[str]] = ..., notes: _Optional[_Iterable[str]] = ..., exists_on_hub: _Optional[bool] = ..., hidden_size: _Optional[int] = ..., num_layers: _Optional[int] = ..., vocab_size: _Optional[int] = ...) -> None: ...
