"""Dataset checks and statistics, shaped as the guide's /api/preview-csv response (plus extras).

Every check runs on whole columns (pandas string methods, numpy), never row by row in Python,
so validating a 50 MB file costs a fraction of reading it.

Row numbers are 1-based data row numbers: row 1 is the first row after the header (first record
of a JSONL file). Token estimates are ceil(characters / 4), the usual rule of thumb for English
text under BPE tokenizers (GPT-2, Llama); real counts vary with the tokenizer and the language.
A row's estimate is its input's plus its output's; the prompt template adds a few tokens more.
Length histograms (histograms.py) cover every row, so a page can count the rows a max sequence
length would truncate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.common.errors import FinetuneError
from services.dataset.headers import INPUT, OUTPUT, REQUIRED_COLUMNS
from services.dataset.histograms import empty_histogram, histogram
from services.dataset.issues import ERROR, WARNING, Issue, describe_rows, plural, row_numbers
from services.dataset.masks import blank_cells, cell_lengths, cells_of, duplicate_rows, first_chars, in_set
from services.dataset.parsing import ParsedTable

MIN_RECOMMENDED_ROWS = 100  # the guide's "Minimum Rows: 100+ examples"
CHARS_PER_TOKEN = 4

# Names people give the two columns, to suggest a rename when one is missing.
_ALIASES = {
    INPUT: ("prompt", "question", "instruction", "query", "source", "text", "user", "context"),
    OUTPUT: ("completion", "response", "answer", "target", "label", "assistant", "reply", "result"),
}

# What a spreadsheet would execute when the file is opened there (OWASP "CSV injection"): any cell
# starting with '='; '+', '-' or '@' followed by a function call (SUM(), a cell reference with an
# operator (A1+1) or a DDE link (cmd|' /C calc'!A0); a leading tab or carriage return. Only cells
# starting with one of these characters are matched, so prose such as "- a bullet" is left alone.
_FORMULA_STARTS = frozenset("=+-@\t\r")
_FORMULA = re.compile(
    r"""[\t\r]
      | =\s*\S
      | [+\-@][A-Za-z_][\w.]*\(
      | [+\-@]\$?[A-Za-z]{1,3}\$?\d+\s*[-+*/^&:]
      | [+\-@].*\|.*!""",
    re.VERBOSE,
)


@dataclass
class ColumnStats:
    """Lengths of one column's cells, in characters, and an estimate in tokens (see module doc)."""

    name: str
    empty: int  # cells that are blank after stripping whitespace
    chars_min: int
    chars_max: int
    chars_mean: float
    chars_p50: int
    chars_p95: int
    tokens_est_total: int
    tokens_est_mean: float
    tokens_est_max: int
    chars_histogram: dict  # histograms.histogram() of the cell lengths

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ValidationReport:
    filename: str
    columns: list[str]  # normalised names, in file order
    data: list[dict[str, str]]  # the first preview rows
    validation_errors: list[str]  # messages of the ERROR issues; the dataset is usable iff empty
    warnings: list[str]  # messages of the WARNING issues (parse-time ones first)
    issues: list[Issue]
    total_rows: int
    total_columns: int
    has_required_columns: bool
    column_stats: dict[str, ColumnStats]
    duplicate_rows: int  # rows repeating an earlier row's input and output
    empty_rows: int  # rows whose input or output is blank
    encoding: str
    delimiter: str | None
    format: str
    original_columns: list[str] = field(default_factory=list)
    # histograms.histogram() of each row's estimated tokens (input plus output); empty without both columns
    row_tokens_est_histogram: dict = field(default_factory=empty_histogram)

    @property
    def ok(self) -> bool:
        return not self.validation_errors

    @property
    def statistics(self) -> dict:
        return {
            "total_rows": self.total_rows,
            "total_columns": self.total_columns,
            "has_required_columns": self.has_required_columns,
        }


def validate(
    table: ParsedTable,
    *,
    preview_rows: int = 5,
    max_cell_chars: int | None = None,
    min_recommended_rows: int = MIN_RECOMMENDED_ROWS,
) -> ValidationReport:
    """Run every check on `table`. `max_cell_chars` defaults to the limit the table was parsed with."""
    frame = table.frame
    limit = table.max_cell_chars if max_cell_chars is None else max_cell_chars
    columns = [str(c) for c in frame.columns]
    present = [c for c in REQUIRED_COLUMNS if c in columns]
    lengths = {c: cell_lengths(frame[c]) for c in columns}
    firsts = {c: first_chars(frame[c]) for c in columns}
    blank = {c: blank_cells(frame[c], lengths[c], firsts[c]) for c in columns}

    issues = list(table.notices)
    issues += _missing_columns(columns)
    issues += _row_count(len(frame), min_recommended_rows)
    empty_mask = _empty_mask(blank, present, columns, len(frame))
    issues += _empty_rows(empty_mask)
    issues += _long_cells(lengths, limit, len(frame))
    duplicate_mask = _duplicate_mask(frame, lengths, present, empty_mask)
    issues += _duplicates(duplicate_mask, frame, lengths)
    issues += _formula_cells(frame, firsts)

    return ValidationReport(
        filename=table.filename,
        columns=columns,
        data=frame.head(preview_rows).to_dict("records") if preview_rows > 0 else [],
        validation_errors=[i.message for i in issues if i.severity == ERROR],
        warnings=[i.message for i in issues if i.severity == WARNING],
        issues=issues,
        total_rows=len(frame),
        total_columns=len(columns),
        has_required_columns=len(present) == len(REQUIRED_COLUMNS),
        column_stats={c: _column_stats(c, lengths[c], blank[c]) for c in columns},
        duplicate_rows=int(duplicate_mask.sum()),
        empty_rows=int(empty_mask.sum()),
        encoding=table.encoding,
        delimiter=table.delimiter,
        format=table.format,
        original_columns=list(table.original_columns),
        row_tokens_est_histogram=_row_tokens_histogram(lengths, len(present) == len(REQUIRED_COLUMNS)),
    )


def estimate_tokens(lengths: np.ndarray) -> np.ndarray:
    """Estimated tokens of cells of `lengths` characters (see the module doc)."""
    return (lengths + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def _row_tokens_histogram(lengths: dict[str, np.ndarray], has_pair: bool) -> dict:
    if not has_pair:
        return empty_histogram()
    return histogram(estimate_tokens(lengths[INPUT]) + estimate_tokens(lengths[OUTPUT]))


def to_preview_dict(report: ValidationReport) -> dict:
    """The guide's /api/preview-csv JSON (filename, columns, data, validation_errors, statistics) plus extras."""
    return {
        "filename": report.filename,
        "columns": list(report.columns),
        "data": [dict(row) for row in report.data],
        "validation_errors": list(report.validation_errors),
        "statistics": report.statistics,
        "warnings": list(report.warnings),
        "issues": [i.to_dict() for i in report.issues],
        "column_stats": {name: s.to_dict() for name, s in report.column_stats.items()},
        "duplicate_rows": report.duplicate_rows,
        "empty_rows": report.empty_rows,
        "encoding": report.encoding,
        "delimiter": report.delimiter,
        "format": report.format,
        "original_columns": list(report.original_columns),
        "row_tokens_est_histogram": report.row_tokens_est_histogram,
    }


def error_preview_dict(filename: str, error: FinetuneError) -> dict:
    """A preview for a file that could not be read at all (too large, binary, malformed): the guide
    lists such problems in validation_errors ("File exceeds 50MB limit"), so callers that answer
    with a preview rather than an error status can use this."""
    issue = Issue(error.reason, ERROR, error.message)
    return {
        "filename": filename,
        "columns": [],
        "data": [],
        "validation_errors": [error.message],
        "statistics": {"total_rows": 0, "total_columns": 0, "has_required_columns": False},
        "warnings": [],
        "issues": [issue.to_dict()],
        "column_stats": {},
        "duplicate_rows": 0,
        "empty_rows": 0,
        "encoding": None,
        "delimiter": None,
        "format": None,
        "original_columns": [],
        "row_tokens_est_histogram": empty_histogram(),
    }


def _missing_columns(columns: list[str]) -> list[Issue]:
    issues = []
    for required in REQUIRED_COLUMNS:
        if required in columns:
            continue
        alias = next((c for c in columns if c.casefold() in _ALIASES[required]), None)
        if alias is not None:
            hint = f"found {alias!r}: rename it to '{required}'"
        elif columns:
            found = ", ".join(repr(c) for c in columns[:10])
            hint = f"found columns {found}; the first row must be the header, e.g. 'input,output'"
        else:
            hint = "the file has no columns"
        issues.append(Issue("MISSING_COLUMN", ERROR, f"Missing required '{required}' column ({hint})"))
    return issues


def _row_count(rows: int, minimum: int) -> list[Issue]:
    if rows == 0:
        message = f"The file has no data rows, only a header. Add at least {minimum} examples, one per row."
        return [Issue("NO_ROWS", ERROR, message)]
    if rows < minimum:
        message = f"Only {plural(rows, 'row')}: at least {minimum} examples are recommended for fine-tuning."
        return [Issue("FEW_ROWS", WARNING, message, count=rows)]
    return []


def _empty_mask(blank: dict[str, np.ndarray], present: list[str], columns: list[str], n: int) -> np.ndarray:
    """A row is empty when a required column is blank; with neither present, when every cell is."""
    if present:
        return np.logical_or.reduce([blank[c] for c in present])
    if columns:
        return np.logical_and.reduce([blank[c] for c in columns])
    return np.zeros(n, dtype=bool)


def _empty_rows(mask: np.ndarray) -> list[Issue]:
    count = int(mask.sum())
    if not count:
        return []
    rows = row_numbers(np.flatnonzero(mask))
    message = (
        f"Found {plural(count, 'empty row')} ({describe_rows(rows, count)}): the input or output is blank. "
        "Fill them in or remove them."
    )
    return [Issue("EMPTY_ROWS", ERROR, message, rows, count)]


def _long_cells(lengths: dict[str, np.ndarray], limit: int, n: int) -> list[Issue]:
    mask = np.zeros(n, dtype=bool)
    longest = 0
    for column_lengths in lengths.values():
        mask |= column_lengths > limit
        longest = max(longest, int(column_lengths.max(initial=0)))
    count = int(mask.sum())
    if not count:
        return []
    rows = row_numbers(np.flatnonzero(mask))
    message = (
        f"{plural(count, 'row has a cell', 'rows have a cell')} longer than {limit:,} characters "
        f"({describe_rows(rows, count)}; the longest has {longest:,}). "
        "Shorten or split them. A cell spanning many lines often means a quote (\") was not closed."
    )
    return [Issue("CELL_TOO_LONG", ERROR, message, rows, count)]


def _duplicate_mask(frame: pd.DataFrame, lengths: dict, present: list[str], empty: np.ndarray) -> np.ndarray:
    """Rows repeating an earlier row's input and output (empty rows aside: they are errors already)."""
    if len(present) < len(REQUIRED_COLUMNS):
        return np.zeros(len(frame), dtype=bool)
    pair = list(REQUIRED_COLUMNS)
    return duplicate_rows(frame, pair, [lengths[c] for c in pair], exclude=empty)


def _duplicates(mask: np.ndarray, frame: pd.DataFrame, lengths: dict[str, np.ndarray]) -> list[Issue]:
    count = int(mask.sum())
    if not count:
        return []
    positions = np.flatnonzero(mask)
    rows = row_numbers(positions)
    copy = int(positions[0])
    original = _first_equal_row(frame, lengths, copy)
    message = (
        f"Found {plural(count, 'duplicate row')} ({describe_rows(rows, count)}) with the same input and output as an "
        f"earlier row, e.g. row {copy + 1} repeats row {original + 1}. "
        "Remove duplicates so the model does not overweight them."
    )
    return [Issue("DUPLICATE_ROWS", WARNING, message, rows, count)]


def _first_equal_row(frame: pd.DataFrame, lengths: dict[str, np.ndarray], row: int) -> int:
    """The first row with the same input and output as `row`; strings compared only where lengths match."""
    same_length = np.flatnonzero((lengths[INPUT] == lengths[INPUT][row]) & (lengths[OUTPUT] == lengths[OUTPUT][row]))
    inputs, outputs = cells_of(frame[INPUT]), cells_of(frame[OUTPUT])
    return next(int(i) for i in same_length if inputs[i] == inputs[row] and outputs[i] == outputs[row])


def _formula_cells(frame: pd.DataFrame, firsts: dict[str, np.ndarray]) -> list[Issue]:
    mask = np.zeros(len(frame), dtype=bool)
    cells = 0
    example = None
    for column, column_firsts in firsts.items():
        candidates = np.flatnonzero(in_set(column_firsts, _FORMULA_STARTS))
        if not len(candidates):
            continue
        texts = cells_of(frame[column])[candidates]
        hits = np.fromiter((_FORMULA.match(t) is not None for t in texts), dtype=bool, count=len(texts))
        if hits.any():
            mask[candidates[hits]] = True
            cells += int(hits.sum())
            example = example or texts[hits][0]
    count = int(mask.sum())
    if not count:
        return []
    rows = row_numbers(np.flatnonzero(mask))
    shown = example if len(example) <= 40 else example[:37] + "..."
    message = (
        f"Found {plural(cells, 'cell')} that a spreadsheet would run as formulas ({describe_rows(rows, count)}; "
        f"e.g. {shown!r}). They are kept as plain text for training; escape them before opening an export in a "
        "spreadsheet."
    )
    return [Issue("FORMULA_CELLS", WARNING, message, rows, count)]


def _column_stats(name: str, lengths: np.ndarray, blank: np.ndarray) -> ColumnStats:
    if not len(lengths):
        return ColumnStats(name, 0, 0, 0, 0.0, 0, 0, 0, 0.0, 0, empty_histogram())
    tokens = estimate_tokens(lengths)
    p50, p95 = np.percentile(lengths, [50, 95], method="inverted_cdf")
    return ColumnStats(
        name=name,
        empty=int(blank.sum()),
        chars_min=int(lengths.min()),
        chars_max=int(lengths.max()),
        chars_mean=round(float(lengths.mean()), 2),
        chars_p50=int(p50),
        chars_p95=int(p95),
        tokens_est_total=int(tokens.sum()),
        tokens_est_mean=round(float(tokens.mean()), 2),
        tokens_est_max=int(tokens.max()),
        chars_histogram=histogram(lengths),
    )
