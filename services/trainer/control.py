"""Commands a running recipe polls between steps, and their in-process queue (the worker link and SIGTERM feed it).

A command is a dict `{"command": NAME}` or, for set_learning_rate, `{"command": NAME, "value": float}`:
- `pause` / `resume`: stop taking steps (the process stays, paused time does not count toward
  `timeout_seconds`) and carry on;
- `cancel`: stop now, state `cancelled`, no artifacts (checkpoints stay);
- `stop_early`: stop now as if early stopping fired: final evaluation and artifacts, state `stopped_early`;
- `save_checkpoint`: write a checkpoint at the current step;
- `set_learning_rate`: make the current learning rate `value`; the schedule continues from there
  (the scheduler's base learning rate is rescaled by value / current);
- `profile`: profile the next `value` steps (1 to 50; `services.trainer.profiling`).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Protocol

from services.common.errors import InvalidArgument

COMMANDS = ("pause", "resume", "cancel", "stop_early", "save_checkpoint", "set_learning_rate", "profile")
MAX_PROFILE_STEPS = 50


@dataclass(frozen=True)
class Command:
    name: str
    value: float | None = None

    @classmethod
    def from_dict(cls, data: dict) -> Command:
        name = str(data.get("command", "")).strip().lower()
        if name not in COMMANDS:
            raise InvalidArgument(f"unknown training command {name!r}; commands: {', '.join(COMMANDS)}",
                                  reason="INVALID_TRAINING_COMMAND", metadata={"command": name})
        value = data.get("value")
        if name == "set_learning_rate":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise InvalidArgument(f"set_learning_rate needs a value in (0, 1], got {value!r}",
                                      reason="INVALID_TRAINING_COMMAND", metadata={"command": name})
            value = float(value)
        if name == "profile":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 1 <= value <= MAX_PROFILE_STEPS:
                raise InvalidArgument(f"profile needs a number of steps from 1 to {MAX_PROFILE_STEPS}, got {value!r}",
                                      reason="INVALID_PROFILE_STEPS", metadata={"field": "steps"})
            value = float(int(value))
        return cls(name, value)

    def to_dict(self) -> dict:
        return {"command": self.name} if self.value is None else {"command": self.name, "value": self.value}


class Control(Protocol):
    def poll(self) -> list[Command]:
        """Commands that arrived since the last poll, oldest first; never blocks."""


class NoControl:
    def poll(self) -> list[Command]:
        return []


class QueueControl:
    """Thread-safe in-process control: `send` from any thread, the recipe polls."""

    def __init__(self) -> None:
        self._queue: collections.deque[Command] = collections.deque()
        self._lock = threading.Lock()

    def send(self, command: Command | str, value: float | None = None) -> None:
        if isinstance(command, str):
            command = Command.from_dict({"command": command, "value": value})
        with self._lock:
            self._queue.append(command)

    def poll(self) -> list[Command]:
        with self._lock:
            commands = list(self._queue)
            self._queue.clear()
        return commands
