"""CSV/TSV reading: delimiter sniffing on the first 64 KB, then pandas' C parser over the whole file."""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass

import pandas as pd

from services.common.errors import InvalidArgument
from services.dataset.encoding import SAMPLE_BYTES
from services.dataset.headers import REQUIRED_COLUMNS, normalise_columns
from services.dataset.issues import WARNING, Issue, describe_rows, row_numbers

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_RECORDS = 50
_EXCEL_SEP_LINE = re.compile(r"\A\s*sep=(.)\r?\n")  # Excel's "sep=;" first line
_FIX_QUOTES = (
    "Put cells that contain the delimiter, quotes or line breaks in double quotes, "
    'and write a quote inside a cell as two ("").'
)


@dataclass
class CsvTable:
    frame: pd.DataFrame  # str cells, normalised column names
    raw_columns: list[str]  # the header as written
    delimiter: str
    notices: list[Issue]


def read_csv_table(utf8: bytes, sample: str, *, preferred_delimiter: str | None = None) -> CsvTable:
    """Parse UTF-8 CSV bytes. `sample` is the decoded start of the file, used for sniffing and the header."""
    skip = 0
    forced = _EXCEL_SEP_LINE.match(sample)
    if forced and forced.group(1) in DELIMITERS:
        skip, sample = 1, sample[forced.end() :]
    sample = _whole_lines(sample, truncated=len(utf8) > SAMPLE_BYTES)
    delimiter = forced.group(1) if forced and skip else sniff_delimiter(sample, preferred=preferred_delimiter)

    records = _sample_records(sample, delimiter)
    if not records:
        raise InvalidArgument("The file has no header row. Put 'input,output' on the first line.", reason="EMPTY_FILE")
    raw_header = records[0]
    named = raw_header[: _last_named(raw_header)]
    names, notices = normalise_columns(named)
    # Unnamed columns at the end of the header, and fields beyond it in the first row (pandas would
    # silently turn those into an index): read them under placeholder names, then settle them.
    width = max(len(raw_header), len(records[1]) if len(records) > 1 else 0)
    tail = [f"unnamed_{i + 1}" for i in range(len(named), width)]

    frame = read_csv_frame(utf8, delimiter, names + tail, skip)
    if tail:
        frame, tail_notices = _settle_unnamed_tail(frame, tail, len(raw_header), delimiter)
        notices += tail_notices
    return CsvTable(frame, list(raw_header), delimiter, notices)


def sniff_delimiter(sample: str, *, preferred: str | None = None) -> str:
    """The delimiter among , ; tab | whose header names both input and output, else the one that
    splits the sampled rows into the same number (>1) of fields most consistently; ties go to
    `preferred` (tab for .tsv), then to the order above."""
    order = sorted(DELIMITERS, key=lambda d: d != preferred)
    best, best_score = preferred or ",", (0.0, 0)
    for delimiter in order:
        records = _sample_records(sample, delimiter)
        if not records:
            continue
        header = [name.strip().strip("\ufeff").casefold() for name in records[0]]
        if all(required in header for required in REQUIRED_COLUMNS):
            return delimiter
        width = len(records[0])
        if width < 2:
            continue
        rows = records[1:] or [records[0]]
        score = (sum(len(r) == width for r in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _whole_lines(sample: str, *, truncated: bool) -> str:
    """Drop a partial last line of a truncated sample so sniffing never sees a cut-off record."""
    if not truncated:
        return sample
    cut = sample.rfind("\n")
    return sample[: cut + 1] if cut > 0 else sample


def _sample_records(sample: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    records = []
    try:
        for record in itertools.islice(reader, _SNIFF_RECORDS * 4):
            if record:  # pandas skips blank lines; so do we
                records.append(record)
            if len(records) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # a quote left open at the end of the sample: what was read so far is enough
    return records


def _last_named(header: list[str]) -> int:
    """Length of the header without its trailing blank names."""
    width = len(header)
    while width and not header[width - 1].strip():
        width -= 1
    return width


def read_csv_frame(utf8: bytes, delimiter: str, names: list[str] | None = None, skip: int = 0) -> pd.DataFrame:
    """pandas' C parser over UTF-8 bytes: every cell a str, nothing turned into NaN, blank lines
    skipped. `names` replace the header row's; `skip` lines are dropped before the header."""
    try:
        return pd.read_csv(
            io.BytesIO(utf8),
            sep=delimiter,
            header=0,
            names=names,
            index_col=False,
            skiprows=skip,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quotechar='"',
            doublequote=True,
            skip_blank_lines=True,
            encoding="utf-8",
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise _malformed(utf8, str(exc), delimiter) from None


_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _malformed(utf8: bytes, detail: str, delimiter: str) -> InvalidArgument:
    """pandas counts lines without the line breaks inside quoted cells; name the physical line instead."""
    detail = detail.replace("Error tokenizing data. C error: ", "").strip()
    counted = _FIELD_COUNT.search(detail)
    if counted:
        expected, record, saw = (int(g) for g in counted.groups())
        line = physical_line(utf8, record - 1, delimiter)
        return InvalidArgument(
            f"Line {line} has {saw} fields but the header has {expected} "
            f"(delimiter: {DELIMITER_NAMES[delimiter]}). {_FIX_QUOTES}",
            reason="MALFORMED_CSV",
            metadata={"line": line, "expected_fields": expected, "fields": saw},
        )
    opened = _OPEN_QUOTE.search(detail)
    if opened:
        line = physical_line(utf8, int(opened.group(1)), delimiter)
        return InvalidArgument(
            f"Line {line} opens a quoted cell (\") that is never closed, so the rest of the file would be read "
            f"as one cell. Close the quote. {_FIX_QUOTES}",
            reason="MALFORMED_CSV",
            metadata={"line": line},
        )
    return InvalidArgument(f"The CSV file cannot be parsed: {detail}. {_FIX_QUOTES}", reason="MALFORMED_CSV")


def physical_line(utf8: bytes, record_index: int, delimiter: str) -> int:
    """1-based line on which the record_index-th record (0-based, blank lines counted) starts.
    Error path only: re-reads the file with the csv module up to that record."""
    text = io.TextIOWrapper(io.BytesIO(utf8), encoding="utf-8", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    limit = csv.field_size_limit(2**31 - 1)  # the default (128 KB) would stop at a long cell
    try:
        for _ in itertools.islice(reader, record_index):
            pass
    except csv.Error:
        pass
    finally:
        csv.field_size_limit(limit)
    return reader.line_num + 1


def _settle_unnamed_tail(
    frame: pd.DataFrame, tail: list[str], header_width: int, delimiter: str
) -> tuple[pd.DataFrame, list[Issue]]:
    """Empty tail columns (a trailing delimiter on every line) are dropped with a warning. A filled
    column under a blank header name is kept as 'unnamed_<n>'. Filled fields beyond the header are
    an error: the header is short or a cell holds an unquoted delimiter."""
    notices = []
    empty = [c for c in tail if frame[c].eq("").all()]
    if empty:
        notices.append(Issue(
            "TRAILING_DELIMITER",
            WARNING,
            f"Lines end with an extra {DELIMITER_NAMES[delimiter]} delimiter; the empty column after it was ignored.",
        ))
    for position, name in enumerate(tail, start=len(frame.columns) - len(tail)):
        if name in empty:
            continue
        if position < header_width:
            message = f"Column {position + 1} has no name; it was read as {name!r}."
            notices.append(Issue("COLUMN_RENAMED", WARNING, message))
            continue
        filled = frame[name].ne("").to_numpy(dtype=bool)
        count = int(filled.sum())
        rows = row_numbers(filled.nonzero()[0])
        raise InvalidArgument(
            f"The header has {header_width} columns but {describe_rows(rows, count, 'data rows')} "
            f"{'has' if count == 1 else 'have'} more fields. Name the extra columns in the header, or quote "
            f"cells that contain the {DELIMITER_NAMES[delimiter]} delimiter. {_FIX_QUOTES}",
            reason="MALFORMED_CSV",
            metadata={"rows": ",".join(map(str, rows)), "expected_fields": header_width},
        )
    return frame.drop(columns=empty), notices
