import datetime

from finetune.jobs.v1 import job_pb2 as _job_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Ensemble(_message.Message):
    __slots__ = ("name", "display_name", "configuration", "size", "learning_rate_spread", "members", "state", "create_time", "rule")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_SPREAD_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    configuration: _job_pb2.JobConfiguration
    size: int
    learning_rate_spread: float
    members: _containers.RepeatedCompositeFieldContainer[EnsembleMember]
    state: str
    create_time: _timestamp_pb2.Timestamp
    rule: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., configuration: _Optional[_Union[_job_pb2.JobConfiguration, _Mapping]] = ..., size: _Optional[int] = ..., learning_rate_spread: _Optional[float] = ..., members: _Optional[_Iterable[_Union[EnsembleMember, _Mapping]]] = ..., state: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rule: _Optional[str] = ...) -> None: ...

class EnsembleMember(_message.Message):
    __slots__ = ("job", "seed", "learning_rate", "state", "final_validation_loss")
    JOB_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FINAL_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    job: str
    seed: int
    learning_rate: float
    state: _job_pb2.JobState
    final_validation_loss: float
    def __init__(self, job: _Optional[str] = ..., seed: _Optional[int] = ..., learning_rate: _Optional[float] = ..., state: _Optional[_Union[_job_pb2.JobState, str]] = ..., final_validation_loss: _Optional[float] = ...) -> None: ...

class MemberAnswer(_message.Message):
    __slots__ = ("job", "text")
    JOB_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    job: str
    text: str
    def __init__(self, job: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class EnsembleAnswer(_message.Message):
    __slots__ = ("text", "votes", "chosen_job", "answers")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_JOB_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    text: str
    votes: int
    chosen_job: str
    answers: _containers.RepeatedCompositeFieldContainer[MemberAnswer]
    def __init__(self, text: _Optional[str] = ..., votes: _Optional[int] = ..., chosen_job: _Optional[str] = ..., answers: _Optional[_Iterable[_Union[MemberAnswer, _Mapping]]] = ...) -> None: ...

class MemberScore(_message.Message):
    __slots__ = ("job", "exact_match", "final_validation_loss")
    JOB_FIELD_NUMBER: _ClassVar[int]
    EXACT_MATCH_FIELD_NUMBER: _ClassVar[int]
    FINAL_VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    job: str
    exact_match: float
    final_validation_loss: float
    def __init__(self, job: _Optional[str] = ..., exact_match: _Optional[float] = ..., final_validation_loss: _Optional[float] = ...) -> None: ...
