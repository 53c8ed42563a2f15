"""Repair (the guide's clean-up) and the canonical CSV the store keeps."""

from __future__ import annotations

import pandas as pd
import pytest

from services.common.errors import InvalidArgument
from services.dataset.canonical import canonical_columns, read_canonical_csv, to_canonical_csv
from services.dataset.parsing import parse_upload
from services.dataset.repair import repair
from services.dataset.validation import validate
from tests.dataset.corpus import generated_csv


def frame(rows: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype=str)


def test_repair_strips_drops_empty_and_duplicate_rows_and_reports_counts():
    original = frame({
        "input": [" q1 ", "q1", "", "q3", "q4", "q4"],
        "output": ["a1", "a1\n", "a", "  ", "a4", "a4"],
        "note": [" keep ", "", "", "", "", ""],
    })
    before = original.copy()
    cleaned, report = repair(original)
    assert cleaned.to_dict("records") == [
        {"input": "q1", "output": "a1", "note": " keep "},
        {"input": "q4", "output": "a4", "note": ""},
    ]
    assert list(cleaned.index) == [0, 1]
    assert (report.rows_before, report.rows_after) == (6, 2)
    assert (report.rows_stripped, report.empty_dropped, report.duplicates_dropped) == (3, 2, 2)
    assert report.repairs == [
        "Stripped whitespace around the input or output in 3 rows",
        "Removed 2 empty rows",
        "Removed 2 duplicate rows",
    ]
    pd.testing.assert_frame_equal(original, before)  # the caller's frame is untouched


def test_repair_length_filters_follow_the_guides_bounds():
    table = frame({"input": ["short", "long enough input", "x" * 3000, "fine input here"],
                   "output": ["answer", "answer", "answer", "ok"]})
    cleaned, report = repair(table, min_input_chars=10, max_input_chars=2048, min_output_chars=5, max_output_chars=1024)
    assert cleaned["input"].tolist() == ["long enough input"]
    assert report.length_dropped == {"input_too_short": 1, "input_too_long": 1, "output_too_short": 1, "output_too_long": 0}
    assert "Removed 1 row with input shorter than 10 characters" in report.repairs
    assert "Removed 1 row with output shorter than 5 characters" in report.repairs
    assert report.to_dict()["rows_after"] == 1


def test_repair_steps_can_be_turned_off():
    table = frame({"input": [" q ", " q ", ""], "output": ["a", "a", ""]})
    cleaned, report = repair(table, strip=False, drop_empty=False, drop_duplicates=False)
    assert cleaned.equals(table) and report.repairs == [] and not report.changed


def test_repair_accepts_a_parsed_table_and_its_result_validates_clean():
    data = generated_csv(3000, max_input_chars=50, max_output_chars=80)
    table = parse_upload(data, "x.csv", max_bytes=len(data))
    assert validate(table).empty_rows > 0
    cleaned, report = repair(table)
    table.frame = cleaned
    after = validate(table)
    assert after.ok and after.empty_rows == 0 and after.duplicate_rows == 0
    assert report.rows_after == len(cleaned) == report.rows_before - report.empty_dropped - report.duplicates_dropped


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        ({"min_input_chars": 10, "max_input_chars": 5}, "minimum input length (10) is greater than the maximum (5)"),
        ({"max_output_chars": -1}, "whole number of characters >= 0"),
        ({"min_output_chars": 2.5}, "whole number of characters >= 0"),
    ],
)
def test_repair_rejects_impossible_bounds(kwargs, phrase):
    with pytest.raises(InvalidArgument) as info:
        repair(frame({"input": ["q"], "output": ["a"]}), **kwargs)
    assert info.value.reason == "INVALID_REPAIR_OPTIONS" and phrase in info.value.message


def test_repair_needs_both_columns():
    with pytest.raises(InvalidArgument) as info:
        repair(frame({"input": ["q"]}))
    assert info.value.reason == "MISSING_COLUMN" and "'output'" in info.value.message


TRICKY = frame({
    "category": ["x", "y", "z", "w"],
    "output": ["bare\rcarriage return", 'quote " and, comma', "", "NA"],
    "input": ["line\nbreak", "crlf\r\nbreak", "  spaced  ", "\u2028 and é 🙂"],
})


def test_canonical_csv_round_trips_every_cell_and_orders_columns():
    data = to_canonical_csv(TRICKY)
    assert data.startswith(b'"input","output","category"\n')
    back = read_canonical_csv(data)
    assert list(back.columns) == ["input", "output", "category"]
    pd.testing.assert_frame_equal(back, TRICKY[["input", "output", "category"]].reset_index(drop=True))


def test_canonical_csv_is_deterministic_and_header_only_reads_back_empty():
    assert to_canonical_csv(TRICKY) == to_canonical_csv(TRICKY.copy())
    empty = read_canonical_csv(to_canonical_csv(frame({"input": [], "output": []})))
    assert list(empty.columns) == ["input", "output"] and len(empty) == 0
    assert canonical_columns(["b", "output", "a", "input"]) == ["input", "output", "b", "a"]


def test_canonical_csv_of_a_parsed_upload_reparses_to_the_same_table():
    data = generated_csv(2000, max_input_chars=50, max_output_chars=200)
    table = parse_upload(data, "x.csv", max_bytes=len(data))
    canonical = to_canonical_csv(table.frame)
    again = parse_upload(canonical, "x.csv", max_bytes=len(canonical))
    pd.testing.assert_frame_equal(again.frame, table.frame)
    assert again.notices == []


def test_canonical_csv_needs_both_columns():
    with pytest.raises(InvalidArgument) as info:
        to_canonical_csv(frame({"input": ["q"]}))
    assert info.value.reason == "MISSING_COLUMN"
