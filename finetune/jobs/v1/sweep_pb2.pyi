import datetime

from finetune.jobs.v1 import configuration_pb2 as _configuration_pb2
from finetune.jobs.v1 import job_pb2 as _job_pb2
from finetune.trainer.v1 import run_pb2 as _run_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SearchAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEARCH_ALGORITHM_UNSPECIFIED: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_GRID: _ClassVar[SearchAlgorithm]
    SEARCH_ALGORITHM_BAYESIAN: _ClassVar[SearchAlgorithm]

class SweepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWEEP_STATE_UNSPECIFIED: _ClassVar[SweepState]
    SWEEP_STATE_RUNNING: _ClassVar[SweepState]
    SWEEP_STATE_COMPLETED: _ClassVar[SweepState]
    SWEEP_STATE_FAILED: _ClassVar[SweepState]
    SWEEP_STATE_CANCELLED: _ClassVar[SweepState]

class TrialState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIAL_STATE_UNSPECIFIED: _ClassVar[TrialState]
    TRIAL_STATE_RUNNING: _ClassVar[TrialState]
    TRIAL_STATE_COMPLETED: _ClassVar[TrialState]
    TRIAL_STATE_PRUNED: _ClassVar[TrialState]
    TRIAL_STATE_FAILED: _ClassVar[TrialState]
SEARCH_ALGORITHM_UNSPECIFIED: SearchAlgorithm
SEARCH_ALGORITHM_GRID: SearchAlgorithm
SEARCH_ALGORITHM_BAYESIAN: SearchAlgorithm
SWEEP_STATE_UNSPECIFIED: SweepState
SWEEP_STATE_RUNNING: SweepState
SWEEP_STATE_COMPLETED: SweepState
SWEEP_STATE_FAILED: SweepState
SWEEP_STATE_CANCELLED: SweepState
TRIAL_STATE_UNSPECIFIED: TrialState
TRIAL_STATE_RUNNING: TrialState
TRIAL_STATE_COMPLETED: TrialState
TRIAL_STATE_PRUNED: TrialState
TRIAL_STATE_FAILED: TrialState

class Sweep(_message.Message):
    __slots__ = ("name", "display_name", "configuration", "search_space", "algorithm", "max_trials", "parallel_trials", "pruning", "priority", "state", "error", "completed_trials", "pruned_trials", "failed_trials", "best_trial", "seed", "model_saving", "create_time", "end_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    SEARCH_SPACE_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TRIALS_FIELD_NUMBER: _ClassVar[int]
    PRUNING_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_TRIALS_FIELD_NUMBER: _ClassVar[int]
    PRUNED_TRIALS_FIELD_NUMBER: _ClassVar[int]
    FAILED_TRIALS_FIELD_NUMBER: _ClassVar[int]
    BEST_TRIAL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MODEL_SAVING_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    configuration: _job_pb2.JobConfiguration
    search_space: _containers.RepeatedCompositeFieldContainer[_configuration_pb2.ParameterRange]
    algorithm: SearchAlgorithm
    max_trials: int
    parallel_trials: int
    pruning: bool
    priority: _job_pb2.JobPriority
    state: SweepState
    error: str
    completed_trials: int
    pruned_trials: int
    failed_trials: int
    best_trial: SweepTrial
    seed: int
    model_saving: _run_pb2.ModelSaving
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., configuration: _Optional[_Union[_job_pb2.JobConfiguration, _Mapping]] = ..., search_space: _Optional[_Iterable[_Union[_configuration_pb2.ParameterRange, _Mapping]]] = ..., algorithm: _Optional[_Union[SearchAlgorithm, str]] = ..., max_trials: _Optional[int] = ..., parallel_trials: _Optional[int] = ..., pruning: _Optional[bool] = ..., priority: _Optional[_Union[_job_pb2.JobPriority, str]] = ..., state: _Optional[_Union[SweepState, str]] = ..., error: _Optional[str] = ..., completed_trials: _Optional[int] = ..., pruned_trials: _Optional[int] = ..., failed_trials: _Optional[int] = ..., best_trial: _Optional[_Union[SweepTrial, _Mapping]] = ..., seed: _Optional[int] = ..., model_saving: _Optional[_Union[_run_pb2.ModelSaving, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SweepTrial(_message.Message):
    __slots__ = ("number", "job", "parameters", "state", "validation_loss", "last_reported_step", "configuration_uid")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_LOSS_FIELD_NUMBER: _ClassVar[int]
    LAST_REPORTED_STEP_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_UID_FIELD_NUMBER: _ClassVar[int]
    number: int
    job: str
    parameters: _run_pb2.Hyperparameters
    state: TrialState
    validation_loss: float
    last_reported_step: int
    configuration_uid: str
    def __init__(self, number: _Optional[int] = ..., job: _Optional[str] = ..., parameters: _Optional[_Union[_run_pb2.Hyperparameters, _Mapping]] = ..., state: _Optional[_Union[TrialState, str]] = ..., validation_loss: _Optional[float] = ..., last_reported_step: _Optional[int] = ..., configuration_uid: _Optional[str] = ...) -> None: ...
