"""JSONL (one object per line) and JSON (a list of objects) reading, chat 'messages' records included.

Each record becomes one row. A record is either a flat object ({"input": ..., "output": ..., any
other keys}) or a chat record ({"messages": [{"role": ..., "content": ...}, ...], other keys}),
converted by this rule:
  - output: the content of the LAST message whose role is "assistant";
  - input: the contents of the "system" messages followed by the "user" messages that come before
    that assistant message, in order, joined by a blank line ("\\n\\n");
  - earlier assistant turns and anything after the last assistant message are dropped (a warning
    lists the lines where that happened); a record without an assistant message gets an empty
    output (a warning, and validation reports it as an empty row).
Roles other than system/user/assistant are an error. A content given as a list of parts
([{"type": "text", "text": ...}]) is joined. Non-string values become text: null -> "",
true/false -> "true"/"false", numbers as written, objects and lists as compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from services.common.errors import InvalidArgument
from services.common.json_shape import MAX_JSON_DEPTH, json_shape
from services.dataset.headers import normalise_columns
from services.dataset.issues import WARNING, Issue, describe_rows, plural

_EXAMPLE = '{"input": "...", "output": "..."}'
_ROLES = ("system", "user", "assistant")


@dataclass
class JsonTable:
    frame: pd.DataFrame  # str cells, normalised column names
    raw_columns: list[str]
    notices: list[Issue]


def read_json_table(text: str, *, whole_document: bool) -> JsonTable:
    """`whole_document`: the text is one JSON value (a list of records); otherwise one record per
    line. Messages locate records by line (JSONL) or by item number in the list (JSON)."""
    unit = "item" if whole_document else "line"
    chat = _ChatTally(unit)
    keys: dict[str, None] = {}
    rows = []
    for number, record in (_list_items(text) if whole_document else _lines(text)):
        where = f"{unit.capitalize()} {number}"
        _check_shape(record, where, number)
        row = _flatten(_object(record, where), number, chat)
        keys.update(dict.fromkeys(row))
        rows.append(row)
    raw_columns = list(keys)
    frame = pd.DataFrame(
        {c: pd.array([row.get(c, "") for row in rows], dtype=str) for c in raw_columns}, index=pd.RangeIndex(len(rows))
    )
    names, notices = normalise_columns(raw_columns)
    frame.columns = names
    return JsonTable(frame, raw_columns, notices + chat.notices())


def _list_items(text: str):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_json(exc.lineno, exc) from None
    except RecursionError:
        _too_deep("The JSON document", None)
    if not isinstance(value, list):
        raise InvalidArgument(
            f"The JSON file holds a {_json_type(value)}; it must hold a list of objects like [{_EXAMPLE}, ...] "
            "or one object per line (JSONL).",
            reason="INVALID_RECORD",
        )
    return enumerate(value, start=1)


def _lines(text: str):
    """(line number, value) for each non-blank line. All lines are parsed in one json.loads call
    (one C-level scan instead of a call per line); if that fails, line by line to name the bad one."""
    # split on \n only: str.splitlines would also split on U+2028, which JSON strings may contain
    numbered = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line and not line.isspace()]
    try:
        values = json.loads("[" + ",".join(line for _, line in numbered) + "]")
    except (json.JSONDecodeError, RecursionError):
        values = None
    if values is None or len(values) != len(numbered):  # e.g. a line "1, 2" holds two values
        values = [_parse_line(n, line) for n, line in numbered]
    return zip((n for n, _ in numbered), values)


def _parse_line(number: int, line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise _bad_json(number, exc) from None
    except RecursionError:
        _too_deep(f"Line {number}", number)


def _too_deep(where: str, number: int | None):
    raise InvalidArgument(
        f"{where} nests objects or lists more than {MAX_JSON_DEPTH} levels deep. Each record must be an object "
        f"like {_EXAMPLE}, whose values are text.",
        reason="JSON_TOO_DEEP", metadata={"record": number} if number else {},
    )


def _check_shape(record, where: str, number: int) -> None:
    shape = json_shape(record)
    if shape.too_deep():
        _too_deep(where, number)
    if shape.lone_surrogate:
        raise InvalidArgument(
            f"{where} holds the escape {shape.lone_surrogate} on its own: half of a UTF-16 surrogate pair, which is "
            "not a character. Remove it or write the whole character.",
            reason="INVALID_TEXT", metadata={"record": number},
        )


def _bad_json(line: int, exc: json.JSONDecodeError) -> InvalidArgument:
    return InvalidArgument(
        f"Line {line} is not valid JSON ({exc.msg} at column {exc.colno}). "
        f"Each line of a JSONL file must be one complete JSON object like {_EXAMPLE}.",
        reason="MALFORMED_JSON",
        metadata={"line": line, "column": exc.colno},
    )


def _object(record, where: str) -> dict:
    if not isinstance(record, dict):
        raise InvalidArgument(
            f"{where} holds a JSON {_json_type(record)}, not an object. Each record must be an object like {_EXAMPLE}.",
            reason="INVALID_RECORD",
        )
    return record


def _json_type(value) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _ChatTally:
    """Records (by line or item number) whose chat conversion lost something, for one warning each."""

    def __init__(self, unit: str):
        self.unit = unit
        self.no_assistant: list[int] = []
        self.dropped_turns: list[int] = []

    def notices(self) -> list[Issue]:
        out = []
        if self.no_assistant:
            out.append(Issue(
                "CHAT_NO_ASSISTANT",
                WARNING,
                f"{self._records(self.no_assistant)} no 'assistant' message, so their output is empty. "
                "Add the expected reply as an assistant message.",
            ))
        if self.dropped_turns:
            out.append(Issue(
                "CHAT_TURNS_DROPPED",
                WARNING,
                f"{self._records(self.dropped_turns)} several assistant turns or messages after the last one: "
                "only the system and user messages before the last assistant message became the input, and "
                "the rest was dropped. Split multi-turn conversations into one record per turn to keep them.",
            ))
        return out

    def _records(self, numbers: list[int]) -> str:
        where = describe_rows(numbers[:20], len(numbers), f"{self.unit}s")
        return f"{plural(len(numbers), 'chat record')} ({where}) {'has' if len(numbers) == 1 else 'have'}"


def _flatten(record: dict, number: int, chat: _ChatTally) -> dict[str, str]:
    if "messages" not in record:
        return {str(k): _text(v) for k, v in record.items()}
    row = {str(k): _text(v) for k, v in record.items() if k != "messages"}
    row["input"], row["output"] = _chat_to_pair(record["messages"], number, chat)
    return row


def _chat_to_pair(messages, number: int, chat: _ChatTally) -> tuple[str, str]:
    where = f"{chat.unit.capitalize()} {number}"
    if not isinstance(messages, list):
        raise _bad_chat(f"{where}: 'messages' must be a list of {{\"role\": ..., \"content\": ...}} objects.", number)
    turns = [(_role(m, where, i, number), _content(m, where, i, number)) for i, m in enumerate(messages, start=1)]
    last = max((i for i, (role, _) in enumerate(turns) if role == "assistant"), default=None)
    if last is None:
        chat.no_assistant.append(number)
        before, output = turns, ""
    else:
        before, output = turns[:last], turns[last][1]
        if last != len(turns) - 1 or any(role == "assistant" for role, _ in before):
            chat.dropped_turns.append(number)
    system = [c for role, c in before if role == "system"]
    user = [c for role, c in before if role == "user"]
    return "\n\n".join(system + user), output


def _role(message, where: str, index: int, number: int) -> str:
    if not isinstance(message, dict):
        raise _bad_chat(f"{where}: message {index} is a JSON {_json_type(message)}, not an object like "
                        '{"role": "user", "content": "..."}.', number)
    role = message.get("role")
    if role not in _ROLES:
        raise _bad_chat(f"{where}: message {index} has role {role!r}; each message needs a role of "
                        "'system', 'user' or 'assistant' and a 'content'.", number)
    return role


def _content(message: dict, where: str, index: int, number: int) -> str:
    content = message.get("content")
    if isinstance(content, list):  # OpenAI-style parts: [{"type": "text", "text": ...}, ...]
        return "".join(_text(p.get("text")) if isinstance(p, dict) else _text(p) for p in content)
    if isinstance(content, dict):
        raise _bad_chat(f"{where}: message {index} has an object as 'content'; give the text as a string.", number)
    return _text(content)


def _bad_chat(message: str, number: int) -> InvalidArgument:
    return InvalidArgument(message, reason="INVALID_RECORD", metadata={"record": number})
