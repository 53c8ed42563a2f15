"""`finetune datasets ...` against a real dataset service in process."""

from __future__ import annotations

import json

from tests.cli.conftest import EXAMPLES, assert_clean_failure

SAMPLE = EXAMPLES / "customer_support.csv"


def test_upload_prints_preview_then_saves_and_list_show_find_it(dataset_and_catalog, finetune):
    result = finetune("datasets", "upload", str(SAMPLE), "--name", "Customer Support Q&A", "--tag", "support", "--validation-fraction", "0.1")
    assert result.exit_code == 0, result.output
    assert "customer_support.csv: 160 rows, 2 columns, csv" in result.stdout
    assert "How do I reset my password?" in result.stdout  # the preview table
    assert "ready to save" in result.stdout
    uid = result.stdout.strip().splitlines()[-1].removeprefix("saved dataset ")
    assert uid.startswith("dataset_"), result.stdout

    listed = finetune("datasets", "list")
    assert listed.exit_code == 0 and uid in listed.stdout and "Customer Support Q&A" in listed.stdout and "144+16" in listed.stdout

    shown = finetune("--json", "datasets", "show", uid)
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert (body["uid"], body["train_rows"], body["validation_rows"], body["tags"]) == (uid, "144", "16", ["support"])
    assert finetune("datasets", "show", f"datasets/{uid}").exit_code == 0


def test_bad_file_shows_validation_errors_and_saves_nothing(dataset_and_catalog, finetune, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nhello,world\n")
    result = finetune("datasets", "upload", str(bad))
    assert_clean_failure(result, "VALIDATION_FAILED", code=1)
    assert "validation errors" in result.stdout and "output" in result.stdout  # the preview still shows
    assert "no datasets yet" in finetune("datasets", "list").stdout


def test_unreadable_input_is_one_clear_line(dataset_and_catalog, finetune, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_clean_failure(finetune("datasets", "preview", str(empty)), "(EMPTY_FILE)", code=1)
    assert_clean_failure(finetune("datasets", "upload", str(tmp_path / "missing.csv")), "no such file", code=2)
    assert_clean_failure(finetune("datasets", "show", "dataset_0_nothere"), "NOT_FOUND", code=1)


def test_unreachable_service_says_what_to_start(finetune):
    result = finetune("datasets", "list", env={"FINETUNE_DATASET_ADDRESS": "127.0.0.1:9"})
    assert_clean_failure(result, "cannot reach the dataset service at 127.0.0.1:9", code=1)
    assert "make run" in result.stderr and "(SERVICE_UNAVAILABLE)" in result.stderr


def test_the_api_token_is_sent_as_bearer_metadata(services, make_settings, finetune):
    services.start("dataset", make_settings("dataset", api_token="s3cret"))
    assert_clean_failure(finetune("datasets", "list"), "(UNAUTHENTICATED)", code=1)
    assert finetune("datasets", "list", env={"FINETUNE_API_TOKEN": "s3cret"}).exit_code == 0
    assert finetune("--token", "s3cret", "datasets", "list").exit_code == 0
