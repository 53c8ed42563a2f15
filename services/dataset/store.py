"""Dataset persistence: metadata rows in the database, split files on disk once per content hash."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import JSON, BigInteger, DateTime, String, Text, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import Base, get_or_raise, prepare_schema, session_factory
from services.common.errors import NotFound


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DatasetRow(Base):
    __tablename__ = "dataset_datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    filename: Mapped[str] = mapped_column(String(512), default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    train_sha256: Mapped[str] = mapped_column(String(64), index=True)
    validation_sha256: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    train_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    validation_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    columns: Mapped[list] = mapped_column(JSON, default=list)
    statistics: Mapped[dict] = mapped_column(JSON, default=dict)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    format: Mapped[str] = mapped_column(String(16), default="csv")
    encoding: Mapped[str] = mapped_column(String(32), default="utf-8")
    source_dataset: Mapped[str] = mapped_column(String(64), default="")
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    update_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


TABLES = [DatasetRow.__table__]


def _not_found(dataset_id: str) -> NotFound:
    name = f"datasets/{dataset_id}"
    return NotFound(f"dataset '{name}' does not exist", reason="DATASET_NOT_FOUND", metadata={"name": name})


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class BlobStore:
    """Files named by the SHA-256 of their content under `<data_dir>/datasets/blobs/`; written atomically."""

    root: Path

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.csv"

    def put(self, content: bytes) -> str:
        sha = content_sha256(content)
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


class DatasetStore:
    """Async CRUD over dataset rows, with the blob store for their files."""

    def __init__(self, engine: AsyncEngine, data_dir: Path):
        self.engine = engine
        self.sessions = session_factory(engine)
        self.blobs = BlobStore(Path(data_dir) / "datasets" / "blobs")
        # Files are shared by content: writing one with its new row, and deleting a row with the files nothing
        # else uses, happen one at a time, or an upload of the same content could keep a file a delete unlinks.
        self._files = asyncio.Lock()

    async def prepare(self) -> None:
        await prepare_schema(self.engine, TABLES)

    async def add(self, row: DatasetRow, blobs: dict[str, bytes]) -> DatasetRow:
        """Store the row and its files (content hash -> bytes), the files first."""
        async with self._files:
            await asyncio.to_thread(lambda: [self.blobs.put(content) for content in blobs.values()])
            async with self.sessions.begin() as s:
                s.add(row)
        return row

    async def get(self, dataset_id: str) -> DatasetRow:
        async with self.sessions() as s:
            return await get_or_raise(s, DatasetRow, dataset_id, lambda: _not_found(dataset_id))

    async def list(self, offset: int, limit: int, tag: str = "") -> tuple[list[DatasetRow], int]:
        query = select(DatasetRow)
        if tag:
            # Tags are few per dataset: filter in Python so SQLite and PostgreSQL behave the same on JSON.
            async with self.sessions() as s:
                rows = [r for r in (await s.scalars(query.order_by(DatasetRow.create_time.desc(), DatasetRow.id))).all() if tag in (r.tags or [])]
            return rows[offset : offset + limit], len(rows)
        async with self.sessions() as s:
            total = await s.scalar(select(func.count()).select_from(DatasetRow))
            rows = (await s.scalars(query.order_by(DatasetRow.create_time.desc(), DatasetRow.id).offset(offset).limit(limit))).all()
        return list(rows), int(total or 0)

    async def update(self, dataset_id: str, **values) -> DatasetRow:
        async with self.sessions.begin() as s:
            row = await get_or_raise(s, DatasetRow, dataset_id, lambda: _not_found(dataset_id))
            for key, value in values.items():
                setattr(row, key, value)
            row.update_time = _now()
        return row

    async def delete(self, dataset_id: str) -> None:
        """Delete the row, then each of its files that no remaining dataset uses."""
        async with self._files:
            async with self.sessions.begin() as s:
                row = await get_or_raise(s, DatasetRow, dataset_id, lambda: _not_found(dataset_id))
                shas = {row.train_sha256, row.validation_sha256} - {None}
                await s.delete(row)
            for sha in shas:
                async with self.sessions() as s:
                    used = await s.scalar(select(func.count()).select_from(DatasetRow).where(
                        or_(DatasetRow.train_sha256 == sha, DatasetRow.validation_sha256 == sha)))
                if not used:
                    self.blobs.delete(sha)
