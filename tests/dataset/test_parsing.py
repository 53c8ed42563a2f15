"""Reading uploads: encodings, formats, delimiters, headers, and the errors for what cannot be read."""

from __future__ import annotations

import codecs
import json

import pytest

from services.common.errors import InvalidArgument, PayloadTooLarge
from services.dataset.csv_table import physical_line, sniff_delimiter
from services.dataset.encoding import decode_upload
from services.dataset.headers import normalise_columns
from services.dataset.parsing import CSV, JSON, JSONL, detect_format, format_size, parse_upload
from tests.dataset.corpus import CASES, case, csv_bytes, generated_csv, jsonl_bytes, qa_rows

ERROR_CASES = [c for c in CASES if c.expect_error]
READABLE_CASES = [c for c in CASES if not c.expect_error]


def parse(c):
    return parse_upload(c.data, c.filename, max_bytes=c.max_bytes, max_cell_chars=c.max_cell_chars)


@pytest.mark.parametrize("c", ERROR_CASES, ids=str)
def test_unreadable_upload_is_refused_with_a_reason_and_a_fix(c):
    with pytest.raises(c.expect_error_class) as info:
        parse(c)
    assert info.value.reason == c.expect_error
    assert c.expect_message in info.value.message
    assert len(info.value.message) > 40, "the message must tell a person what to do"


@pytest.mark.parametrize("c", READABLE_CASES, ids=str)
def test_readable_upload_is_parsed_as_expected(c):
    table = parse(c)
    assert all(isinstance(v, str) for col in table.frame.columns for v in table.frame[col].head(50))
    assert table.columns == list(table.frame.columns)
    if c.expect_columns is not None:
        assert table.columns == list(c.expect_columns)
    if c.expect_rows is not None:
        assert len(table.frame) == c.expect_rows
    if c.expect_encoding is not None:
        assert table.encoding == c.expect_encoding
    if c.expect_delimiter is not None:
        assert table.delimiter == c.expect_delimiter
    if c.expect_format is not None:
        assert table.format == c.expect_format
    if c.expect_first_row is not None:
        assert table.frame.iloc[0].to_dict() == c.expect_first_row


def test_size_limit_names_the_limit_in_megabytes():
    limit = 50 * 2**20
    with pytest.raises(PayloadTooLarge) as info:
        parse_upload(b"x" * (limit + 1), "big.csv", max_bytes=limit)
    assert info.value.message.startswith("File exceeds 50MB limit")
    assert info.value.metadata["limit_bytes"] == str(limit)
    assert format_size(512 * 1024) == "512KB" and format_size(int(2.5 * 2**20)) == "2.5MB"


def test_malformed_csv_errors_name_the_physical_line_after_multiline_cells():
    data = b'input,output\r\n"a\r\nb\r\nc",x\r\n\r\nq,a\r\nq,a,b\r\n'
    with pytest.raises(InvalidArgument) as info:
        parse_upload(data, "x.csv", max_bytes=10**6)
    assert info.value.metadata["line"] == "7"
    assert "Line 7 has 3 fields" in info.value.message


def test_physical_line_counts_line_breaks_inside_quotes():
    data = b'h1,h2\n"1\n2\n3",x\ny,z\n'
    assert physical_line(data, 0, ",") == 1
    assert physical_line(data, 1, ",") == 2
    assert physical_line(data, 2, ",") == 5


@pytest.mark.parametrize(
    "sample, preferred, expected",
    [
        ("input,output\na,b\n", None, ","),
        ("input;output\nHallo, Welt;Hi\nx, y;z\n", None, ";"),
        ("question\tanswer\na, b\tc\nd\te\n", None, "\t"),
        ("a|b|c\n1|2|3\n4|5|6\n", None, "|"),
        ("single column\nrow one\n", None, ","),
        ("single column\nrow one\n", "\t", "\t"),
        ('q;a\n"x;y";z\n"1;2";3\n', None, ";"),
    ],
)
def test_sniff_delimiter(sample, preferred, expected):
    assert sniff_delimiter(sample, preferred=preferred) == expected


@pytest.mark.parametrize(
    "filename, sample, expected, warns",
    [
        ("a.csv", "input,output\n", CSV, False),
        ("a.jsonl", '{"input": 1}\n', JSONL, False),
        ("a.json", "[{}]", JSON, False),
        ("a.json", '{"input": 1}\n{"input": 2}\n', JSONL, False),
        ("a.txt", '{"input": 1}\n', JSONL, False),
        ("noext", "input,output\n", CSV, False),
        ("a.csv", '{"input": 1}\n', JSONL, True),
        ("a.jsonl", "input,output\n", CSV, True),
        ("a.csv", "[input],[output]\n[q],[a]\n", CSV, False),
        ("a.txt", "{input},{output}\n", CSV, False),
        ("a.txt", '[\n  {"input": 1}\n]', JSON, False),
        ("a.txt", '[{"input": 1},\n{"input": 2}]', JSON, False),
    ],
)
def test_detect_format_trusts_content_and_warns_on_a_misleading_extension(filename, sample, expected, warns):
    fmt, notices = detect_format(filename, sample)
    assert fmt == expected
    assert bool(notices) == warns


def test_header_normalisation_reports_each_change():
    names, notices = normalise_columns(["\ufeffInput", " OUTPUT\r", "Category ", "", "tag", "tag"])
    assert names == ["input", "output", "Category", "unnamed_4", "tag", "tag_2"]
    messages = " | ".join(n.message for n in notices)
    assert "Column '\\ufeffInput' was read as 'input'" in messages
    assert (
        "Column ' OUTPUT\\r' was read as 'output' "
        "(removed surrounding whitespace and a carriage return; changed to lower case)"
    ) in messages
    assert "repeats the name 'tag'" in messages
    assert all(n.severity == "warning" for n in notices)


def test_clean_header_has_no_warnings():
    names, notices = normalise_columns(["input", "output", "Category"])
    assert names == ["input", "output", "Category"] and notices == []


@pytest.mark.parametrize(
    "data, encoding",
    [
        (codecs.BOM_UTF32_LE + "input,output\n".encode("utf-32-le"), "utf-32-le"),
        (codecs.BOM_UTF32_BE + "input,output\n".encode("utf-32-be"), "utf-32-be"),
        ("input,output\nä,b\n".encode("utf-8"), "utf-8"),
        (b"input,output\n", "utf-8"),
    ],
)
def test_decode_upload_detects_encodings(data, encoding):
    decoded = decode_upload(data)
    assert decoded.encoding == encoding
    assert decoded.utf8.decode("utf-8").lstrip("\ufeff").startswith("input,output")


def test_invalid_utf16_is_refused_with_the_encoding_named():
    with pytest.raises(InvalidArgument) as info:
        decode_upload(codecs.BOM_UTF16_LE + "input".encode("utf-16-le") + b"\x00\xd8")  # lone surrogate
    assert info.value.reason == "UNSUPPORTED_ENCODING"
    assert "UTF-16-LE" in info.value.message and "UTF-8" in info.value.message


def test_utf8_bom_with_invalid_bytes_is_refused():
    with pytest.raises(InvalidArgument) as info:
        parse_upload(codecs.BOM_UTF8 + b"input,output\n\xff\xfe,x\n", "x.csv", max_bytes=10**6)
    assert info.value.reason == "UNSUPPORTED_ENCODING"
    assert "byte 16" in info.value.message


def test_utf8_is_assumed_then_checked_by_the_parser():
    data = "input,output\ncafé,x\n".encode("latin-1")
    assert decode_upload(data).verified is False
    assert decode_upload(data, trust_utf8=False).encoding == "cp1252"
    assert parse_upload(data, "x.csv", max_bytes=10**6).encoding == "cp1252"
    assert decode_upload("é".encode("utf-8"), trust_utf8=False).verified is True


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1():
    decoded = decode_upload("input,output\ncafé,x\n".encode("latin-1") + b"\x81\n", trust_utf8=False)
    assert decoded.encoding == "latin-1"
    assert "Latin-1" in decoded.notices[0].message


def test_latin_script_code_pages_are_not_guessed_beyond_cp1252():
    """Polish in cp1250 is read as cp1252/Latin-1 with a warning, never as some other guess."""
    decoded = decode_upload("input,output\nZażółć gęślą jaźń,Źdźbło łąki\n".encode("cp1250"), trust_utf8=False)
    assert decoded.encoding in ("cp1252", "latin-1") and decoded.notices[0].code == "ENCODING_CONVERTED"


def test_a_non_latin_code_page_is_found_after_a_long_ascii_start():
    text = "input,output\n" + "hello,world\n" * 3000 + "Привет,мир\n"
    decoded = decode_upload(text.encode("cp1251"), trust_utf8=False)
    assert (decoded.encoding, decoded.utf8.decode("utf-8")) == ("cp1251", text)


def test_a_few_control_characters_do_not_make_a_file_binary():
    table = parse_upload(b"input,output\nq\x0c,a\x1a\n", "x.csv", max_bytes=10**6)
    assert table.frame.iloc[0].to_dict() == {"input": "q\x0c", "output": "a\x1a"}


def test_json_values_become_text():
    data = jsonl_bytes([{"input": 1.5, "output": True, "meta": {"k": [1, "é"]}, "none": None}])
    row = parse_upload(data, "x.jsonl", max_bytes=10**6).frame.iloc[0].to_dict()
    assert row == {"input": "1.5", "output": "true", "meta": '{"k":[1,"é"]}', "none": ""}


def test_jsonl_records_with_different_keys_fill_missing_cells_with_empty_strings():
    data = jsonl_bytes([{"input": "q", "output": "a"}, {"input": "q2", "output": "a2", "source": "web"}])
    frame = parse_upload(data, "x.jsonl", max_bytes=10**6).frame
    assert list(frame.columns) == ["input", "output", "source"]
    assert frame["source"].tolist() == ["", "web"]


def test_chat_conversion_rule_for_multi_turn_records():
    record = {
        "id": "c1",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": "Bye"}, {"type": "text", "text": " now"}]},
            {"role": "assistant", "content": "Goodbye"},
        ],
    }
    table = parse_upload(jsonl_bytes([record]), "chat.jsonl", max_bytes=10**6)
    assert table.frame.iloc[0].to_dict() == {"id": "c1", "input": "Be brief.\n\nHi\n\nBye now", "output": "Goodbye"}
    assert any("several assistant turns" in w and "line 1" in w for w in table.warnings)


def test_chat_message_without_role_is_an_error_naming_the_line():
    data = jsonl_bytes([{"input": "q", "output": "a"}, {"messages": [{"content": "x"}]}])
    with pytest.raises(InvalidArgument) as info:
        parse_upload(data, "x.jsonl", max_bytes=10**6)
    assert info.value.reason == "INVALID_RECORD" and "Line 2: message 1" in info.value.message


def test_json_document_that_is_not_a_list_is_refused():
    with pytest.raises(InvalidArgument) as info:
        parse_upload(b'[{"input": "q", "output": "a"}, 3]', "x.json", max_bytes=10**6)
    assert "Item 2 holds a JSON number, not an object" in info.value.message


def test_json_document_syntax_error_names_the_line():
    with pytest.raises(InvalidArgument) as info:
        parse_upload(b'[\n{"input": "q", "output": "a"},\n{"input": }\n]', "x.json", max_bytes=10**6)
    assert info.value.reason == "MALFORMED_JSON" and "Line 3" in info.value.message


def test_jsonl_line_holding_two_values_is_named():
    data = b'{"input": "q", "output": "a"}\n1, 2\n'
    with pytest.raises(InvalidArgument) as info:
        parse_upload(data, "x.jsonl", max_bytes=10**6)
    assert info.value.reason == "MALFORMED_JSON" and "Line 2" in info.value.message


def test_chat_warnings_in_a_json_list_name_items():
    data = json.dumps([{"messages": [{"role": "user", "content": "hi"}]}]).encode()
    table = parse_upload(data, "x.json", max_bytes=10**6)
    assert any("(item 1) has no 'assistant' message" in w for w in table.warnings)


def test_unicode_line_separator_inside_a_json_string_is_not_a_line_break():
    data = jsonl_bytes([{"input": "a\u2028b", "output": "c"}])
    assert parse_upload(data, "x.jsonl", max_bytes=10**6).frame.iloc[0]["input"] == "a\u2028b"


def test_blank_lines_between_csv_rows_are_skipped():
    table = parse_upload(b"input,output\n\nq1,a1\n\n\nq2,a2\n", "x.csv", max_bytes=10**6)
    assert table.frame.to_dict("records") == [{"input": "q1", "output": "a1"}, {"input": "q2", "output": "a2"}]


def test_values_pandas_would_turn_into_nan_stay_text():
    data = csv_bytes(("input", "output"), [("NA", "null"), ("None", "#N/A"), ("nan", "")])
    table = parse_upload(data, "x.csv", max_bytes=10**6)
    assert table.frame.to_dict("records") == [
        {"input": "NA", "output": "null"},
        {"input": "None", "output": "#N/A"},
        {"input": "nan", "output": ""},
    ]


def test_generated_100k_rows_parse_with_quotes_and_newlines_intact():
    data = generated_csv(100_000, max_input_chars=60, max_output_chars=120)
    table = parse_upload(data, "big.csv", max_bytes=len(data))
    assert len(table.frame) == 100_000
    assert table.frame["input"].str.startswith("Q").all()
    assert table.frame["output"].str.contains("\n", regex=False).any()
    assert table.frame["output"].str.contains('"', regex=False).any()


def test_corpus_case_lookup():
    assert case("good_csv").filename == "good.csv"
    assert len(qa_rows(3)) == 3
    assert json.loads(jsonl_bytes([{"a": 1}]))["a"] == 1
