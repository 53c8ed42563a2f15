"""Jobs-service fixtures: settings on SQLite (or on SQLite and PostgreSQL) with a fast queue."""

from __future__ import annotations

import pytest

from tests.jobs.helpers import FAST_ENV


def _settings_factory(make_settings, url: str):
    def make(*trainers: str, **env):
        values = dict(FAST_ENV, FINETUNE_JOBS_TRAINER_ADDRESSES=",".join(trainers) or "127.0.0.1:1",
                      **{f"FINETUNE_JOBS_{k.upper()}": str(v) for k, v in env.items()})
        return make_settings("jobs", values, database_url=url)

    return make


@pytest.fixture
def jobs_settings(make_settings, tmp_path):
    """Jobs settings on SQLite; call with trainer addresses and FINETUNE_JOBS_* overrides (lower-case keys)."""
    return _settings_factory(make_settings, f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")


@pytest.fixture
def jobs_settings_any_db(make_settings, database_url):
    """As jobs_settings, once on SQLite and once on PostgreSQL."""
    return _settings_factory(make_settings, database_url)
