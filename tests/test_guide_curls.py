"""The guide's curl commands, run with curl against the whole suite started by the launcher (as `make run`
does), with only host and port changed to free ones."""

from __future__ import annotations

import csv
import json
import subprocess
import time

import pytest

from tests.suite import ROOT, running_suite

pytestmark = pytest.mark.slow


def curl(*args: str) -> tuple[int, object]:
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=60)
    body, _, code = out.stdout.rpartition("\n")
    return int(code), json.loads(body) if body.strip() else None


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    if subprocess.run(["which", "curl"], capture_output=True).returncode != 0:
        pytest.fail("curl is needed for the guide's commands")
    data = tmp_path_factory.mktemp("suite")
    with running_suite(data) as started:
        main, training = started.urls()
        yield main, training, data


def test_the_guides_curl_commands_work_against_a_started_suite(suite):
    main, training, data = suite
    small = data / "dataset.csv"
    with open(ROOT / "examples" / "customer_support.csv") as src, open(small, "w", newline="") as dst:
        rows = list(csv.reader(src))[:17]
        csv.writer(dst).writerows(rows)

    code, preview = curl("-X", "POST", f"{main}/api/preview-csv", "-F", f"file=@{small}", "-H", "Content-Type: multipart/form-data")
    guide_stats = {k: preview["statistics"][k] for k in ("total_rows", "total_columns", "has_required_columns")}
    assert code == 200 and guide_stats == {"total_rows": 16, "total_columns": 2, "has_required_columns": True}
    assert set(preview) >= {"filename", "columns", "data", "validation_errors", "statistics"}

    code, saved = curl("-X", "POST", f"{main}/api/datasets", "-F", f"file=@{small}", "-F", "name=Customer Support Q&A")
    assert code == 200 and saved["uid"].startswith("dataset_")

    code, found = curl(f"{main}/api/models/search?query=llama&limit=5")
    assert code == 200 and isinstance(found, list) and 0 < len(found) <= 5
    assert set(found[0]) >= {"id", "name", "provider", "category", "parameters", "downloads", "likes", "description"}

    body = '{"id": "meta-llama/Llama-3.1-8B-Instruct", "name": "Llama 3.1 8B Instruct", "provider": "Meta", "category": "Instruction Following"}'
    code, added = curl("-X", "POST", f"{main}/api/models", "-H", "Content-Type: application/json", "-d", body)
    assert code == 200 and added["id"] == "meta-llama/Llama-3.1-8B-Instruct"
    code, check = curl(f"{main}/api/models/check/meta-llama%2FLlama-3.1-8B-Instruct")
    assert code == 200 and check["model_id"] == "meta-llama/Llama-3.1-8B-Instruct"

    code, best = curl(f"{main}/api/configurations/best?mode=manual")
    assert code == 404 and best["error"]["code"] == "NOT_FOUND"

    job = {
        "name": "Customer Support Fine-tuning",
        "description": "Fine-tune Llama for customer support responses",
        "tags": ["customer-support", "llama", "production"],
        "configuration": {
            "model": {"uid": "finetune-builtin/tiny-llama-3m", "name": "Tiny Llama"},
            "dataset": {"uid": saved["uid"], "name": "Customer Support Q&A"},
            "hyperparameters": {"uid": "00000005k0008000300100002s", "learning_rate": 0.0002, "batch_size": 8, "epochs": 3},
        },
        "modelSaving": {"saveModel": True, "modelName": "customer-support-llama-v1", "pushToHub": False, "makePublic": False},
    }
    job_ids = []
    for version in ("v1", "v2"):  # two, so that they can be compared; a model name names one model
        job["modelSaving"]["modelName"] = f"customer-support-llama-{version}"
        code, created = curl("-X", "POST", f"{main}/api/jobs", "-H", "Content-Type: application/json", "-d", json.dumps(job))
        assert code == 200, created
        job_ids.append(created["jobUid"])
    code, taken = curl("-X", "POST", f"{main}/api/jobs", "-H", "Content-Type: application/json", "-d", json.dumps(job))
    assert code == 409 and taken["error"]["reason"] == "MODEL_NAME_TAKEN", taken

    deadline = time.monotonic() + 300
    for job_id in job_ids:
        while True:
            code, status = curl(f"{training}/api/training/status/{job_id}")
            if code == 200 and status["state"] == "RUN_STATE_COMPLETED":
                break
            assert time.monotonic() < deadline, status
            time.sleep(1)
    code, summary = curl(f"{training}/api/training/summary")
    assert code == 200 and summary["progress"]["step"] == summary["progress"]["total_steps"] == 6
    code, losses = curl(f"{training}/api/training/losses?last_n=50")
    assert code == 200 and len(losses["losses"]) == 6
    code, resources = curl(f"{training}/api/training/resources/current")
    assert code == 200 and resources["cpu_count"] >= 1

    compare = json.dumps({"job_ids": job_ids, "metrics": ["final_loss", "training_time", "gpu_hours"]})
    code, compared = curl(f"{main}/api/jobs/compare", "-H", "Content-Type: application/json", "-d", compare)
    assert code == 200, compared
    assert len(compared["jobs"]) == 2, compared
    assert curl(f"{main}/health")[0] == 200 and curl(f"{training}/health")[0] == 200
