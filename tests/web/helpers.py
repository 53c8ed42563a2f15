"""REST calls the browser tests make to set the stage (datasets, jobs) and to check what the page shows."""

from __future__ import annotations

import csv
import io
import time

import httpx

from tests.suite import ROOT, Suite


def client(suite: Suite) -> httpx.Client:
    return httpx.Client(base_url=suite.url, timeout=60)


def support_rows(n: int = 24) -> list[dict[str, str]]:
    with open(ROOT / "examples" / "customer_support.csv", newline="") as f:
        return list(csv.DictReader(f))[:n]


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["input", "output"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload_dataset(suite: Suite, name: str, rows: list[dict[str, str]] | None = None, **fields: str) -> dict:
    with client(suite) as c:
        r = c.post("/api/datasets", files={"file": ("data.csv", csv_bytes(rows or support_rows()), "text/csv")},
                   data={"name": name, **fields})
        r.raise_for_status()
        return r.json()


def create_job(suite: Suite, dataset_uid: str, name: str, model_saving: dict | None = None, **hyperparameters) -> dict:
    body = {
        "name": name,
        **({"modelSaving": model_saving} if model_saving else {}),
        "configuration": {
            "model": {"uid": "finetune-builtin/tiny-llama-3m"},
            "dataset": {"uid": dataset_uid},
            "hyperparameters": {"learning_rate": 0.001, "batch_size": 4, "epochs": 1, "max_seq_length": 96, **hyperparameters},
        },
    }
    with client(suite) as c:
        r = c.post("/api/jobs", json=body)
        assert r.status_code == 200, r.text
        return r.json()


def wait_for_job(suite: Suite, job_id: str, states: tuple[str, ...], timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    with client(suite) as c:
        while True:
            job = c.get(f"/v1/jobs/{job_id}").json()
            if job.get("state") in states:
                return job
            assert time.monotonic() < deadline, f"job {job_id} is {job.get('state')}, not {states}"
            time.sleep(0.5)


def run_metrics(suite: Suite, job_id: str) -> dict:
    with client(suite) as c:
        r = c.get(f"/v1/runs/{job_id}/metrics")
        r.raise_for_status()
        return r.json()


_finished: dict[str, list[dict]] = {}


def finished_jobs(suite: Suite) -> list[dict]:
    """Two small jobs trained to completion on one dataset with a validation split, differing only in their
    learning rate: made once per suite and shared by the tests that only read them (compare, playground,
    analytics). Each job as GET /v1/jobs/{id} answers it."""
    if suite.url not in _finished:
        dataset = upload_dataset(suite, "Shared finished jobs", validation_fraction="0.25")
        ids = [create_job(suite, dataset["uid"], f"Finished lr {lr}", learning_rate=lr, max_steps=6, eval_steps=2)["job_uid"]
               for lr in (0.001, 0.003)]
        _finished[suite.url] = [wait_for_job(suite, i, ("JOB_STATE_COMPLETED",)) for i in ids]
    return _finished[suite.url]
