"""`finetune configs ...` and `finetune jobs ...` against the real jobs service (with no trainer: jobs stay queued)."""

from __future__ import annotations

import json
import re

from services.catalog.builtin_models import TINY_MODEL_ID
from tests.cli.conftest import EXAMPLES, assert_clean_failure


def created_id(output: str, kind: str) -> str:
    found = re.search(rf"(?:saved dataset|created job) ({kind}_\w+)", output)
    assert found, output
    return found.group(1)


def test_configs_validate_reports_errors_and_guidance(jobs_without_trainer, finetune, tmp_path):
    ok = finetune("configs", "validate", "--set", "lr=0.0002", "--set", "batch_size=8", "--set", "epochs=3", "--model", TINY_MODEL_ID)
    assert ok.exit_code == 0, ok.output
    assert "✓ valid; configuration uid 0003000200000000800" in ok.stdout and "learning_rate" in ok.stdout

    guide_file = tmp_path / "config.json"
    guide_file.write_text(json.dumps({"hyperparameters": {"learning_rate": 0.0002, "batch_size": 8, "epochs": 0}}))
    bad = finetune("configs", "validate", "--file", str(guide_file))
    assert bad.exit_code == 1 and "errors (" in bad.stdout and "epochs" in bad.stdout and "Traceback" not in bad.output

    assert_clean_failure(finetune("configs", "validate", "--set", "lr=fast"), "learning_rate takes a number", code=2)
    assert_clean_failure(finetune("configs", "validate", "--set", "colour=blue"), "unknown hyperparameter 'colour'", code=2)
    assert_clean_failure(finetune("configs", "best", "--mode", "manual"), "NO_BEST_CONFIGURATION", code=1)


def test_jobs_create_list_show_compare_cancel(jobs_without_trainer, finetune):
    uploaded = finetune("datasets", "upload", str(EXAMPLES / "customer_support.csv"), "--name", "Customer Support Q&A")
    dataset = created_id(uploaded.stdout, "dataset")

    first = finetune("jobs", "create", "--model", TINY_MODEL_ID, "--dataset", dataset, "--set", "lr=0.0002", "--set", "max_steps=2",
                     "--name", "Customer Support Fine-tuning", "--priority", "high", "--model-name", "customer-support-v1")
    assert first.exit_code == 0, first.output
    job1 = created_id(first.stdout, "job")
    second = finetune("--json", "jobs", "create", "-m", TINY_MODEL_ID, "-d", dataset, "--set", "lr=0.0003", "--set", "max_steps=2")
    assert second.exit_code == 0, second.output
    job2 = json.loads(second.stdout)["job_uid"]

    listed = finetune("jobs", "list")
    assert listed.exit_code == 0 and job1 in listed.stdout and job2 in listed.stdout and "queued" in listed.stdout
    shown = finetune("jobs", "show", job1)
    assert shown.exit_code == 0 and "Customer Support Fine-tuning" in shown.stdout and "history:" in shown.stdout and "customer-support-v1" in shown.stdout

    compared = finetune("jobs", "compare", job1, job2)
    assert compared.exit_code == 0, compared.output
    assert "configuration differences" in compared.stdout and "learning_rate" in compared.stdout

    assert_clean_failure(finetune("jobs", "pause", job1), "only a running job can be paused", code=1)
    cancelled = finetune("jobs", "cancel", job1)
    assert cancelled.exit_code == 0 and "now cancelled" in cancelled.stdout
    assert_clean_failure(finetune("jobs", "cancel", job1), "", code=1)
    assert_clean_failure(finetune("jobs", "show", "job_0_missing"), "NOT_FOUND", code=1)


def test_a_job_on_a_missing_dataset_is_refused_with_reasons(jobs_without_trainer, finetune):
    result = finetune("jobs", "create", "--model", TINY_MODEL_ID, "--dataset", "dataset_0_missing")
    assert_clean_failure(result, "dataset", code=1)
