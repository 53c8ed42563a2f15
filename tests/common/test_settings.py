"""Settings come from an environment mapping, typed, with errors naming the variable."""

from pathlib import Path

import pytest

from services.common.errors import InvalidArgument
from services.common.settings import load_settings


def test_defaults_and_service_specific_override():
    s = load_settings("dataset", {"FINETUNE_DATA_DIR": "/tmp/x", "FINETUNE_DATASET_PORT": "6000", "FINETUNE_PORT": "7000"})
    assert s.data_dir == Path("/tmp/x")
    assert s.port == 6000  # the service's own variable wins over the shared one
    assert s.effective_database_url == "sqlite+aiosqlite:////tmp/x/dataset.db"


def test_default_port_per_service():
    assert load_settings("catalog", {}).port == 50052


def test_bad_value_names_the_variable():
    with pytest.raises(InvalidArgument) as err:
        load_settings("jobs", {"FINETUNE_JOBS_PORT": "eighty"})
    assert "FINETUNE_JOBS_PORT" in err.value.message


def test_service_specific_extra_values_are_typed():
    s = load_settings("dataset", {"FINETUNE_DATASET_MAX_UPLOAD_MB": "12"})
    assert s.get("max_upload_mb", 50, int) == 12
    with pytest.raises(InvalidArgument):
        load_settings("dataset", {"FINETUNE_DATASET_MAX_UPLOAD_MB": "lots"}).get("max_upload_mb", 50, int)
