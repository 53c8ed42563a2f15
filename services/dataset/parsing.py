"""Read an uploaded dataset (CSV/TSV, JSONL or JSON, any common encoding) into a table of strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

import pandas as pd

from services.common.errors import InvalidArgument, PayloadTooLarge
from services.dataset.csv_table import read_csv_table
from services.dataset.encoding import DecodedText, decode_upload
from services.dataset.issues import WARNING, Issue
from services.dataset.json_table import read_json_table

CSV, JSONL, JSON = "csv", "jsonl", "json"
DEFAULT_MAX_CELL_CHARS = 100_000

# Extension -> format it promises; None: decide from the content.
_EXTENSION_FORMATS = {".csv": CSV, ".tsv": CSV, ".txt": None, ".jsonl": JSONL, ".ndjson": JSONL, ".json": JSON}
_FORMAT_WORDS = {CSV: "CSV", JSONL: "JSON lines", JSON: "a JSON list"}


@dataclass
class ParsedTable:
    """An upload read into a DataFrame whose cells are all `str` (missing cells are "")."""

    frame: pd.DataFrame  # columns carry the normalised names
    filename: str
    format: str  # CSV, JSONL or JSON
    encoding: str  # as detected: utf-8, utf-8-sig, utf-16-*, utf-32-*, cp1252, latin-1 or a non-Latin code page (cp1251, cp932...)
    delimiter: str | None  # CSV only: "," ";" "\t" or "|"
    original_columns: list[str]  # the header (or JSON keys) as written
    size_bytes: int
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS  # validation's default limit
    notices: list[Issue] = field(default_factory=list)  # parse-time warnings

    @property
    def columns(self) -> list[str]:
        """The normalised column names."""
        return [str(c) for c in self.frame.columns]

    @property
    def warnings(self) -> list[str]:
        return [n.message for n in self.notices]


def parse_upload(
    data: bytes, filename: str, *, max_bytes: int, max_cell_chars: int = DEFAULT_MAX_CELL_CHARS
) -> ParsedTable:
    """Decode, detect the format and parse. Raises PayloadTooLarge over `max_bytes`, InvalidArgument
    (reason EMPTY_FILE, BINARY_FILE, UNSUPPORTED_ENCODING, MALFORMED_CSV, MALFORMED_JSON,
    INVALID_RECORD or DUPLICATE_COLUMN) for input that cannot be read as a table."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"File exceeds {format_size(max_bytes)} limit: it is {format_size(len(data))}. "
            "Remove rows or split it into several datasets.",
            metadata={"limit_bytes": max_bytes, "size_bytes": len(data)},
        )
    if not data or data.isspace():
        raise _empty()
    decoded = decode_upload(data)
    try:
        return _parse_decoded(decoded, data, filename, max_cell_chars)
    except UnicodeDecodeError:
        if decoded.verified:
            raise
    # The file was assumed to be UTF-8 and is not: decode it properly, then parse again.
    return _parse_decoded(decode_upload(data, trust_utf8=False), data, filename, max_cell_chars)


def _parse_decoded(decoded: DecodedText, data: bytes, filename: str, max_cell_chars: int) -> ParsedTable:
    if not decoded.utf8 or decoded.utf8.isspace():
        raise _empty()
    sample = decoded.sample()
    fmt, notices = detect_format(filename, sample)
    if fmt == CSV:
        preferred = "\t" if filename.lower().endswith(".tsv") else None
        table = read_csv_table(decoded.utf8, sample, preferred_delimiter=preferred)
        frame, raw_columns, delimiter = table.frame, table.raw_columns, table.delimiter
    else:
        table = read_json_table(decoded.utf8.decode("utf-8"), whole_document=fmt == JSON)
        frame, raw_columns, delimiter = table.frame, table.raw_columns, None
    return ParsedTable(
        frame=frame,
        filename=filename,
        format=fmt,
        encoding=decoded.encoding,
        delimiter=delimiter,
        original_columns=raw_columns,
        size_bytes=len(data),
        max_cell_chars=max_cell_chars,
        notices=decoded.notices + notices + table.notices,
    )


def detect_format(filename: str, sample: str) -> tuple[str, list[Issue]]:
    """The content decides (a first '[' is a JSON list, a first '{' JSON lines, anything else CSV);
    a warning says so when that contradicts the file's extension. Unless the extension promises
    JSON, the next character must continue JSON, so a CSV header like '[input],[output]' stays CSV."""
    suffix = PurePath(filename or "").suffix.lower()
    promised = _EXTENSION_FORMATS.get(suffix)
    by_content = _format_by_content(sample, trust_json=promised in (JSON, JSONL))
    if promised is None or promised == by_content or {promised, by_content} == {JSON, JSONL}:
        return by_content, []
    note = Issue(
        "FORMAT_MISMATCH",
        WARNING,
        f"The file is named {filename!r} but holds {_FORMAT_WORDS[by_content]}; it was read as {by_content.upper()}.",
    )
    return by_content, [note]


def _format_by_content(sample: str, *, trust_json: bool) -> str:
    text = sample.lstrip()
    first = text[:1]
    if first not in ("[", "{"):
        return CSV
    fmt = JSON if first == "[" else JSONL
    # JSON continues '[' with a value or ']', and '{' with a key or '}'; a CSV header does not.
    follower = text[1:].lstrip()[:1]
    if trust_json or follower in ('"', "}") or (fmt == JSON and follower in ("{", "[", "]")):
        return fmt
    return CSV


def format_size(size_bytes: int) -> str:
    """50 MiB -> '50MB' (the guide's spelling); other sizes with one decimal, small ones in KB."""
    if size_bytes < 2**20:
        return f"{size_bytes / 1024:.3g}KB"
    mb = size_bytes / 2**20
    return f"{mb:.0f}MB" if mb == int(mb) else f"{mb:.1f}MB"


def _empty() -> InvalidArgument:
    return InvalidArgument(
        "The file is empty. Upload a CSV file with a header row 'input,output' and one example per row, "
        "or a JSONL file with one {\"input\": ..., \"output\": ...} object per line.",
        reason="EMPTY_FILE",
    )
