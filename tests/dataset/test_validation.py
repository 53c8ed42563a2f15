"""Validation: the guide's preview response, each check's wording and row numbers, column statistics."""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
import pytest

from services.common.errors import PayloadTooLarge
from services.dataset.masks import WHITESPACE
from services.dataset.parsing import ParsedTable, parse_upload
from services.dataset.validation import _FORMULA, error_preview_dict, to_preview_dict, validate
from tests.dataset.corpus import CASES, csv_bytes, generated_csv, qa_rows

READABLE_CASES = [c for c in CASES if not c.expect_error]
GUIDE_KEYS = {"filename", "columns", "data", "validation_errors", "statistics"}


def table_of(rows: dict[str, list[str]], filename: str = "t.csv") -> ParsedTable:
    frame = pd.DataFrame(rows, dtype=str)
    return ParsedTable(frame, filename, "csv", "utf-8", ",", list(frame.columns), size_bytes=0)


def preview(data: bytes, filename: str = "t.csv", **kwargs) -> dict:
    return to_preview_dict(validate(parse_upload(data, filename, max_bytes=10**8), **kwargs))


@pytest.mark.parametrize("c", READABLE_CASES, ids=str)
def test_corpus_validation_messages(c):
    report = validate(parse_upload(c.data, c.filename, max_bytes=c.max_bytes, max_cell_chars=c.max_cell_chars))
    for phrase in c.expect_in_errors:
        assert any(phrase in e for e in report.validation_errors), (phrase, report.validation_errors)
    for phrase in c.expect_in_warnings:
        assert any(phrase in w for w in report.warnings), (phrase, report.warnings)
    if c.expect_valid is not None:
        assert report.ok is c.expect_valid, report.validation_errors
    if c.expect_rows is not None:
        assert report.total_rows == c.expect_rows
    json.dumps(to_preview_dict(report))  # the whole response is JSON-serialisable


def test_preview_matches_the_guide_response():
    data = csv_bytes(("input", "output"), [("What is machine learning?", "A subset of AI.")] + qa_rows(149))
    body = preview(data, "dataset.csv")
    assert GUIDE_KEYS <= body.keys()
    assert body["filename"] == "dataset.csv"
    assert body["columns"] == ["input", "output"]
    assert body["data"][0] == {"input": "What is machine learning?", "output": "A subset of AI."}
    assert len(body["data"]) == 5
    assert body["validation_errors"] == []
    assert body["statistics"] == {"total_rows": 150, "total_columns": 2, "has_required_columns": True}
    assert body["warnings"] == [] and body["issues"] == []
    assert (body["encoding"], body["delimiter"], body["format"]) == ("utf-8", ",", "csv")


def test_missing_output_column_uses_the_guide_wording():
    body = preview(b"input\nq1\n")
    assert body["validation_errors"][0].startswith("Missing required 'output' column")
    assert body["statistics"]["has_required_columns"] is False
    assert body["issues"][0]["code"] == "MISSING_COLUMN" and body["issues"][0]["severity"] == "error"


def test_empty_rows_are_counted_and_numbered():
    rows = [("q", "a")] * 0 + [(f"q{i}", "" if i % 2 else f"a{i}") for i in range(1, 51)]
    body = preview(csv_bytes(("input", "output"), rows))
    message = next(e for e in body["validation_errors"] if "empty rows" in e)
    assert message.startswith("Found 25 empty rows (rows 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, ... (25 in all))")
    issue = next(i for i in body["issues"] if i["code"] == "EMPTY_ROWS")
    assert issue["count"] == 25
    assert issue["rows"] == list(range(1, 40, 2))  # capped at 20 row numbers
    assert body["empty_rows"] == 25


def test_whitespace_only_cells_count_as_empty():
    report = validate(table_of({"input": ["q", " \t", "q3"], "output": ["a", "a2", "\n"]}))
    assert report.empty_rows == 2
    assert "Found 2 empty rows (rows 2, 3)" in report.validation_errors[0]


def test_duplicates_need_identical_input_and_output():
    report = validate(table_of({"input": ["ab", "ab", "ba", "ab"], "output": ["x", "y", "x", "x"]}))
    assert report.duplicate_rows == 1
    issue = next(i for i in report.issues if i.code == "DUPLICATE_ROWS")
    assert issue.rows == [4] and issue.severity == "warning" and "row 4 repeats row 1" in issue.message


def test_empty_rows_are_not_also_reported_as_duplicates():
    report = validate(table_of({"input": ["", "", "q"], "output": ["", "", "a"]}))
    assert report.empty_rows == 2 and report.duplicate_rows == 0


def test_long_cells_are_errors_with_rows_and_the_limit():
    report = validate(table_of({"input": ["q", "x" * 11, "q3"], "output": ["a", "a2", "y" * 12]}), max_cell_chars=10)
    issue = next(i for i in report.issues if i.code == "CELL_TOO_LONG")
    assert issue.rows == [2, 3] and issue.severity == "error"
    assert "2 rows have a cell longer than 10 characters (rows 2, 3; the longest has 12)" in issue.message


def test_long_cell_limit_defaults_to_the_parse_limit():
    table = parse_upload(b"input,output\nq,aaaaaaa\n", "x.csv", max_bytes=10**6, max_cell_chars=5)
    assert any("longer than 5 characters" in e for e in validate(table).validation_errors)


@pytest.mark.parametrize(
    "cell",
    ["=SUM(A1:A3)", "=1+2", '=HYPERLINK("http://evil","click")', "@SUM(1+1)", "+cmd|' /C calc'!A0",
     "-2+3+cmd|' /C calc'!A0", "+A1*2", "-B12+1", "\tleading tab", "\rleading cr", "= 5"],
)
def test_formula_like_cells_are_detected(cell):
    assert _FORMULA.match(cell)


@pytest.mark.parametrize(
    "cell",
    ["- a bullet point (with parens)", "-5 degrees", "+1 555 0100", "@alice thanks", "+ more", "-", "=", "a=SUM(1)",
     "@ home", "-- dashes", "+44 (0)20 7946 0000"],
)
def test_ordinary_text_is_not_a_formula(cell):
    report = validate(table_of({"input": [cell], "output": ["a"]}))
    assert not any(i.code == "FORMULA_CELLS" for i in report.issues)


def test_whitespace_set_matches_str_isspace():
    assert WHITESPACE == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}


def test_zero_rows_is_an_error_and_few_rows_a_warning():
    assert "The file has no data rows" in validate(table_of({"input": [], "output": []})).validation_errors[0]
    report = validate(table_of({"input": ["q"], "output": ["a"]}))
    assert report.ok and report.warnings == ["Only 1 row: at least 100 examples are recommended for fine-tuning."]


def test_column_stats_lengths_percentiles_and_token_estimate():
    lengths = list(range(1, 101))
    report = validate(table_of({"input": ["x" * n for n in lengths], "output": ["ab"] * 100, "note": [""] * 100}))
    stats = report.column_stats["input"]
    assert (stats.chars_min, stats.chars_max, stats.chars_mean, stats.chars_p50, stats.chars_p95) == (1, 100, 50.5, 50, 95)
    assert stats.tokens_est_total == sum((n + 3) // 4 for n in lengths)
    assert stats.tokens_est_max == 25 and stats.empty == 0
    assert report.column_stats["note"].empty == 100
    assert to_preview_dict(report)["column_stats"]["output"]["tokens_est_mean"] == 1.0


def test_parse_warnings_come_first_and_appear_in_issues():
    body = preview(b"INPUT,output\nq,a\n")
    assert body["warnings"][0] == "Column 'INPUT' was read as 'input' (changed to lower case)."
    assert body["issues"][0]["code"] == "COLUMN_RENAMED"


def test_error_preview_for_unreadable_files_uses_the_guide_shape():
    body = error_preview_dict("big.csv", PayloadTooLarge("File exceeds 50MB limit: it is 51MB."))
    assert GUIDE_KEYS <= body.keys()
    assert body["validation_errors"] == ["File exceeds 50MB limit: it is 51MB."]
    assert body["statistics"]["has_required_columns"] is False
    assert body["issues"][0]["code"] == "PAYLOAD_TOO_LARGE"


def test_validating_100k_rows_is_fast_and_finds_the_planted_problems():
    data = generated_csv(100_000, max_input_chars=60, max_output_chars=120)
    table = parse_upload(data, "big.csv", max_bytes=len(data))
    started = time.perf_counter()
    report = validate(table)
    elapsed = time.perf_counter() - started
    # generated_csv plants an empty output every 1009th row and repeats the previous row every 997th
    empty, duplicates = set(), set()
    for i in range(1, 100_001):
        if i % 997 == 0:
            (empty if i - 1 in empty else duplicates).add(i)
        elif i % 1009 == 0:
            empty.add(i)
    assert report.empty_rows == len(empty)
    assert report.duplicate_rows == len(duplicates)
    assert elapsed < 2.0, f"validate took {elapsed:.2f}s for 100k rows"
