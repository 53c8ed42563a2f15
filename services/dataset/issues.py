"""One finding about an uploaded dataset (an error or a warning), with the data rows it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ERROR = "error"
WARNING = "warning"

MAX_ISSUE_ROWS = 20  # row numbers kept on an Issue; `count` holds the total
MAX_MESSAGE_ROWS = 10  # row numbers spelled out in a message


@dataclass
class Issue:
    """A check's result. `rows` are 1-based data row numbers (row 1 is the first row after the header)."""

    code: str  # UPPER_SNAKE, e.g. "EMPTY_ROWS"
    severity: str  # ERROR or WARNING
    message: str  # tells a person what to fix
    rows: list[int] = field(default_factory=list)  # at most MAX_ISSUE_ROWS
    count: int = 0  # how many rows (or cells) are affected in all

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "rows": list(self.rows),
            "count": self.count,
        }


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 row', '5 rows'."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def row_numbers(positions: Iterable[int], limit: int = MAX_ISSUE_ROWS) -> list[int]:
    """0-based frame positions -> the first `limit` 1-based data row numbers."""
    out = []
    for p in positions:
        if len(out) >= limit:
            break
        out.append(int(p) + 1)
    return out


def describe_rows(rows: list[int], count: int, noun: str = "rows") -> str:
    """'rows 3, 7, 9' or 'rows 3, 7, ... (25 in all)': short enough for a message."""
    shown = ", ".join(str(r) for r in rows[:MAX_MESSAGE_ROWS])
    if count > min(len(rows), MAX_MESSAGE_ROWS):
        return f"{noun} {shown}, ... ({count} in all)"
    return f"{noun} {shown}" if count != 1 else f"{noun.rstrip('s')} {shown}"
