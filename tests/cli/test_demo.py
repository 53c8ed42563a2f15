"""`finetune demo` end to end on all four services and the tiny built-in model, then the commands that
need a finished job: watch replays, generate, jobs show, configs best."""

from __future__ import annotations

import json
import re

import pytest


@pytest.mark.slow
def test_demo_runs_the_guides_workflow_to_a_generated_answer(platform, finetune):
    result = finetune("demo", "--steps", "3", "--max-new-tokens", "8")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in ("1. Upload the dataset", "2. Choose the model", "3. Validate the configuration", "4. Create the job", "5. Watch the training", "6. Ask the fine-tuned model"):
        assert heading in out
    assert "saved dataset dataset_" in out and "144 train / 16 validation rows" in out
    assert "(offline)" in out and "can be fine-tuned here" in out and "✓ valid" in out
    job = re.search(r"created job (job_\w+)", out).group(1)
    assert f"job {job} completed" in out and "3/3" in out and "prompt: How do I reset my password?" in out

    replay = finetune("--json", "watch", job, "--after", "1")
    assert replay.exit_code == 0, replay.output
    events = [json.loads(line) for line in replay.stdout.splitlines()]
    assert int(events[0]["sequence"]) == 2 and events[-1]["state"]["state"] == "RUN_STATE_COMPLETED"

    answer = finetune("--json", "generate", job, "Where is my order?", "--max-new-tokens", "4")
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.stdout)["job"] == job

    shown = finetune("jobs", "show", job)
    assert shown.exit_code == 0 and "completed" in shown.stdout and "validation loss" in shown.stdout
    best = finetune("--json", "configs", "best", "--mode", "manual")
    assert best.exit_code == 0, best.output
    assert json.loads(best.stdout)["best_job"] == f"jobs/{job}"
