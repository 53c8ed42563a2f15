from finetune.dataset.v1 import dataset_pb2 as _dataset_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UploadMetadata(_message.Message):
    __slots__ = ("filename", "display_name", "description", "tags", "validation_fraction", "seed", "validation_filename", "preview_rows", "repair")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FRACTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FILENAME_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_ROWS_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    filename: str
    display_name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    validation_fraction: float
    seed: int
    validation_filename: str
    preview_rows: int
    repair: bool
    def __init__(self, filename: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., validation_fraction: _Optional[float] = ..., seed: _Optional[int] = ..., validation_filename: _Optional[str] = ..., preview_rows: _Optional[int] = ..., repair: _Optional[bool] = ...) -> None: ...

class PreviewDatasetRequest(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadDatasetRequest(_message.Message):
    __slots__ = ("metadata", "chunk", "validation_chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    chunk: bytes
    validation_chunk: bytes
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ..., validation_chunk: _Optional[bytes] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "tag")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tag: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., tag: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("datasets", "next_page_token", "total_size")
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.Dataset]
    next_page_token: str
    total_size: int
    def __init__(self, datasets: _Optional[_Iterable[_Union[_dataset_pb2.Dataset, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateDatasetRequest(_message.Message):
    __slots__ = ("dataset", "update_mask")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReadDatasetRowsRequest(_message.Message):
    __slots__ = ("name", "split", "batch_size", "offset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    name: str
    split: _dataset_pb2.Split
    batch_size: int
    offset: int
    def __init__(self, name: _Optional[str] = ..., split: _Optional[_Union[_dataset_pb2.Split, str]] = ..., batch_size: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ReadDatasetRowsResponse(_message.Message):
    __slots__ = ("rows", "total_rows")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[_dataset_pb2.DatasetRow]
    total_rows: int
    def __init__(self, rows: _Optional[_Iterable[_Union[_dataset_pb2.DatasetRow, _Mapping]]] = ..., total_rows: _Optional[int] = ...) -> None: ...

class RepairDatasetRequest(_message.Message):
    __slots__ = ("name", "display_name", "keep_empty", "keep_whitespace", "keep_duplicates", "min_input_chars", "max_input_chars", "min_output_chars", "max_output_chars")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    KEEP_EMPTY_FIELD_NUMBER: _ClassVar[int]
    KEEP_WHITESPACE_FIELD_NUMBER: _ClassVar[int]
    KEEP_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    MIN_INPUT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_INPUT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MIN_OUTPUT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_CHARS_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    keep_empty: bool
    keep_whitespace: bool
    keep_duplicates: bool
    min_input_chars: int
    max_input_chars: int
    min_output_chars: int
    max_output_chars: int
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., keep_empty: _Optional[bool] = ..., keep_whitespace: _Optional[bool] = ..., keep_duplicates: _Optional[bool] = ..., min_input_chars: _Optional[int] = ..., max_input_chars: _Optional[int] = ..., min_output_chars: _Optional[int] = ..., max_output_chars: _Optional[int] = ...) -> None: ...

class RepairDatasetResponse(_message.Message):
    __slots__ = ("dataset", "rows_before", "rows_after", "changes")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    ROWS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ROWS_AFTER_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    dataset: _dataset_pb2.Dataset
    rows_before: int
    rows_after: int
    changes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dataset: _Optional[_Union[_dataset_pb2.Dataset, _Mapping]] = ..., rows_before: _Optional[int] = ..., rows_after: _Optional[int] = ..., changes: _Optional[_Iterable[str]] = ...) -> None: ...
