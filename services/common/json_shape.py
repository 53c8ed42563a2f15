"""What JSON we take, wherever it comes from (request bodies, dataset records): nesting at most
MAX_JSON_DEPTH deep, and text that is text.

Python's json module, protobuf's ParseDict and anything else that walks a value recurse once per
level, so a value nested thousands deep raises RecursionError somewhere (a 500); real requests and
records nest a few levels. And JSON can escape half of a UTF-16 surrogate pair on its own
(`"\\ud800"`): Python decodes it to a string that no UTF-8 encoder (protobuf, a database, a JSON
response) accepts. Callers refuse both, naming where the value came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class JsonShape:
    depth: int  # how deep objects and lists nest (a scalar is 0); counting stops past the limit
    lone_surrogate: str | None  # the first such escape, as written in JSON (`\ud800`), or None

    def too_deep(self, limit: int = MAX_JSON_DEPTH) -> bool:
        return self.depth > limit


def json_shape(value: Any, limit: int = MAX_JSON_DEPTH) -> JsonShape:
    """One pass over `value` without recursion; it stops at the first problem, so its cost is bounded by
    the value's size, never by its depth."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and (bad := _lone_surrogate(item)):
                return JsonShape(deepest, bad)
        elif isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return JsonShape(deepest, None)
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                stack.extend((v, depth) for v in item.values())
            else:
                stack.extend((v, depth) for v in item)
    return JsonShape(deepest, None)


def _lone_surrogate(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return ascii(exc.object[exc.start])[1:-1]
    return None
