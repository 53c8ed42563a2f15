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

class Split(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_UNSPECIFIED: _ClassVar[Split]
    SPLIT_TRAIN: _ClassVar[Split]
    SPLIT_VALIDATION: _ClassVar[Split]
SPLIT_UNSPECIFIED: Split
SPLIT_TRAIN: Split
SPLIT_VALIDATION: Split

class Dataset(_message.Message):
    __slots__ = ("name", "uid", "display_name", "description", "tags", "filename", "content_sha256", "size_bytes", "columns", "train_rows", "validation_rows", "statistics", "warnings", "format", "encoding", "source_dataset", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    TRAIN_ROWS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_ROWS_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DATASET_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    uid: str
    display_name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    filename: str
    content_sha256: str
    size_bytes: int
    columns: _containers.RepeatedScalarFieldContainer[str]
    train_rows: int
    validation_rows: int
    statistics: DatasetStatistics
    warnings: _containers.RepeatedScalarFieldContainer[str]
    format: str
    encoding: str
    source_dataset: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., uid: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., filename: _Optional[str] = ..., content_sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., columns: _Optional[_Iterable[str]] = ..., train_rows: _Optional[int] = ..., validation_rows: _Optional[int] = ..., statistics: _Optional[_Union[DatasetStatistics, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ..., format: _Optional[str] = ..., encoding: _Optional[str] = ..., source_dataset: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DatasetStatistics(_message.Message):
    __slots__ = ("total_rows", "total_columns", "has_required_columns", "empty_rows", "duplicate_rows", "column_stats", "row_tokens_est_histogram")
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    HAS_REQUIRED_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    EMPTY_ROWS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_ROWS_FIELD_NUMBER: _ClassVar[int]
    COLUMN_STATS_FIELD_NUMBER: _ClassVar[int]
    ROW_TOKENS_EST_HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    total_rows: int
    total_columns: int
    has_required_columns: bool
    empty_rows: int
    duplicate_rows: int
    column_stats: _containers.RepeatedCompositeFieldContainer[ColumnStatistics]
    row_tokens_est_histogram: Histogram
    def __init__(self, total_rows: _Optional[int] = ..., total_columns: _Optional[int] = ..., has_required_columns: _Optional[bool] = ..., empty_rows: _Optional[int] = ..., duplicate_rows: _Optional[int] = ..., column_stats: _Optional[_Iterable[_Union[ColumnStatistics, _Mapping]]] = ..., row_tokens_est_histogram: _Optional[_Union[Histogram, _Mapping]] = ...) -> None: ...

class Histogram(_message.Message):
    __slots__ = ("lower_bound", "upper_bounds", "counts")
    LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    UPPER_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    lower_bound: int
    upper_bounds: _containers.RepeatedScalarFieldContainer[int]
    counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, lower_bound: _Optional[int] = ..., upper_bounds: _Optional[_Iterable[int]] = ..., counts: _Optional[_Iterable[int]] = ...) -> None: ...

class ColumnStatistics(_message.Message):
    __slots__ = ("name", "empty", "chars_min", "chars_max", "chars_mean", "chars_p50", "chars_p95", "tokens_est_total", "tokens_est_mean", "tokens_est_max", "chars_histogram")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMPTY_FIELD_NUMBER: _ClassVar[int]
    CHARS_MIN_FIELD_NUMBER: _ClassVar[int]
    CHARS_MAX_FIELD_NUMBER: _ClassVar[int]
    CHARS_MEAN_FIELD_NUMBER: _ClassVar[int]
    CHARS_P50_FIELD_NUMBER: _ClassVar[int]
    CHARS_P95_FIELD_NUMBER: _ClassVar[int]
    TOKENS_EST_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOKENS_EST_MEAN_FIELD_NUMBER: _ClassVar[int]
    TOKENS_EST_MAX_FIELD_NUMBER: _ClassVar[int]
    CHARS_HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    name: str
    empty: int
    chars_min: int
    chars_max: int
    chars_mean: float
    chars_p50: int
    chars_p95: int
    tokens_est_total: int
    tokens_est_mean: float
    tokens_est_max: int
    chars_histogram: Histogram
    def __init__(self, name: _Optional[str] = ..., empty: _Optional[int] = ..., chars_min: _Optional[int] = ..., chars_max: _Optional[int] = ..., chars_mean: _Optional[float] = ..., chars_p50: _Optional[int] = ..., chars_p95: _Optional[int] = ..., tokens_est_total: _Optional[int] = ..., tokens_est_mean: _Optional[float] = ..., tokens_est_max: _Optional[int] = ..., chars_histogram: _Optional[_Union[Histogram, _Mapping]] = ...) -> None: ...

class ValidationIssue(_message.Message):
    __slots__ = ("code", "severity", "message", "rows", "count")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    code: str
    severity: str
    message: str
    rows: _containers.RepeatedScalarFieldContainer[int]
    count: int
    def __init__(self, code: _Optional[str] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., rows: _Optional[_Iterable[int]] = ..., count: _Optional[int] = ...) -> None: ...

class DatasetPreview(_message.Message):
    __slots__ = ("filename", "columns", "data", "validation_errors", "statistics", "warnings", "issues", "format", "encoding", "delimiter", "original_columns", "repair")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_ERRORS_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    DELIMITER_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    REPAIR_FIELD_NUMBER: _ClassVar[int]
    filename: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    data: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    validation_errors: _containers.RepeatedScalarFieldContainer[str]
    statistics: DatasetStatistics
    warnings: _containers.RepeatedScalarFieldContainer[str]
    issues: _containers.RepeatedCompositeFieldContainer[ValidationIssue]
    format: str
    encoding: str
    delimiter: str
    original_columns: _containers.RepeatedScalarFieldContainer[str]
    repair: RepairSummary
    def __init__(self, filename: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., data: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., validation_errors: _Optional[_Iterable[str]] = ..., statistics: _Optional[_Union[DatasetStatistics, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ..., issues: _Optional[_Iterable[_Union[ValidationIssue, _Mapping]]] = ..., format: _Optional[str] = ..., encoding: _Optional[str] = ..., delimiter: _Optional[str] = ..., original_columns: _Optional[_Iterable[str]] = ..., repair: _Optional[_Union[RepairSummary, _Mapping]] = ...) -> None: ...

class RepairSummary(_message.Message):
    __slots__ = ("rows_before", "rows_after", "changes")
    ROWS_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ROWS_AFTER_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    rows_before: int
    rows_after: int
    changes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rows_before: _Optional[int] = ..., rows_after: _Optional[int] = ..., changes: _Optional[_Iterable[str]] = ...) -> None: ...

class DatasetRow(_message.Message):
    __slots__ = ("index", "input", "output")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    index: int
    input: str
    output: str
    def __init__(self, index: _Optional[int] = ..., input: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...
