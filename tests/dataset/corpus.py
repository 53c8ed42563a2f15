"""Uploads that go wrong in practice (and a few that go right), each with what the service must say.

Each `Case` is the bytes of one upload plus the expectation: either parsing fails with
`expect_error` (an ErrorInfo reason) of class `expect_error_class`, with `expect_message` in the
message; or parsing succeeds, and validation's errors and warnings contain the given phrases.
The domain tests and the gRPC tests both run over CASES. `generated_csv` builds large files.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
from dataclasses import dataclass, field

from services.common.errors import FinetuneError, InvalidArgument, PayloadTooLarge

MB = 2**20
DEFAULT_MAX_BYTES = 50 * MB


@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    data: bytes
    expect_error: str | None = None  # reason parsing must fail with; None: it must succeed
    expect_error_class: type[FinetuneError] = InvalidArgument
    expect_message: str = ""  # phrase in the error's message
    expect_in_errors: tuple[str, ...] = ()  # each phrase appears in some validation_errors entry
    expect_in_warnings: tuple[str, ...] = ()  # each phrase appears in some warning
    expect_valid: bool | None = None  # True: no validation_errors at all; False: some
    expect_columns: tuple[str, ...] | None = None  # normalised column names
    expect_rows: int | None = None
    expect_first_row: dict[str, str] | None = None
    expect_encoding: str | None = None
    expect_delimiter: str | None = None
    expect_format: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_cell_chars: int = 100_000
    tags: tuple[str, ...] = field(default=())

    def __str__(self) -> str:  # pytest ids
        return self.name


def csv_bytes(header, rows, *, delimiter=",", newline="\n", encoding="utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def qa_rows(n: int, start: int = 1) -> list[tuple[str, str]]:
    return [(f"What is {i} + {i}?", f"{i} + {i} is {2 * i}.") for i in range(start, start + n)]


def jsonl_bytes(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _png_junk() -> bytes:
    rnd = random.Random(7)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rnd.randrange(256) for _ in range(4000))


def _control_junk() -> bytes:
    rnd = random.Random(8)  # no NUL bytes, so only the control-character ratio can catch it
    return bytes(rnd.randrange(1, 32) for _ in range(3000))


_HEADER = ("input", "output")
_UNICODE_ROWS = [("Grüße aus Köln", "Viele Grüße!"), ("naïve café", "résumé — ok")]
_CHAT = [
    {"messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]},
    {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]},
]

CASES: list[Case] = [
    # ---- good files -------------------------------------------------------------------------
    Case("good_csv", "good.csv", csv_bytes(_HEADER, qa_rows(120)), expect_valid=True, expect_rows=120,
         expect_columns=_HEADER, expect_encoding="utf-8", expect_delimiter=",", expect_format="csv",
         expect_first_row={"input": "What is 1 + 1?", "output": "1 + 1 is 2."}),
    Case("extra_columns", "extra.csv", csv_bytes(("input", "output", "category"), [(q, a, "math") for q, a in qa_rows(3)]),
         expect_valid=True, expect_columns=("input", "output", "category")),
    Case("crlf_line_endings", "crlf.csv", csv_bytes(_HEADER, qa_rows(3), newline="\r\n"), expect_valid=True,
         expect_rows=3, expect_first_row={"input": "What is 1 + 1?", "output": "1 + 1 is 2."}),
    Case("quoted_newlines", "multi.csv",
         csv_bytes(_HEADER, [("line one\nline two", 'He said "hi", then left.'), ("a\r\nb", "c, d"), ("e", "f")]),
         expect_valid=True, expect_rows=3,
         expect_first_row={"input": "line one\nline two", "output": 'He said "hi", then left.'}),
    # ---- headers ------------------------------------------------------------------------------
    Case("missing_output_column", "noout.csv", csv_bytes(("input",), [("q1",), ("q2",)]),
         expect_in_errors=("Missing required 'output' column",), expect_valid=False),
    Case("output_named_completion", "prompt.csv", csv_bytes(("prompt", "completion"), qa_rows(2)),
         expect_in_errors=("Missing required 'input' column", "rename it to 'input'",
                           "Missing required 'output' column", "rename it to 'output'")),
    Case("headerless_csv", "nohead.csv", b"What is AI?,AI is a field of computer science.\nWhat is ML?,A part of AI.\n",
         expect_in_errors=("Missing required 'input' column", "the first row must be the header")),
    Case("bom_header", "bom.csv", codecs.BOM_UTF8 + csv_bytes(_HEADER, qa_rows(2)),
         expect_valid=True, expect_columns=_HEADER, expect_encoding="utf-8-sig"),
    Case("double_bom_header", "bom2.csv", codecs.BOM_UTF8 + "\ufeffinput,output\nq,a\n".encode("utf-8"),
         expect_valid=True, expect_columns=_HEADER, expect_in_warnings=("was read as 'input'", "byte-order mark")),
    Case("spaced_header", "spaced.csv", b" input , Output \nq,a\n", expect_valid=True, expect_columns=_HEADER,
         expect_in_warnings=("Column ' input ' was read as 'input'", "Column ' Output ' was read as 'output'")),
    Case("carriage_return_header", "cr.csv", b'input,"OUTPUT\r"\nq,a\n', expect_valid=True, expect_columns=_HEADER,
         expect_in_warnings=("was read as 'output'", "carriage return")),
    Case("upper_case_header", "upper.csv", b"INPUT,Output\nq,a\n", expect_valid=True, expect_columns=_HEADER,
         expect_in_warnings=("Column 'INPUT' was read as 'input'", "lower case")),
    Case("input_column_twice", "twice.csv", b"input,Input,output\na,b,c\n", expect_error="DUPLICATE_COLUMN",
         expect_message="both read as 'input'"),
    # ---- rows ---------------------------------------------------------------------------------
    Case("empty_rows", "empty.csv", csv_bytes(_HEADER, [("q1", "a1"), ("q2", "a2"), ("", ""), ("q4", "a4"), ("q5", "  ")]),
         expect_in_errors=("Found 2 empty rows (rows 3, 5)",), expect_valid=False),
    Case("duplicate_rows", "dups.csv", csv_bytes(_HEADER, qa_rows(3) + qa_rows(2)),
         expect_valid=True, expect_in_warnings=("Found 2 duplicate rows (rows 4, 5)", "row 4 repeats row 1")),
    Case("header_only", "header.csv", b"input,output\n", expect_in_errors=("no data rows",), expect_rows=0),
    Case("few_rows", "few.csv", csv_bytes(_HEADER, qa_rows(3)), expect_valid=True,
         expect_in_warnings=("Only 3 rows", "at least 100 examples")),
    Case("over_long_cell", "long.csv", csv_bytes(_HEADER, [("q", "a"), ("q2", "x" * 100_001)]),
         expect_in_errors=("longer than 100,000 characters (row 2",), expect_valid=False),
    Case("formula_cells", "formula.csv",
         csv_bytes(_HEADER, [("=HYPERLINK(\"http://x\")", "a"), ("- a bullet (fine)", "b"), ("q", "+cmd|' /C calc'!A0"),
                             ("@SUM(1+1)", "c"), ("-5 degrees", "d")]),
         expect_valid=True, expect_in_warnings=("Found 3 cells that a spreadsheet would run as formulas (rows 1, 3, 4",)),
    Case("trailing_delimiter", "trail.csv", b"input,output,\nq1,a1,\nq2,a2,\n", expect_valid=True,
         expect_columns=_HEADER, expect_in_warnings=("extra comma",)),
    Case("unnamed_column", "unnamed.csv", b"input,output,\nq1,a1,x\nq2,a2,\n", expect_valid=True,
         expect_columns=("input", "output", "unnamed_3"), expect_in_warnings=("Column 3 has no name",)),
    Case("trailing_delimiter_rows_only", "trail2.csv", b"input,output\nq1,a1,\nq2,a2,\n", expect_valid=True,
         expect_columns=_HEADER, expect_in_warnings=("extra comma",)),
    # ---- malformed CSV ------------------------------------------------------------------------
    Case("unclosed_quote", "quote.csv", b'input,output\nq1,a1\n"q2,a2\nq3,a3\n', expect_error="MALFORMED_CSV",
         expect_message="Line 3 opens a quoted cell"),
    Case("too_many_fields", "fields.csv", b'input,output\n"multi\nline",a\nq,a,extra\n', expect_error="MALFORMED_CSV",
         expect_message="Line 4 has 3 fields but the header has 2"),
    Case("unquoted_comma_first_row", "comma.csv", b"input,output\nWhat is 2,3?,a list\nq,a\n",
         expect_error="MALFORMED_CSV", expect_message="data row 1 has more fields"),
    # ---- delimiters ---------------------------------------------------------------------------
    Case("semicolon_delimiter", "semi.csv", csv_bytes(_HEADER, [("Hallo, Welt", "Hi"), ("a", "b")], delimiter=";"),
         expect_valid=True, expect_delimiter=";", expect_first_row={"input": "Hallo, Welt", "output": "Hi"}),
    Case("tab_delimiter", "data.tsv", csv_bytes(_HEADER, [("a, b", "c; d"), ("e", "f")], delimiter="\t"),
         expect_valid=True, expect_delimiter="\t", expect_first_row={"input": "a, b", "output": "c; d"}),
    Case("pipe_delimiter", "pipe.txt", csv_bytes(_HEADER, [("a, b", "c")], delimiter="|"), expect_valid=True,
         expect_delimiter="|"),
    Case("excel_sep_line", "sep.csv", b"sep=;\ninput;output\nq, 1;a\n", expect_valid=True, expect_delimiter=";",
         expect_first_row={"input": "q, 1", "output": "a"}),
    # ---- encodings ----------------------------------------------------------------------------
    Case("utf16_le_bom", "u16le.csv", csv_bytes(_HEADER, _UNICODE_ROWS, delimiter="\t", encoding="utf-16"),
         expect_valid=True, expect_encoding="utf-16-le", expect_delimiter="\t",
         expect_first_row={"input": "Grüße aus Köln", "output": "Viele Grüße!"}),
    Case("utf16_be_bom", "u16be.csv", codecs.BOM_UTF16_BE + csv_bytes(_HEADER, _UNICODE_ROWS, encoding="utf-16-be"),
         expect_valid=True, expect_encoding="utf-16-be", expect_first_row={"input": "Grüße aus Köln", "output": "Viele Grüße!"}),
    Case("utf16_le_no_bom", "u16.csv", csv_bytes(_HEADER, _UNICODE_ROWS, encoding="utf-16-le"),
         expect_valid=True, expect_encoding="utf-16-le", expect_rows=2),
    Case("utf16_be_no_bom", "u16b.csv", csv_bytes(_HEADER, _UNICODE_ROWS, encoding="utf-16-be"),
         expect_valid=True, expect_encoding="utf-16-be", expect_rows=2),
    Case("latin1", "latin.csv", csv_bytes(_HEADER, [("café crème", "naïve façade"), ("Ærø", "ß")], encoding="latin-1"),
         expect_valid=True, expect_encoding="cp1252", expect_first_row={"input": "café crème", "output": "naïve façade"},
         expect_in_warnings=("read as Windows-1252",)),
    Case("cp1252_smart_quotes", "win.csv", csv_bytes(_HEADER, [("“quoted” – dash", "€5")], encoding="cp1252"),
         expect_valid=True, expect_encoding="cp1252", expect_first_row={"input": "“quoted” – dash", "output": "€5"}),
    Case("cp1251_russian", "ru.csv", csv_bytes(_HEADER, [("Как сбросить пароль?", "Нажмите «Забыли пароль»"),
                                                      ("Где мой заказ?", "Проверьте статус в личном кабинете")], encoding="cp1251"),
         expect_valid=True, expect_encoding="cp1251", expect_in_warnings=("read as cp1251",),
         expect_first_row={"input": "Как сбросить пароль?", "output": "Нажмите «Забыли пароль»"}),
    Case("shift_jis_japanese", "ja.csv", csv_bytes(_HEADER, [("パスワードをリセットするには？", "ログインページで「パスワードを忘れた」を押してください")],
                                                   encoding="shift_jis"),
         expect_valid=True, expect_encoding="cp932", expect_in_warnings=("Japanese",),
         expect_first_row={"input": "パスワードをリセットするには？", "output": "ログインページで「パスワードを忘れた」を押してください"}),
    Case("gb18030_chinese", "zh.csv", csv_bytes(_HEADER, [("如何重置密码？", "请在登录页面点击忘记密码"), ("我的订单在哪里？", "您可以在账户页面查看订单状态"),
                                                      ("退货政策是什么？", "购买后三十天内可以退货")], encoding="gb18030"),
         expect_valid=True, expect_encoding="gb18030", expect_first_row={"input": "如何重置密码？", "output": "请在登录页面点击忘记密码"}),
    Case("utf8_with_stray_byte", "stray.csv", csv_bytes(_HEADER, _UNICODE_ROWS) + b"caf\xe9,ok\n",
         expect_valid=True, expect_encoding="utf-8", expect_in_warnings=("replaced",),
         expect_first_row={"input": "Grüße aus Köln", "output": "Viele Grüße!"}),
    # ---- not a table at all -------------------------------------------------------------------
    Case("empty_file", "empty.csv", b"", expect_error="EMPTY_FILE", expect_message="file is empty"),
    Case("whitespace_only", "blank.csv", b"\n \r\n\t\n", expect_error="EMPTY_FILE", expect_message="file is empty"),
    Case("bom_only", "bomonly.csv", codecs.BOM_UTF8, expect_error="EMPTY_FILE", expect_message="file is empty"),
    Case("binary_png", "image.csv", _png_junk(), expect_error="BINARY_FILE", expect_message="PNG"),
    Case("xlsx_upload", "book.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64 + b"[Content_Types].xml",
         expect_error="BINARY_FILE", expect_message="save it as CSV"),
    Case("control_characters", "junk.csv", _control_junk(), expect_error="BINARY_FILE",
         expect_message="control characters"),
    Case("too_large", "big.csv", csv_bytes(_HEADER, qa_rows(40_000)), max_bytes=MB,
         expect_error="PAYLOAD_TOO_LARGE", expect_error_class=PayloadTooLarge, expect_message="File exceeds 1MB limit"),
    # ---- JSON ---------------------------------------------------------------------------------
    Case("jsonl_good", "data.jsonl",
         jsonl_bytes([{"input": "q1", "output": "a1", "id": 1}, {"input": "q2", "output": "a2", "id": 2}]),
         expect_valid=True, expect_format="jsonl", expect_columns=("input", "output", "id"),
         expect_first_row={"input": "q1", "output": "a1", "id": "1"}),
    Case("jsonl_bad_line", "bad.jsonl", b'{"input": "q1", "output": "a1"}\n\n{"input": "q2", "output": }\n',
         expect_error="MALFORMED_JSON", expect_message="Line 3 is not valid JSON"),
    Case("jsonl_not_object", "list.jsonl", b'{"input": "q1", "output": "a1"}\n["q2", "a2"]\n',
         expect_error="INVALID_RECORD", expect_message="Line 2 holds a JSON list"),
    Case("jsonl_chat", "chat.jsonl", jsonl_bytes(_CHAT), expect_valid=True, expect_format="jsonl", expect_rows=2,
         expect_first_row={"input": "You are terse.\n\nCapital of France?", "output": "Paris."}),
    Case("jsonl_chat_bad_role", "role.jsonl", jsonl_bytes([{"messages": [{"role": "bot", "content": "x"}]}]),
         expect_error="INVALID_RECORD", expect_message="role 'bot'"),
    Case("jsonl_chat_no_assistant", "noasst.jsonl",
         jsonl_bytes(_CHAT + [{"messages": [{"role": "user", "content": "hello?"}]}]),
         expect_in_warnings=("no 'assistant' message",), expect_in_errors=("Found 1 empty row (row 3)",)),
    Case("jsonl_upper_keys", "keys.jsonl", jsonl_bytes([{"Input": "q", "OUTPUT": "a"}]), expect_valid=True,
         expect_columns=_HEADER, expect_in_warnings=("Column 'Input' was read as 'input'",)),
    Case("json_list", "data.json", json.dumps([{"input": "q1", "output": "a1"}, {"input": "q2", "output": None}]).encode(),
         expect_format="json", expect_in_errors=("Found 1 empty row (row 2)",)),
    Case("jsonl_named_csv", "data.csv", jsonl_bytes([{"input": "q", "output": "a"}]), expect_valid=True,
         expect_format="jsonl", expect_in_warnings=("read as JSONL",)),
    # Nested past what json, pandas and protobuf recurse through (once a RecursionError, a 500).
    Case("jsonl_nested_100k_deep", "deep.jsonl", b'{"input": "q", "output": "a"}\n{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b', "output": "a"}\n',
         expect_error="JSON_TOO_DEEP", expect_message="Line 2 nests objects or lists more than 32 levels deep"),
    Case("jsonl_nested_40_deep", "deep40.jsonl", b'{"input": ' + b"[" * 40 + b"]" * 40 + b', "output": "a"}\n',
         expect_error="JSON_TOO_DEEP", expect_message="Line 1 nests"),
    Case("json_nested_100k_deep", "deep.json", b"[" * 100_000 + b"]" * 100_000,
         expect_error="JSON_TOO_DEEP", expect_message="The JSON document nests objects or lists more than 32"),
    Case("json_nested_value_kept_as_text", "nested.json", b'[{"input": {"a": [1, {"b": 2}]}, "output": "a"}]',
         expect_valid=True, expect_first_row={"input": '{"a":[1,{"b":2}]}', "output": "a"}),
    # JSON can escape half a UTF-16 surrogate pair; no UTF-8 text holds it (once an encoding error, a 500).
    Case("jsonl_lone_surrogate", "lone.jsonl", b'{"input": "q", "output": "a"}\n{"input": "bad \\ud800 text", "output": "a"}\n',
         expect_error="INVALID_TEXT", expect_message="Line 2 holds the escape \\ud800 on its own"),
    Case("json_lone_low_surrogate_in_a_key", "lone.json", b'[{"input": "q", "output": "a", "\\udfff": "x"}]',
         expect_error="INVALID_TEXT", expect_message="Item 1 holds the escape \\udfff"),
    Case("jsonl_surrogate_pair_is_a_character", "pair.jsonl", b'{"input": "smile \\ud83d\\ude00", "output": "a"}\n',
         expect_valid=True, expect_first_row={"input": "smile \U0001f600", "output": "a"}),
]

CASES_BY_NAME = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "case names must be unique"


def case(name: str) -> Case:
    return CASES_BY_NAME[name]


# ---- large generated files --------------------------------------------------------------------

_WORDS = (
    "the model learns from data , and \"quoted\" words ; with line\nbreaks plus training loss gradient token "
    "batch epoch answer question café naïve — 🙂 résumé optimizer schedule warmup checkpoint adapter rank"
).split(" ")


def generated_csv(
    rows: int,
    *,
    seed: int = 0,
    max_input_chars: int = 400,
    max_output_chars: int = 2000,
    duplicate_every: int = 997,
    empty_every: int = 1009,
) -> bytes:
    """A UTF-8 CSV with `rows` data rows of mixed-length text containing commas, quotes, line breaks
    inside quoted cells and some non-ASCII; every `duplicate_every`-th row repeats the previous one
    and every `empty_every`-th row has an empty output, so every check has something to find."""
    rnd = random.Random(seed)
    blob = " ".join(rnd.choice(_WORDS) for _ in range(200_000))  # slices of it are the cell texts
    top = len(blob) - max(max_input_chars, max_output_chars)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["input", "output"])
    previous = ("", "")
    for i in range(1, rows + 1):
        if duplicate_every and i % duplicate_every == 0:
            row = previous
        else:
            start, n_in = rnd.randrange(top), rnd.randint(10, max_input_chars)
            out_start, n_out = rnd.randrange(top), int(rnd.triangular(5, max_output_chars, max_output_chars / 6))
            output = "" if empty_every and i % empty_every == 0 else blob[out_start : out_start + n_out]
            row = (f"Q{i}: {blob[start : start + n_in]}", output)
        writer.writerow(row)
        previous = row
    return buf.getvalue().encode("utf-8")


def generated_csv_of_size(target_bytes: int, *, seed: int = 0) -> bytes:
    """generated_csv grown to about `target_bytes` (within a few percent)."""
    probe = generated_csv(2000, seed=seed)
    rows = max(1, int(2000 * target_bytes / len(probe)))
    return generated_csv(rows, seed=seed)
