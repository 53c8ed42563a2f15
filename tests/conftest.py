"""Fixtures shared by every test: a data directory, database URLs (SQLite and PostgreSQL), settings."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path

import pytest

from services.common.settings import load_settings

POSTGRES_URL = os.environ.get("FINETUNE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# .ci/run sets this: there a missing PostgreSQL fails the run instead of skipping its tests.
REQUIRE_POSTGRES = os.environ.get("FINETUNE_REQUIRE_POSTGRES") == "1"


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    """Each persistence test runs on SQLite and on PostgreSQL (its own schema, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not _postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required here (FINETUNE_REQUIRE_POSTGRES=1) but 127.0.0.1:5432 does not answer")
        pytest.skip("PostgreSQL not running on 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    asyncio.run(_drop_schema(schema))


async def _drop_schema(schema: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES_URL)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def make_settings(data_dir: Path):
    """Settings for a service on port 0 under the test's data dir; pass env vars or overrides."""

    def make(service: str, env: dict[str, str] | None = None, **overrides):
        overrides.setdefault("port", 0)
        overrides.setdefault("data_dir", data_dir)
        if service == "dataset":  # no jobs service to ask before a delete, unless the test starts one
            overrides.setdefault("jobs_address", "")
        return load_settings(service, env or {}, **overrides)

    return make
