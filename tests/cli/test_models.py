"""`finetune models ...` against a real, offline catalog service in process."""

from __future__ import annotations

import json

from services.catalog.builtin_models import TINY_MODEL_ID
from tests.cli.conftest import assert_clean_failure


def test_search_offline_marks_the_results(dataset_and_catalog, finetune):
    result = finetune("models", "search", "llama", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert "(offline)" in result.stdout and "offline results:" in result.stdout
    assert "llama" in result.stdout.lower()
    body = json.loads(finetune("--json", "models", "search", "tiny", "--limit", "3").stdout)
    assert body["offline"] is True and 0 < len(body["models"]) <= 3


def test_add_list_and_bad_category(dataset_and_catalog, finetune):
    added = finetune("models", "add", "meta-llama/Llama-3.1-8B-Instruct", "--name", "Llama 3.1 8B Instruct", "--provider", "Meta", "--category", "Instruction Following")
    assert added.exit_code == 0, added.output
    assert "meta-llama/Llama-3.1-8B-Instruct" in finetune("models", "list").stdout
    assert_clean_failure(finetune("models", "add", "meta-llama/Llama-3.1-8B-Instruct"), "ALREADY", code=1)
    assert_clean_failure(finetune("models", "add", "x/y", "--category", "Poetry"), "UNKNOWN_CATEGORY", code=1)


def test_check_the_tiny_builtin_model(dataset_and_catalog, finetune):
    result = finetune("models", "check", TINY_MODEL_ID)
    assert result.exit_code == 0, result.output
    assert "can be fine-tuned here" in result.stdout and "q_proj" in result.stdout
    missing = finetune("models", "check", "no-such-org/no-such-model")
    assert missing.exit_code == 1 and "cannot be fine-tuned" in missing.stdout and "Traceback" not in missing.output
