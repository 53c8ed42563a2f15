"""The user's model collection, persisted: one row per model id with the record as added."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from services.catalog.records import ModelRecord
from services.common.db import Base, get_or_raise, prepare_schema, session_factory
from services.common.errors import AlreadyExists, NotFound


class CollectionRow(Base):
    __tablename__ = "catalog_collection"

    model_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    record: Mapped[dict] = mapped_column(JSON)
    add_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(timezone.utc), index=True)


TABLES = [CollectionRow.__table__]


def _not_in_collection(model_id: str, hint: str = "") -> NotFound:
    return NotFound(f"model '{model_id}' is not in the collection{hint}", reason="MODEL_NOT_IN_COLLECTION")


def record_from_row(row: CollectionRow) -> ModelRecord:
    data = dict(row.record)
    data["tags"] = tuple(data.get("tags") or ())
    data["source"] = "collection"
    return ModelRecord(**data)


class CollectionStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.sessions = session_factory(engine)

    async def prepare(self) -> None:
        await prepare_schema(self.engine, TABLES)

    async def add(self, record: ModelRecord) -> CollectionRow:
        row = CollectionRow(model_id=record.id, record=record.replace(source="collection").to_dict())
        try:
            async with self.sessions.begin() as s:
                s.add(row)
        except IntegrityError:
            raise AlreadyExists(f"model '{record.id}' is already in the collection", reason="MODEL_ALREADY_IN_COLLECTION")
        return row

    async def get(self, model_id: str) -> CollectionRow:
        async with self.sessions() as s:
            return await get_or_raise(s, CollectionRow, model_id, lambda: _not_in_collection(model_id, "; add it first"))

    async def all(self) -> list[CollectionRow]:
        async with self.sessions() as s:
            return list((await s.scalars(select(CollectionRow).order_by(CollectionRow.add_time.desc(), CollectionRow.model_id))).all())

    async def delete(self, model_id: str) -> None:
        async with self.sessions.begin() as s:
            await s.delete(await get_or_raise(s, CollectionRow, model_id, lambda: _not_in_collection(model_id)))
