"""SQLAlchemy 2 async engine: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL; schema made at start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.schema import CreateColumn

from services.common.errors import FinetuneError, InvalidArgument, Unavailable

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    """Declarative base for every service's tables. Table names carry the service's prefix so one
    PostgreSQL database can hold them all."""


@event.listens_for(Base, "before_insert", propagate=True)
@event.listens_for(Base, "before_update", propagate=True)
def check_lengths(mapper, connection, target) -> None:
    """A string longer than its column is the caller's mistake on every database: PostgreSQL refuses it
    (an INTERNAL error, once), SQLite would keep it. So it is refused before the database sees it, as
    INVALID_ARGUMENT naming the field (the column is named after the API's field)."""
    for column in mapper.columns:
        limit = getattr(column.type, "length", None)
        if not limit:
            continue
        value = getattr(target, mapper.get_property_by_column(column).key, None)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidArgument(f"{column.name} is {len(value)} characters long; it may have at most {limit}",
                                  reason="VALUE_TOO_LONG", metadata={"field": column.name, "limit": limit})


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite://` URLs and give them their async drivers."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError for junk
        raise InvalidArgument(f"database URL {url!r} is not valid: {exc}", reason="BAD_SETTING") from exc
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def sqlite_pragmas(dbapi_conn) -> None:
    """Every SQLite connection of ours, the engine's and any plain `sqlite3` one: WAL lets readers run
    beside the one writer; NORMAL syncs at checkpoints, not at each commit."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_engine(url: str) -> AsyncEngine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):
            sqlite_pragmas(dbapi_conn)

        return engine
    # `?schema=name` puts our tables in their own PostgreSQL schema (tests use one each).
    parsed = make_url(url)
    schema = parsed.query.get("schema")
    connect_args = {}
    if schema:
        parsed = parsed.difference_update_query(["schema"])
        connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args)
    if schema:

        @event.listens_for(engine.sync_engine, "connect")
        def _ensure_schema(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cur.close()

    return engine


def _add_missing_columns(sync_conn, tables) -> list[str]:
    """Additive migration: columns a model has that the stored table lacks are added (nullable or
    with their server default). Renames and drops are not done automatically."""
    added = []
    inspector = inspect(sync_conn)
    for table in tables:
        if not inspector.has_table(table.name):
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            ddl = CreateColumn(column).compile(dialect=sync_conn.dialect)
            sync_conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")
            added.append(f"{table.name}.{column.name}")
    return added


async def prepare_schema(engine: AsyncEngine, tables) -> None:
    """Create the service's tables, then add any columns newer code expects. Raises Unavailable when
    the database cannot be reached, so a service stays NOT_SERVING rather than crashing mid-request."""
    tables = list(tables)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: Base.metadata.create_all(c, tables=tables))
            added = await conn.run_sync(lambda c: _add_missing_columns(c, tables))
    except (SQLAlchemyError, OSError) as exc:
        raise Unavailable(f"database {engine.url.render_as_string()} is not reachable: {exc}", reason="DATABASE_UNAVAILABLE") from exc
    if added:
        log.info("migrated schema: added columns %s", ", ".join(added))


async def get_or_raise(session, model, key, not_found: Callable[[], FinetuneError]):
    """The row of `model` with primary key `key`, or raise what `not_found()` builds."""
    row = await session.get(model, key)
    if row is None:
        raise not_found()
    return row


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
