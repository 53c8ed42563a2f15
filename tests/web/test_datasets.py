"""The Datasets stage in the browser, as the guide walks it: upload a CSV with errors (dropped on the page), see
each error with its row numbers, repair it, save it with name, description and tags, find it by tag, browse its
rows page by page, repair a saved dataset, edit it, use it, and delete one; a wrong header fixed by choosing the
file again. Screenshots of each state, an accessibility check on each page."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import uuid

from playwright.sync_api import expect

from tests.web.conftest import assert_accessible
from tests.web.helpers import client, csv_bytes, support_rows, upload_dataset

EMPTY_ROW, MISSING_OUTPUT = 5, 9  # 1-based data rows of the broken file


def broken_csv() -> tuple[bytes, list[dict[str, str]]]:
    good = support_rows(30)
    rows = good[: EMPTY_ROW - 1] + [{"input": "", "output": ""}] + good[EMPTY_ROW - 1 : MISSING_OUTPUT - 2]
    rows += [{"input": "Where is my parcel?", "output": ""}] + good[MISSING_OUTPUT - 2 :]
    return csv_bytes(rows), good


def tsv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["input", "output"], delimiter="\t")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def drop_file(page, target, name: str, data: bytes, mime: str = "text/csv") -> None:
    """Drops a file on `target` as a person dragging it from their desktop does."""
    transfer = page.evaluate_handle(
        """([name, b64, mime]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: mime }));
            return dt;
        }""",
        [name, base64.b64encode(data).decode(), mime],
    )
    target.dispatch_event("dragover", {"dataTransfer": transfer})
    target.dispatch_event("drop", {"dataTransfer": transfer})


def estimated_tokens(row: dict[str, str]) -> int:
    return math.ceil(len(row["input"]) / 4) + math.ceil(len(row["output"]) / 4)


def read_rows(suite, uid: str, offset: int, split: str = "SPLIT_TRAIN") -> list[dict]:
    with client(suite) as c:
        r = c.get(f"/v1/datasets/{uid}:rows", params={"split": split, "offset": offset, "batch_size": 1000})
        r.raise_for_status()
        return [row for line in r.text.splitlines() if line.strip() for row in json.loads(line).get("rows", [])]


def test_upload_with_errors_repair_save_and_browse_its_rows(page, suite, shots):
    tag = f"w1-{uuid.uuid4().hex[:6]}"
    data, good = broken_csv()
    page.goto("/datasets")
    page.get_by_role("link", name="Upload New Dataset").click()
    expect(page).to_have_url(suite.url + "/datasets/new")
    expect(page.get_by_role("heading", name="Upload a dataset")).to_be_visible()
    shots(page, "1-upload")
    assert_accessible(page)

    drop_file(page, page.get_by_test_id("dropzone"), "support.csv", data)
    results = page.get_by_role("list", name="Validation results")
    error = results.get_by_role("listitem").filter(has_text="EMPTY_ROWS")
    expect(error).to_contain_text(f"Rows {EMPTY_ROW}, {MISSING_OUTPUT}")
    expect(error).to_contain_text("Fill them in or remove them")
    table = page.get_by_role("table", name="First rows of support.csv")
    for row in (EMPTY_ROW, MISSING_OUTPUT):
        expect(table.get_by_role("row", name=re.compile(rf"^{row} \(has an error\)"))).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Save dataset")).to_be_disabled()
    expect(page.get_by_text("Fix the error above before saving.")).to_be_visible()
    shots(page, "2-errors-by-row")
    assert_accessible(page)

    page.get_by_role("button", name="Repair automatically").click()
    summary = page.get_by_role("status", name="What the repair changed")
    expect(summary).to_contain_text("32 rows before, 30 after")
    expect(summary).to_contain_text("Removed 2 empty rows")
    expect(page.get_by_text("No errors: the file can be saved")).to_be_visible()

    # Statistics over every row: the token histogram holds all 30, and the rows over a max length are counted.
    expect(page.get_by_role("figure", name="Estimated tokens per row (input + output)")).to_have_attribute("data-total", "30")
    estimates = [estimated_tokens(r) for r in good]
    length = page.get_by_label("Max sequence length (tokens)")
    length.fill("64")  # a bucket bound: exact
    over = sum(e > 64 for e in estimates)
    expect(page.get_by_test_id("truncation")).to_contain_text(re.compile(rf"^{over} of 30 rows \([\d.]+%\) have an estimated length over 64 tokens"))
    length.fill("60")  # inside the bucket 57-64: a range, with the nearest exact bounds
    expect(page.get_by_test_id("truncation")).to_contain_text(
        f"Between {over} and {sum(e > 56 for e in estimates)} of 30 rows")
    expect(page.get_by_test_id("truncation")).to_contain_text("counts exactly at 56 or 64")
    shots(page, "3-repaired-with-statistics")
    assert_accessible(page)

    page.get_by_label("Name").fill("Support (W1 test)")
    page.get_by_label("Tags").fill(f"support, {tag}")
    page.get_by_label("Description").fill("Customer support pairs, repaired at upload")
    page.get_by_label("Validation split (fraction of rows)").fill("0.2")
    expect(page.get_by_text("≈ 6 of 30 rows held out")).to_be_visible()
    page.get_by_role("button", name="Save dataset").click()

    expect(page).to_have_url(re.compile(r"/datasets/dataset_[\w]+$"))
    uid = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", name="Support (W1 test)", level=1)).to_be_visible()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_role("button", name="Train (24)")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Validation (6)")).to_be_enabled()

    # The row browser, page by page, showing what the rows stream holds.
    train = read_rows(suite, uid, 0)
    page.get_by_label("Rows per page").select_option("10")
    expect(page.get_by_text("Rows 1–10 of 24")).to_be_visible()
    page.get_by_role("button", name="Next rows").click()
    expect(page.get_by_text("Rows 11–20 of 24")).to_be_visible()
    browser_rows = page.get_by_role("table", name="Train rows 11 to 20")
    expect(browser_rows.get_by_role("row", name=re.compile(r"^11 "))).to_contain_text(train[10]["input"][:40])
    page.get_by_role("button", name="Next rows").click()
    expect(page.get_by_text("Rows 21–24 of 24")).to_be_visible()
    expect(page.get_by_role("button", name="Next rows")).to_be_disabled()
    page.get_by_role("button", name="Validation (6)").click()
    expect(page.get_by_text("Rows 1–6 of 6")).to_be_visible()
    validation = read_rows(suite, uid, 0, "SPLIT_VALIDATION")
    expect(page.get_by_role("table", name="Validation rows 1 to 6")).to_contain_text(validation[5]["output"][:40])
    shots(page, "4-saved-rows")
    assert_accessible(page)

    page.get_by_role("button", name="Use this dataset").click()
    expect(page).to_have_url(suite.url + "/models")
    expect(page.get_by_role("navigation", name="Workflow")).to_contain_text("Support (W1 test)")


def test_a_wrong_header_is_fixed_by_choosing_the_file_again(page, shots):
    page.goto("/datasets/new")
    rows = support_rows(12)
    wrong = csv_bytes(rows).replace(b"input,output", b"prompt,output", 1)
    picker = page.get_by_label("Choose a dataset file")
    picker.set_input_files({"name": "wrong.csv", "mimeType": "text/csv", "buffer": wrong})
    error = page.get_by_role("list", name="Validation results").get_by_role("listitem").filter(has_text="MISSING_COLUMN")
    expect(error).to_contain_text("Missing required 'input' column (found 'prompt': rename it to 'input')")
    expect(page.get_by_text("A repair cannot add a missing column")).to_be_visible()
    expect(page.get_by_role("button", name="Repair automatically")).to_have_count(0)
    shots(page, "1-missing-column")

    picker.focus()  # the picker is reachable from the keyboard, and shows where it is
    expect(picker).to_be_focused()
    picker.set_input_files({"name": "fixed.tsv", "mimeType": "text/tab-separated-values",
                            "buffer": tsv_bytes(rows)})
    expect(page.get_by_test_id("chosen-file")).to_have_text("fixed.tsv")
    expect(page.get_by_text('delimiter tab')).to_be_visible()
    expect(page.get_by_role("list", name="Validation results")).to_contain_text("FEW_ROWS")  # a warning only
    expect(page.get_by_role("button", name="Save dataset")).to_be_enabled()
    expect(page.get_by_label("Name")).to_have_value("fixed")
    shots(page, "2-fixed-file")
    assert_accessible(page)


def test_the_list_filters_by_tag_and_pages(page, suite, shots):
    tag = f"w1-list-{uuid.uuid4().hex[:6]}"
    rows = support_rows(4)
    for i in range(21):
        upload_dataset(suite, f"Paged {i:02d}", rows, tags=tag)
    upload_dataset(suite, "Untagged neighbour", rows)
    page.goto("/datasets")
    page.get_by_role("textbox", name="Tag").fill(tag)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"\?tag={tag}$"))
    expect(page.get_by_text(f"1–20 of 21 dataset(s) tagged “{tag}”")).to_be_visible()
    expect(page.get_by_role("link", name="Paged 20")).to_be_visible()  # newest first
    expect(page.get_by_role("link", name="Untagged neighbour")).to_have_count(0)
    shots(page, "1-by-tag")
    assert_accessible(page)
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_text(f"21–21 of 21 dataset(s) tagged “{tag}”")).to_be_visible()
    expect(page.get_by_role("link", name="Paged 00")).to_be_visible()
    page.get_by_role("button", name="Show all").click()
    expect(page.get_by_role("link", name="Untagged neighbour")).to_be_visible()
    shots(page, "2-all")


def test_repair_edit_and_delete_a_saved_dataset(page, suite, shots):
    rows = support_rows(20)
    long_outputs = sum(len(r["output"]) > 200 for r in rows)
    ds = upload_dataset(suite, "To repair", rows, tags="w1-repair")
    page.goto(f"/datasets/{ds['uid']}")
    page.get_by_label("Longest output (characters)").fill("200")
    page.get_by_label("Name of the repaired dataset").fill("Short answers")
    page.get_by_role("button", name="Repair into a new dataset").click()
    summary = page.get_by_role("status", name="What the repair changed")
    expect(summary).to_contain_text(f"20 rows before, {20 - long_outputs} after")
    expect(summary).to_contain_text(f"{long_outputs} rows")
    shots(page, "1-repaired")
    assert_accessible(page)
    page.get_by_role("link", name="Open Short answers").click()
    expect(page.get_by_role("heading", name="Short answers", level=1)).to_be_visible()
    expect(page.get_by_text(f"Repaired from {ds['uid']}")).to_be_visible()
    repaired_uid = page.url.rsplit("/", 1)[1]

    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Name", exact=True).fill("Short answers v2")
    page.get_by_role("textbox", name="Tags").fill("w1-repair, short")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Short answers v2", level=1)).to_be_visible()
    expect(page.get_by_role("list", name="Tags")).to_contain_text("short")
    shots(page, "2-edited")
    assert_accessible(page)

    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete “Short answers v2”?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    shots(page, "3-confirm-delete")
    assert_accessible(page)
    dialog.get_by_role("button", name="Delete dataset").click()
    expect(page).to_have_url(suite.url + "/datasets")
    expect(page.get_by_text("Deleted “Short answers v2”.")).to_be_visible()
    with client(suite) as c:
        assert c.get(f"/v1/datasets/{repaired_uid}").status_code == 404
        assert c.get(f"/v1/datasets/{ds['uid']}").status_code == 200  # the source stays
    page.goto(f"/datasets/{repaired_uid}")
    expect(page.get_by_role("alert")).to_contain_text(f"dataset 'datasets/{repaired_uid}' does not exist")
    expect(page.get_by_role("alert").get_by_role("button", name="Retry")).to_have_count(0)
    shots(page, "4-gone")
