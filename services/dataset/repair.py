"""The guide's clean-up ("Data Preprocessing", "Data Corruption Recovery"), reporting what it changed.

Steps, in this order so each sees the previous one's result: strip whitespace around input and
output; drop rows whose input or output is blank; drop rows repeating an earlier row's input and
output; drop rows whose input or output length (in characters, after stripping) is outside the
given bounds. Other columns are kept untouched. The input frame is never modified.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from services.common.errors import InvalidArgument
from services.dataset.headers import INPUT, OUTPUT, REQUIRED_COLUMNS
from services.dataset.issues import plural
from services.dataset.masks import blank_cells, cell_lengths, duplicate_rows
from services.dataset.parsing import ParsedTable


@dataclass
class RepairReport:
    rows_before: int
    rows_after: int
    rows_stripped: int = 0  # rows where stripping changed the input or the output
    empty_dropped: int = 0
    duplicates_dropped: int = 0
    # rows dropped per bound: input_too_short, input_too_long, output_too_short, output_too_long
    length_dropped: dict[str, int] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)  # one sentence per change, e.g. "Removed 5 empty rows"

    @property
    def changed(self) -> bool:
        return bool(self.repairs)

    def to_dict(self) -> dict:
        return asdict(self)


def repair(
    table: ParsedTable | pd.DataFrame,
    *,
    drop_empty: bool = True,
    strip: bool = True,
    drop_duplicates: bool = True,
    min_input_chars: int | None = None,
    max_input_chars: int | None = None,
    min_output_chars: int | None = None,
    max_output_chars: int | None = None,
) -> tuple[pd.DataFrame, RepairReport]:
    """Return the cleaned frame (index 0..n-1) and what changed. Raises InvalidArgument when the
    table lacks an input or output column, or a length bound is negative or min > max."""
    frame = table.frame if isinstance(table, ParsedTable) else table
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"Cannot repair a dataset without {' and '.join(repr(c) for c in missing)} "
            f"column{'s' if len(missing) > 1 else ''}; fix the header first.",
            reason="MISSING_COLUMN",
            metadata={"missing": ",".join(missing)},
        )
    bounds = {
        f"{INPUT}_too_short": min_input_chars,
        f"{INPUT}_too_long": max_input_chars,
        f"{OUTPUT}_too_short": min_output_chars,
        f"{OUTPUT}_too_long": max_output_chars,
    }
    _check_bounds(bounds)

    report = RepairReport(rows_before=len(frame), rows_after=len(frame))
    frame = frame.copy()
    if strip:
        frame = _strip(frame, report)
    if drop_empty:
        empty = blank_cells(frame[INPUT]) | blank_cells(frame[OUTPUT])
        report.empty_dropped = int(empty.sum())
        frame = frame[~empty]
        _note(report, report.empty_dropped, "empty row")
    if drop_duplicates:
        duplicates = duplicate_rows(frame, list(REQUIRED_COLUMNS))
        report.duplicates_dropped = int(duplicates.sum())
        frame = frame[~duplicates]
        _note(report, report.duplicates_dropped, "duplicate row")
    frame = _filter_lengths(frame, bounds, report)

    frame = frame.reset_index(drop=True)
    report.rows_after = len(frame)
    return frame, report


def _check_bounds(bounds: dict[str, int | None]) -> None:
    for name, value in bounds.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidArgument(
                f"The length bound for {name.replace('_', ' ')} must be a whole number of characters >= 0, "
                f"not {value!r}.",
                reason="INVALID_REPAIR_OPTIONS",
            )
    for column in REQUIRED_COLUMNS:
        low, high = bounds[f"{column}_too_short"], bounds[f"{column}_too_long"]
        if low is not None and high is not None and low > high:
            raise InvalidArgument(
                f"The minimum {column} length ({low}) is greater than the maximum ({high}); no row could pass.",
                reason="INVALID_REPAIR_OPTIONS",
            )


def _strip(frame: pd.DataFrame, report: RepairReport) -> pd.DataFrame:
    changed = np.zeros(len(frame), dtype=bool)
    for column in REQUIRED_COLUMNS:
        stripped = frame[column].str.strip()
        changed |= stripped.ne(frame[column]).to_numpy(dtype=bool)
        frame[column] = stripped
    report.rows_stripped = int(changed.sum())
    if report.rows_stripped:
        rows = plural(report.rows_stripped, "row")
        report.repairs.append(f"Stripped whitespace around the input or output in {rows}")
    return frame


def _filter_lengths(frame: pd.DataFrame, bounds: dict[str, int | None], report: RepairReport) -> pd.DataFrame:
    for name, bound in bounds.items():
        if bound is None:
            continue
        column, _, kind = name.partition("_too_")
        lengths = cell_lengths(frame[column])
        drop = lengths < bound if kind == "short" else lengths > bound
        dropped = int(drop.sum())
        report.length_dropped[name] = dropped
        frame = frame[~drop]
        comparison = "shorter" if kind == "short" else "longer"
        _note(report, dropped, "row", f"with {column} {comparison} than {bound} characters")
    return frame


def _note(report: RepairReport, count: int, noun: str, detail: str = "") -> None:
    """Add a sentence like the guide's "Removed 5 empty rows" when something was removed."""
    if count:
        report.repairs.append(f"Removed {plural(count, noun)}" + (f" {detail}" if detail else ""))
