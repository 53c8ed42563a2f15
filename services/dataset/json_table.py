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
    """`whole_document`: the text is one JSON value (a list of records); otherwise one record per line."""
    chat = _ChatTally()
    keys: dict[str, None] = {}
    rows = []
    for line, record in _records(text, whole_document):
        row = _flatten(record, line, chat)
        keys.update(dict.fromkeys(row))
        rows.append(row)
    raw_columns = list(keys)
    frame = pd.DataFrame.from_records(rows, columns=raw_columns).fillna("").astype(str) if rows else pd.DataFrame(
        {c: pd.Series([], dtype=str) for c in raw_columns}
    )
    names, notices = normalise_columns(raw_columns)
    frame.columns = names
    return JsonTable(frame, raw_columns, notices + chat.notices())


def _records(text: str, whole_document: bool):
    """(line number, record) pairs; the line of a list item is where the list starts for JSON documents."""
    if whole_document:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad_json(exc.lineno, exc) from None
        if not isinstance(value, list):
            raise InvalidArgument(
                f"The JSON file holds a {_json_type(value)}; it must hold a list of objects like [{_EXAMPLE}, ...] "
                "or one object per line (JSONL).",
                reason="INVALID_RECORD",
            )
        for index, record in enumerate(value, start=1):
            yield index, _object(record, f"Item {index} of the list")
        return
    # split on \n only: str.splitlines would also split on U+2028, which JSON strings may contain
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad_json(line_no, exc) from None
        yield line_no, _object(record, f"Line {line_no}")


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
    """Lines of chat records whose conversion lost something, for one warning each."""

    def __init__(self):
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

    @staticmethod
    def _records(lines: list[int]) -> str:
        where = describe_rows(lines[:20], len(lines), "lines")
        return f"{plural(len(lines), 'chat record')} ({where}) {'has' if len(lines) == 1 else 'have'}"


def _flatten(record: dict, line: int, chat: _ChatTally) -> dict[str, str]:
    if "messages" not in record:
        return {str(k): _text(v) for k, v in record.items()}
    row = {str(k): _text(v) for k, v in record.items() if k != "messages"}
    row["input"], row["output"] = _chat_to_pair(record["messages"], line, chat)
    return row


def _chat_to_pair(messages, line: int, chat: _ChatTally) -> tuple[str, str]:
    if not isinstance(messages, list):
        raise InvalidArgument(
            f"Line {line}: 'messages' must be a list of {{\"role\": ..., \"content\": ...}} objects.",
            reason="INVALID_RECORD",
            metadata={"line": line},
        )
    turns = [(_role(m, line, i), _content(m, line, i)) for i, m in enumerate(messages, start=1)]
    last = max((i for i, (role, _) in enumerate(turns) if role == "assistant"), default=None)
    if last is None:
        chat.no_assistant.append(line)
        before, output = turns, ""
    else:
        before, output = turns[:last], turns[last][1]
        if last != len(turns) - 1 or any(role == "assistant" for role, _ in before):
            chat.dropped_turns.append(line)
    system = [c for role, c in before if role == "system"]
    user = [c for role, c in before if role == "user"]
    return "\n\n".join(system + user), output


def _role(message, line: int, index: int) -> str:
    role = message.get("role") if isinstance(message, dict) else None
    if role not in _ROLES:
        raise InvalidArgument(
            f"Line {line}: message {index} has role {role!r}; each message needs a role of "
            f"'system', 'user' or 'assistant' and a 'content'.",
            reason="INVALID_RECORD",
            metadata={"line": line, "message": index},
        )
    return role


def _content(message: dict, line: int, index: int) -> str:
    content = message.get("content")
    if isinstance(content, list):  # OpenAI-style parts
        return "".join(p if isinstance(p, str) else _text(p.get("text")) if isinstance(p, dict) else _text(p) for p in content)
    if isinstance(content, dict):
        raise InvalidArgument(
            f"Line {line}: message {index} has an object as 'content'; give the text as a string.",
            reason="INVALID_RECORD",
            metadata={"line": line, "message": index},
        )
    return _text(content)
