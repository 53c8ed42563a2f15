from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectRequest(_message.Message):
    __slots__ = ("hello", "event", "command_ack", "resources")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    COMMAND_ACK_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    event: JournalEvent
    command_ack: CommandAck
    resources: ResourceSample
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., event: _Optional[_Union[JournalEvent, _Mapping]] = ..., command_ack: _Optional[_Union[CommandAck, _Mapping]] = ..., resources: _Optional[_Union[ResourceSample, _Mapping]] = ...) -> None: ...

class ResourceSample(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("run", "attempt", "pid", "node")
    RUN_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    run: str
    attempt: int
    pid: int
    node: str
    def __init__(self, run: _Optional[str] = ..., attempt: _Optional[int] = ..., pid: _Optional[int] = ..., node: _Optional[str] = ...) -> None: ...

class JournalEvent(_message.Message):
    __slots__ = ("end_offset", "json")
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    end_offset: int
    json: str
    def __init__(self, end_offset: _Optional[int] = ..., json: _Optional[str] = ...) -> None: ...

class CommandAck(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("welcome", "event_ack", "command")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    EVENT_ACK_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    event_ack: EventAck
    command: WorkerCommand
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., event_ack: _Optional[_Union[EventAck, _Mapping]] = ..., command: _Optional[_Union[WorkerCommand, _Mapping]] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("stored_offset", "finish")
    STORED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    FINISH_FIELD_NUMBER: _ClassVar[int]
    stored_offset: int
    finish: bool
    def __init__(self, stored_offset: _Optional[int] = ..., finish: _Optional[bool] = ...) -> None: ...

class EventAck(_message.Message):
    __slots__ = ("stored_offset",)
    STORED_OFFSET_FIELD_NUMBER: _ClassVar[int]
    stored_offset: int
    def __init__(self, stored_offset: _Optional[int] = ...) -> None: ...

class WorkerCommand(_message.Message):
    __slots__ = ("id", "command", "value")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    id: int
    command: str
    value: float
    def __init__(self, id: _Optional[int] = ..., command: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
