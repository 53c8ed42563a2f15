"""The CatalogService servicer: checks requests, calls the catalog domain code, answers protos."""

from __future__ import annotations

import asyncio
from pathlib import Path

from google.protobuf import empty_pb2, json_format, timestamp_pb2

from finetune.catalog.v1 import catalog_service_pb2 as pb, catalog_service_pb2_grpc, model_pb2
from services.catalog import categories
from services.catalog.availability import check_availability, resolve_model_ref
from services.catalog.curated import known_record
from services.catalog.hub import HubClient
from services.common.memory import machine_memory
from services.catalog.offline import browse, filter_records, offline_records
from services.catalog.records import ModelRecord, make_record
from services.catalog.store import CollectionRow, CollectionStore, record_from_row
from services.common.errors import InvalidArgument, NotFound
from services.common.model_ids import FINE_TUNED_NAMESPACE, fine_tuned_name
from services.common.ids import clamp_page_size, next_page_token, page_offset

CATEGORY_RULE = categories.__doc__.split("\n\n", 1)[1].strip()


def _category(value: str) -> str | None:
    if not value.strip():
        return None
    try:
        return categories.normalize_category(value)
    except ValueError as exc:
        raise InvalidArgument(str(exc), reason="UNKNOWN_CATEGORY", metadata={"category": value})


def _model_id_from_name(name: str) -> str:
    model_id = name.strip().removeprefix("models/")
    if not model_id:
        raise InvalidArgument("name must be 'models/{model_id}', e.g. 'models/meta-llama/Llama-3.1-8B-Instruct'", reason="INVALID_NAME")
    return model_id


class CatalogServicer(catalog_service_pb2_grpc.CatalogServiceServicer):
    def __init__(self, store: CollectionStore, hub: HubClient | None, *, data_dir: Path, cache_dir: Path | None,
                 model_roots: tuple[Path, ...] = (), job_users=None, saved_models=None):
        self.store = store
        self.job_users = job_users  # services.common.job_users.JobsUsers: who still trains from a fine-tuned model
        self.saved_models = saved_models  # services.catalog.saved_models.SavedModelFiles: deletes its files on its trainer
        self.hub = hub
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.model_roots = model_roots  # where local model directories may be (services.common.model_ids)

    async def _collection(self) -> list[ModelRecord]:
        return [record_from_row(r) for r in await self.store.all()]

    async def SearchModels(self, request, context) -> pb.SearchModelsResponse:
        collection = await self._collection()
        limit = request.limit or 20
        sort = request.sort or "downloads"
        category = request.category or None
        if self.hub is None:
            raise InvalidArgument("search needs a hub client", reason="NO_HUB")
        result = await asyncio.to_thread(self.hub.search, request.query, limit=limit, category=category, sort=sort, collection=collection)
        return pb.SearchModelsResponse(models=[to_proto(r) for r in result.models], offline=result.offline, offline_reason=result.offline_reason)

    async def BrowseModels(self, request, context) -> pb.BrowseModelsResponse:
        by = request.group_by or "category"
        if by not in ("category", "provider"):
            raise InvalidArgument(f"group_by must be 'category' or 'provider', not {by!r}", reason="INVALID_GROUP_BY")
        records = await asyncio.to_thread(offline_records, self.cache_dir, await self._collection())
        records = filter_records(records, category=_category(request.category), provider=request.provider.strip() or None)
        groups = browse(records, by=by)
        return pb.BrowseModelsResponse(groups=[pb.ModelGroup(key=k, models=[to_proto(r) for r in v]) for k, v in groups.items() if v or by == "category"])

    async def ListCategories(self, request, context) -> pb.ListCategoriesResponse:
        return pb.ListCategoriesResponse(categories=list(categories.CATEGORIES), rule=CATEGORY_RULE)

    async def CreateModel(self, request, context) -> model_pb2.Model:
        m = request.model
        model_id = m.id.strip() or m.name.strip().removeprefix("models/")
        if not model_id:
            raise InvalidArgument("model.id is required, e.g. 'meta-llama/Llama-3.1-8B-Instruct'", reason="MISSING_MODEL_ID")
        kind, _ = resolve_model_ref(model_id, self.model_roots)  # raises InvalidArgument naming what is wrong with the id
        if kind == "fine_tuned" or m.HasField("fine_tuned"):
            return await self._register(model_id, m)
        known = known_record(model_id)
        given = {
            "name": m.display_name.strip() or None,
            "provider": m.provider.strip() or None,
            "category": _category(m.category),
            "description": m.description or (known.description if known else ""),
        }
        if known is not None:
            record = known.replace(**{k: v for k, v in given.items() if v})
        else:
            record = make_record(model_id, source="collection", tags=tuple(m.tags), pipeline_tag=m.pipeline_tag or None, architecture=m.architecture or None, **given)
        model = to_proto(record.replace(source="collection"))  # before storing: what cannot be answered is not kept
        model.add_time.FromDatetime((await self.store.add(record)).add_time)
        return model

    async def _register(self, model_id: str, m: model_pb2.Model) -> model_pb2.Model:
        """A model fine-tuned here, registered by the jobs service when its job completes."""
        name = fine_tuned_name(model_id)
        origin = m.fine_tuned
        if name is None or not origin.job or not origin.base_model:
            raise InvalidArgument(f"a fine-tuned model is registered as '{FINE_TUNED_NAMESPACE}/<name>' with fine_tuned.job and "
                                  f"fine_tuned.base_model (the jobs service does it when a job completes); got {model_id!r}",
                                  reason="INVALID_FINE_TUNED_MODEL", metadata={"field": "model.fine_tuned"})
        base = known_record(origin.base_model) or make_record(origin.base_model, source="collection")
        record = make_record(
            model_id, source="collection", name=m.display_name.strip() or name, provider="Fine-tuned here",
            category=categories.FINE_TUNED, parameter_count=base.parameter_count, architecture=base.architecture,
            is_causal_lm=True, fine_tunable=True, tags=tuple(m.tags) or ("fine-tuned",),
            description=m.description or f"{origin.base_model} fine-tuned by {origin.job} on {origin.dataset or 'its dataset'}",
            fine_tuned=json_format.MessageToDict(origin, preserving_proto_field_name=True))
        model = to_proto(record)
        model.add_time.FromDatetime((await self.store.add(record)).add_time)
        return model

    async def GetModel(self, request, context) -> model_pb2.Model:
        return row_to_proto(await self.store.get(_model_id_from_name(request.name)))

    async def ListModels(self, request, context) -> pb.ListModelsResponse:
        size = clamp_page_size(request.page_size)
        offset = page_offset(request.page_token)
        rows = await self.store.all()
        by_id = {r.model_id: r for r in rows}
        records = filter_records(
            [record_from_row(r) for r in rows],
            query=request.query.strip() or None,
            category=_category(request.category),
            provider=request.provider.strip() or None,
        )
        page = records[offset : offset + size]
        return pb.ListModelsResponse(
            models=[row_to_proto(by_id[r.id]) for r in page],
            next_page_token=next_page_token(offset, size, len(page), len(records)),
            total_size=len(records),
        )

    async def _origin(self, model_id: str) -> dict:
        try:
            row = await self.store.get(model_id)
        except NotFound:
            raise NotFound(f"there is no fine-tuned model {model_id!r}: a job that saves its model under a model_name registers "
                           "it when it completes (ListModels with category Fine-tuned lists them)",
                           reason="FINE_TUNED_MODEL_NOT_FOUND", metadata={"model_id": model_id}) from None
        return record_from_row(row).fine_tuned or {}

    async def DeleteModel(self, request, context) -> empty_pb2.Empty:
        model_id = _model_id_from_name(request.name)
        if fine_tuned_name(model_id) is not None:
            await self._delete_fine_tuned(model_id)
        await self.store.delete(model_id)
        return empty_pb2.Empty()

    async def _delete_fine_tuned(self, model_id: str) -> None:
        """A fine-tuned model's files go with it, but only when no unfinished job trains from it; a refusal
        or a trainer that cannot be reached keeps both the entry and the files."""
        origin = await self._origin(model_id)
        files = self.saved_models is not None and origin.get("run") and origin.get("trainer")
        if files:
            self.saved_models.check(origin["trainer"])  # before anything is asked or deleted
        if self.job_users is not None:
            await self.job_users.refuse_if_needed(f"model {model_id!r}", "MODEL_IN_USE", model=model_id)
        if files:
            await self.saved_models.delete(origin["trainer"], origin["run"])

    async def CheckModelAvailability(self, request, context) -> model_pb2.ModelAvailability:
        model_id, origin = request.model_id, None
        if fine_tuned_name(model_id.strip()) is not None:  # checked as the model it was fine-tuned from
            origin = await self._origin(model_id.strip())
            model_id = origin["base_model"]
        report = await asyncio.to_thread(
            check_availability,
            model_id,
            data_dir=self.data_dir,
            hub=None if self.hub is None or self.hub.offline else self.hub,
            cache_dir=self.cache_dir,
            batch_size=request.batch_size or 8,
            seq_len=request.seq_len or 512,
            lora_r=request.lora_r or 16,
            device_memory_info=machine_memory(),
            local_roots=self.model_roots,
        )
        if origin is not None:
            report.model_id, report.locations = request.model_id.strip(), ["fine_tuned"]
            report.local_path = origin.get("model_dir") or origin.get("adapter_dir", "")
            report.notes.append(f"fine-tuned from {origin['base_model']} by {origin['job']}; its files are on the trainer at "
                                f"{origin.get('trainer') or 'the address the job ran on'}")
        d = report.to_dict()
        d["gated"] = "" if d["gated"] is False else str(d["gated"]) if d["gated"] is not True else "manual"
        return model_pb2.ModelAvailability(**{k: v for k, v in d.items() if v is not None})


def to_proto(record: ModelRecord) -> model_pb2.Model:
    d = record.to_dict()
    gated = d.pop("gated")
    return model_pb2.Model(
        name=f"models/{record.id}",
        id=record.id,
        display_name=record.name,
        provider=record.provider,
        category=record.category,
        parameters=record.parameters,
        downloads=_int64(record.downloads),
        likes=_int64(record.likes),
        description=record.description or "",
        parameter_count=_int64(record.parameter_count),
        download_size_bytes=_int64(record.download_size_bytes),
        license=record.license or "",
        gated="" if gated is False else ("manual" if gated is True else str(gated)),
        pipeline_tag=record.pipeline_tag or "",
        tags=list(record.tags),
        library=record.library or "",
        architecture=record.architecture or "",
        fine_tunable=record.fine_tunable,
        fine_tune_note=record.fine_tune_note,
        use_case=record.use_case,
        source=record.source,
        fine_tuned=json_format.ParseDict(record.fine_tuned, model_pb2.FineTunedOrigin()) if record.fine_tuned else None,
    )


def _int64(value: int | None) -> int:
    """A count for an int64 field; 0 (unknown) for none, or for one no int64 holds (kept by an older version)."""
    return value if isinstance(value, int) and 0 <= value < 2**63 else 0


def row_to_proto(row: CollectionRow) -> model_pb2.Model:
    model = to_proto(record_from_row(row))
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(row.add_time)
    model.add_time.CopyFrom(ts)
    return model
