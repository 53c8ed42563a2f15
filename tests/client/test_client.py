"""The SDK against the real gateway (uvicorn) and real dataset and catalog services."""

from __future__ import annotations

import pytest

from finetune.client import DatasetValidationError, FinetuneAPIError, FinetuningClient, TrainingMonitor
from tests.cli.conftest import EXAMPLES


def test_upload_dataset_previews_then_saves(gateway):
    with FinetuningClient(gateway.url) as client:
        preview = client.preview_csv(str(EXAMPLES / "customer_support.csv"))
        assert preview["statistics"] == {**preview["statistics"], "total_rows": 160, "has_required_columns": True}
        saved = client.upload_dataset(
            file_path=str(EXAMPLES / "customer_support.csv"),
            name="Customer Support Dataset",
            description="Q&A pairs for customer support fine-tuning",
        )
        assert saved["uid"].startswith("dataset_") and saved["display_name"] == "Customer Support Dataset"
        assert saved["train_rows"] == 160
        assert client.get_dataset(saved["uid"])["description"] == "Q&A pairs for customer support fine-tuning"
        assert [d["uid"] for d in client.list_datasets()["datasets"]] == [saved["uid"]]


def test_bad_dataset_raises_with_the_preview(gateway, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nhi,there\n")
    with FinetuningClient(gateway.url) as client:
        with pytest.raises(DatasetValidationError) as err:
            client.upload_dataset(str(bad), "bad", "")
    assert err.value.reason == "VALIDATION_FAILED" and "output" in err.value.message
    assert err.value.preview["statistics"]["has_required_columns"] is False


def test_search_models_returns_the_guides_list(gateway):
    with FinetuningClient(gateway.url) as client:
        models = client.search_models("llama", limit=5)
    assert 0 < len(models) <= 5
    assert {"id", "name", "provider", "category", "parameters", "downloads", "likes", "description"} <= set(models[0])


def test_errors_carry_the_gateways_json_body(gateway):
    with FinetuningClient(gateway.url) as client:
        with pytest.raises(FinetuneAPIError) as err:
            client.get_dataset("dataset_0_missing")
    assert err.value.status_code == 404 and err.value.code == "NOT_FOUND"
    assert err.value.body["error"]["reason"] == err.value.reason and err.value.reason.endswith("NOT_FOUND")
    with TrainingMonitor(gateway.url) as monitor, pytest.raises(FinetuneAPIError) as err:
        monitor.get_job_status("")
    assert err.value.status_code in (400, 404)


def test_unreachable_gateway_is_an_api_error():
    with FinetuningClient("http://127.0.0.1:9") as client, pytest.raises(FinetuneAPIError) as err:
        client.search_models("llama")
    assert err.value.reason == "GATEWAY_UNREACHABLE" and "make run" in err.value.message
