"""`finetune demo` end to end on all four services and the pretrained built-in model, then the commands that
need a finished job: watch replays, generate, jobs show, configs best. (That the demo's model learns the
sample is `tests/cli/test_demo_learns.py`.) And the demo's sample files are what their script writes."""

from __future__ import annotations

import json
import re
import runpy

import pytest

from tests.cli.conftest import EXAMPLES


@pytest.mark.slow
def test_demo_runs_the_guides_workflow_to_a_generated_answer(platform, finetune):
    result = finetune("demo", "--steps", "3", "--max-new-tokens", "8")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for heading in ("1. Upload the dataset", "2. Choose the model", "3. Validate the configuration", "4. Create the job", "5. Watch the training",
                    "6. Before and after fine-tuning", "7. Held-out prompts (not trained on)", "8. Ask the fine-tuned model"):
        assert heading in out
    assert "saved dataset dataset_" in out and "80 train / 20 validation rows" in out
    assert "(offline)" in out and "can be fine-tuned here" in out and "✓ valid" in out
    assert "finetune jobs create --model finetune-builtin/pretrained-llama-1m --dataset dataset_" in out
    assert "--set target_modules=all-linear" in out and "--set max_steps=3" in out
    job = re.search(r"created job (job_\w+)", out).group(1)
    assert f"job {job} completed" in out and "3/3" in out and "prompt: How do I reset my password?" in out
    # 8 tokens cannot spell any answer: nothing matches, and the counts say so.
    assert "exact matches on 10 trained prompts: fine-tuned 0/10, base model 0/10" in out
    assert "exact matches on 20 held-out prompts: fine-tuned 0/20" in out

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


def test_the_demo_files_are_what_their_script_writes_and_the_held_out_prompts_are_not_trained_on():
    script = runpy.run_path(str(EXAMPLES / "support_intents.py"))
    train, heldout = script["build"]()
    assert (EXAMPLES / "support_intents.csv").read_text() == script["to_csv"](train)
    assert (EXAMPLES / "support_intents_heldout.csv").read_text() == script["to_csv"](heldout)
    assert len(train) == 80 and len(heldout) == 20
    assert not {r["input"] for r in heldout} & {r["input"] for r in train}
    # The rows the demo compares: each intent's first phrasing, one per answer.
    answers = [answer for answer, _ in script["INTENTS"]]
    assert [r["output"] for r in train[:10]] == answers and [r["input"] for r in train[:10]] == [p[0] for _, p in script["INTENTS"]]
