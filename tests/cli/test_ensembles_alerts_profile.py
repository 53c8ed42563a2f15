"""The CLI of ensembles, alert delivery and step profiling against the real services: an ensemble of two
created, shown, asked and evaluated; the alert test and a profile of a job that does not run fail cleanly."""

from __future__ import annotations

import json
import time

import pytest

from services.catalog.builtin_models import TINY_MODEL_ID
from tests.cli.conftest import EXAMPLES, assert_clean_failure

pytestmark = pytest.mark.slow


def test_an_ensemble_from_the_command_line(platform, finetune):
    uploaded = finetune("--json", "datasets", "upload", str(EXAMPLES / "customer_support.csv"), "--validation-fraction", "0.25")
    assert uploaded.exit_code == 0, uploaded.output
    dataset = json.loads(uploaded.stdout)["uid"]
    made = finetune("--json", "ensembles", "create", "-m", TINY_MODEL_ID, "-d", dataset, "--size", "2", "--spread", "1",
                    "-s", "max_steps=3", "-s", "batch_size=4", "-s", "max_seq_length=64", "-n", "Two seeds")
    assert made.exit_code == 0, made.output
    ensemble = json.loads(made.stdout)["name"]
    deadline = time.monotonic() + 300
    while (shown := json.loads(finetune("--json", "ensembles", "show", ensemble).stdout))["state"] == "running":
        assert time.monotonic() < deadline, shown
        time.sleep(1)
    assert shown["state"] == "completed"
    table = finetune("ensembles", "show", ensemble)
    assert "Two seeds" in table.stdout and "majority vote" in table.stdout
    asked = finetune("ensembles", "ask", ensemble, "How do I reset my password?", "--max-new-tokens", "4")
    assert asked.exit_code == 0 and "of 2 votes" in asked.stdout, asked.output
    evaluated = finetune("ensembles", "evaluate", ensemble, "--max-rows", "2")
    assert evaluated.exit_code == 0 and "ensemble" in evaluated.stdout and "2 validation rows" in evaluated.stdout, evaluated.output
    assert_clean_failure(finetune("ensembles", "show", "ensembles/nope"), "does not exist")


def test_alerts_test_and_profile_fail_cleanly_when_they_cannot_act(platform, finetune):
    assert_clean_failure(finetune("alerts", "test"), "no alert webhook is configured")
    assert_clean_failure(finetune("jobs", "profile", "job_nope"), "")
