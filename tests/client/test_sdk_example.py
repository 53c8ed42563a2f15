"""The guide's "SDK Example Usage" (examples/sdk_example.py) run as written against the gateway and all four
services. Only its import line is swapped, for clients aimed at the test gateway's port, and the
`./customer_support.csv` it reads is the sample's first 16 rows: the example trains 3 epochs, and on a
busy 2-core machine a step of the tiny model can take seconds."""

from __future__ import annotations

import functools
import re

import pytest

from finetune import client as sdk
from tests.cli.conftest import EXAMPLES

IMPORT_LINE = "from finetune.client import FinetuningClient, TrainingMonitor\n"


@pytest.mark.slow
def test_the_guides_sdk_example_runs_end_to_end(full_gateway, monkeypatch, capsys, tmp_path):
    source = (EXAMPLES / "sdk_example.py").read_text()
    assert source.startswith(IMPORT_LINE)
    namespace = {
        "FinetuningClient": functools.partial(sdk.FinetuningClient, full_gateway.url),
        "TrainingMonitor": functools.partial(sdk.TrainingMonitor, full_gateway.url),
    }
    lines = (EXAMPLES / "customer_support.csv").read_text().splitlines(keepends=True)
    (tmp_path / "customer_support.csv").write_text("".join(lines[:17]))  # header + 16 rows: 2 steps an epoch
    monkeypatch.chdir(tmp_path)
    exec(compile(source.removeprefix(IMPORT_LINE), str(EXAMPLES / "sdk_example.py"), "exec"), namespace)

    printed = capsys.readouterr().out.splitlines()
    assert printed and all(re.fullmatch(r"Epoch: [0-9.]+, Loss: [0-9.]+", line) for line in printed), printed
    job_id = namespace["job_id"]
    assert job_id.startswith("job_") and namespace["selected_model"]["id"] == "finetune-builtin/tiny-llama-3m"

    with sdk.TrainingMonitor(full_gateway.url) as monitor:
        status = monitor.get_job_status(job_id)
        assert status["state"] == "RUN_STATE_COMPLETED" and status["job_id"] == job_id
        losses = monitor.get_training_metrics(last_n=5)["losses"]
        assert 0 < len(losses) <= 5 and all("train_loss" in point for point in losses)
    with sdk.FinetuningClient(full_gateway.url) as client:
        assert client.get_job(job_id)["state"] == "JOB_STATE_COMPLETED"
