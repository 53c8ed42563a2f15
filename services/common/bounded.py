"""Blocking calls with a deadline: run in a daemon thread, abandoned (not killed) when they overrun.

For clients that take no timeout of their own, or retry with backoff inside (huggingface_hub):
only a deadline outside the call bounds how long the caller waits. An abandoned call may still
finish in its thread later, so use it for calls that are safe to repeat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CallTimedOut(TimeoutError):
    """The call did not return within its deadline; it may still be running in its thread."""

    def __init__(self, timeout_s: float):
        super().__init__(f"timed out after {timeout_s:.1f} s")
        self.timeout_s = timeout_s


def call_with_deadline(call: Callable[[], T], timeout_s: float, *, name: str = "bounded-call") -> T:
    """`call()`'s result, or the exception it raised, or CallTimedOut once `timeout_s` has passed."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise CallTimedOut(timeout_s)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
