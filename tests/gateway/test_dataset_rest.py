"""The dataset service through the gateway: the guide's preview and save, and the standard methods by path."""

from __future__ import annotations

import json

from tests.gateway.conftest import CSV, upload


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "reason", "message", "metadata"} <= set(body["error"]), body
    return body["error"]


def test_preview_csv_answers_the_guides_json(client):
    r = client.post("/api/preview-csv", files={"file": ("dataset.csv", CSV, "text/csv")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"filename", "columns", "data", "validation_errors", "statistics"} <= set(body)
    assert body["filename"] == "dataset.csv" and body["columns"] == ["input", "output"]
    assert body["data"][0] == {"input": "What is ML?", "output": "Machine learning is a subset of AI."}
    assert body["validation_errors"] == []  # present even when empty, as in the guide
    stats = body["statistics"]
    assert (stats["total_rows"], stats["total_columns"], stats["has_required_columns"]) == (3, 2, True)
    assert isinstance(stats["total_rows"], int)  # a number, not proto3 JSON's int64 string


def test_preview_lists_validation_errors_of_a_file_missing_a_column(client):
    r = client.post("/v1/datasets:preview", files={"file": ("d.csv", b"input,answer\na,b\n", "text/csv")})
    assert r.status_code == 200
    body = r.json()
    assert body["statistics"]["has_required_columns"] is False
    assert any("output" in e for e in body["validation_errors"])


def test_unreadable_file_is_400_with_code_reason_and_message(client):
    r = client.post("/api/preview-csv", files={"file": ("d.csv", b"", "text/csv")})
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "INVALID_ARGUMENT" and err["reason"] == "EMPTY_FILE" and err["message"]


def test_file_over_the_upload_limit_is_413(client):
    big = b"input,output\n" + b"x" * 40 + b",y\n" + b"q,a\n" * 300_000  # ~1.2 MB, over the 1 MB limit
    r = client.post("/api/preview-csv", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413
    err = error_of(r)
    assert (err["code"], err["reason"]) == ("RESOURCE_EXHAUSTED", "PAYLOAD_TOO_LARGE")
    assert err["metadata"]["limit_bytes"] == str(1024 * 1024)


def test_gateway_refuses_a_body_over_its_own_limit_before_reading_it(make_client):
    client = make_client({"FINETUNE_GATEWAY_MAX_UPLOAD_MB": "1"})
    r = client.post("/api/preview-csv", files={"file": ("big.csv", b"a" * (2 * 1024 * 1024), "text/csv")})
    assert r.status_code == 413
    assert "FINETUNE_GATEWAY_MAX_UPLOAD_MB" in error_of(r)["message"]


def test_save_get_list_patch_delete(client):
    r = upload(client, name="Customer Support Q&A", description="pairs", tags="support, faq", validation_fraction="0.34", seed="7")
    assert r.status_code == 200, r.text
    saved = r.json()
    uid, name = saved["uid"], saved["name"]
    assert uid.startswith("dataset_") and name == f"datasets/{uid}"
    assert (saved["display_name"], saved["tags"], saved["train_rows"] + saved["validation_rows"]) == ("Customer Support Q&A", ["support", "faq"], 3)

    assert client.get(f"/api/datasets/{uid}").json()["uid"] == uid
    assert client.get(f"/v1/{name}").json()["description"] == "pairs"
    listed = client.get("/api/datasets", params={"tag": "faq"}).json()
    assert [d["uid"] for d in listed["datasets"]] == [uid] and listed["total_size"] == 1

    # PATCH without update_mask changes only what the body names (AIP-134); camelCase is accepted too.
    r = client.patch(f"/v1/{name}", json={"displayName": "Renamed"})
    assert r.status_code == 200, r.text
    assert (r.json()["display_name"], r.json()["description"], r.json()["tags"]) == ("Renamed", "pairs", ["support", "faq"])
    r = client.patch(f"/v1/{name}", params={"update_mask": "description"}, json={"description": "new", "display_name": "ignored"})
    assert (r.json()["display_name"], r.json()["description"]) == ("Renamed", "new")

    assert client.delete(f"/v1/{name}").json() == {}
    r = client.get(f"/v1/{name}")
    assert r.status_code == 404 and error_of(r)["reason"] == "DATASET_NOT_FOUND"


def test_save_with_a_validation_file(client):
    r = client.post(
        "/api/datasets",
        files={"file": ("train.csv", CSV, "text/csv"), "validation_file": ("val.csv", b"input,output\nq,a\n", "text/csv")},
        data={"name": "with validation"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["train_rows"], r.json()["validation_rows"]) == (3, 1)


def test_saving_an_invalid_file_lists_its_errors(client):
    r = upload(client, b"input,answer\na,b\n", name="bad")
    assert r.status_code == 400
    err = error_of(r)
    assert err["reason"] == "VALIDATION_FAILED" and "output" in err["message"]


def test_upload_form_mistakes_are_400s_that_say_what_to_send(client):
    r = client.post("/api/datasets", json={"name": "x"})
    assert r.status_code == 400 and error_of(r)["reason"] == "MULTIPART_REQUIRED"
    r = client.post("/api/datasets", files={"other": ("a.csv", CSV)}, data={"name": "x"})
    assert r.status_code == 400 and error_of(r)["metadata"]["field"] == "other"
    r = client.post("/api/datasets", data={"name": "x"}, files={"validation_file": ("v.csv", CSV)})
    assert r.status_code == 400 and error_of(r)["reason"] == "MISSING_FILE"
    r = upload(client, validation_fraction="lots")
    assert r.status_code == 400 and error_of(r)["metadata"]["field"] == "validation_fraction"
    r = upload(client, colour="blue")
    assert r.status_code == 400 and "colour" in error_of(r)["message"]


def test_missing_dataset_is_404_and_bad_name_is_400(client):
    r = client.get("/v1/datasets/dataset_0_missing")
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"
    r = client.get("/v1/datasets/NOT%20VALID")
    assert r.status_code == 400 and error_of(r)["reason"] == "INVALID_NAME"


def test_rows_stream_as_ndjson(client):
    uid = upload(client, name="rows").json()["uid"]
    r = client.get(f"/v1/datasets/{uid}:rows", params={"batch_size": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [len(x["rows"]) for x in lines] == [2, 1]
    assert lines[0]["rows"][0] == {"index": 0, "input": "What is ML?", "output": "Machine learning is a subset of AI."}
    r = client.get("/v1/datasets/dataset_0_missing:rows")
    assert r.status_code == 404  # the first message is awaited before the status goes out
