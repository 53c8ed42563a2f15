"""The DatasetService servicer: reads the request, calls the dataset domain code, answers protos."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import AsyncIterator

import pandas as pd
from google.protobuf import empty_pb2, struct_pb2, timestamp_pb2

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc
from services.common.errors import FailedPrecondition, InvalidArgument, PayloadTooLarge
from services.common.ids import clamp_page_size, new_id, next_page_token, page_offset, parse_name
from services.dataset.canonical import read_canonical_csv, to_canonical_csv
from services.dataset.parsing import ParsedTable, format_size, parse_upload
from services.dataset.repair import repair
from services.dataset.splits import split_frame
from services.dataset.store import DatasetRow, DatasetStore, content_sha256
from services.common.job_users import JobsUsers
from services.dataset.validation import to_preview_dict, validate

MAX_PREVIEW_ROWS = 100
DRAIN_LIMIT_BYTES = 256 * 1024 * 1024  # how much of an over-limit upload is read and dropped before giving up
UPDATABLE = ("display_name", "description", "tags")


class DatasetServicer(dataset_service_pb2_grpc.DatasetServiceServicer):
    def __init__(self, store: DatasetStore, *, max_upload_bytes: int, max_cell_chars: int, users: JobsUsers | None = None,
                 max_response_bytes: int = 4 * 2**20):
        self.store = store
        self.max_response_bytes = max_response_bytes  # a ReadDatasetRows message stays under this, whatever the batch size
        self.users = users  # the unfinished jobs that need a dataset (None: no jobs service to ask)
        self.max_upload_bytes = max_upload_bytes
        self.max_cell_chars = max_cell_chars

    # --- uploads -------------------------------------------------------------------------------

    async def _receive(self, request_iterator) -> tuple[dataset_service_pb2.UploadMetadata, bytes, bytes]:
        """Collect a metadata-then-chunks stream; past the size limit the rest is read, dropped and refused."""
        metadata = None
        train, validation = bytearray(), bytearray()
        received = 0
        async for message in request_iterator:
            if received > self.max_upload_bytes:
                # Past the limit: read the rest and drop it, so the client finishes sending and gets our
                # status (aborting mid-stream can reach it as INTERNAL); give up on endless streams.
                received += message.ByteSize()
                if received > self.max_upload_bytes + DRAIN_LIMIT_BYTES:
                    break
                continue
            kind = message.WhichOneof("payload")
            if kind == "metadata":
                if metadata is not None:
                    raise InvalidArgument("metadata was sent twice; send it once, first", reason="BAD_UPLOAD_STREAM")
                metadata = message.metadata
                continue
            if metadata is None:
                raise InvalidArgument("the first message of an upload must carry the metadata (filename)", reason="BAD_UPLOAD_STREAM")
            target = validation if kind == "validation_chunk" else train
            target.extend(getattr(message, kind))
            received = len(train) + len(validation)
            if received > self.max_upload_bytes:
                train.clear()
                validation.clear()
        if received > self.max_upload_bytes:
            raise PayloadTooLarge(
                f"File exceeds {format_size(self.max_upload_bytes)} limit (received {format_size(received)}); "
                "split it or raise FINETUNE_DATASET_MAX_UPLOAD_MB",
                metadata={"limit_bytes": self.max_upload_bytes},
            )
        if metadata is None:
            raise InvalidArgument("the upload stream was empty: send metadata and then the file's bytes", reason="BAD_UPLOAD_STREAM")
        if not metadata.filename.strip():
            raise InvalidArgument("metadata.filename is required (its extension tells CSV from JSONL)", reason="MISSING_FILENAME")
        return metadata, bytes(train), bytes(validation)

    def _check(self, data: bytes, filename: str, preview_rows: int = 5, *, clean: bool = False):
        """Parse and validate an upload; with `clean`, repair it first (the preview says what changed)."""
        table = parse_upload(data, filename, max_bytes=self.max_upload_bytes, max_cell_chars=self.max_cell_chars)
        summary = None
        if clean:
            fixed, report = repair(table)
            table = dataclasses.replace(table, frame=fixed)
            summary = {"rows_before": report.rows_before, "rows_after": report.rows_after, "changes": report.repairs}
        preview = to_preview_dict(validate(table, preview_rows=preview_rows))
        if summary is not None:
            preview["repair"] = summary
        return table, preview

    async def PreviewDataset(self, request_iterator, context) -> dataset_pb2.DatasetPreview:
        metadata, data, _ = await self._receive(request_iterator)
        rows = metadata.preview_rows or 5
        if not 1 <= rows <= MAX_PREVIEW_ROWS:
            raise InvalidArgument(f"preview_rows must be between 1 and {MAX_PREVIEW_ROWS}", reason="INVALID_PREVIEW_ROWS")
        _, preview = await asyncio.to_thread(self._check, data, metadata.filename, rows, clean=metadata.repair)
        return preview_to_proto(preview)

    async def UploadDataset(self, request_iterator, context) -> dataset_pb2.Dataset:
        metadata, data, validation_data = await self._receive(request_iterator)
        if not 0 <= metadata.validation_fraction <= 0.5:
            raise InvalidArgument("validation_fraction must be between 0 and 0.5", reason="INVALID_VALIDATION_FRACTION")
        if validation_data and metadata.validation_fraction:
            raise InvalidArgument("send either a validation file or a validation_fraction, not both", reason="CONFLICTING_VALIDATION_SPLIT")
        row, blobs = await asyncio.to_thread(self._prepare_upload, metadata, data, validation_data)
        return to_proto(await self.store.add(row, blobs))

    def _prepare_upload(self, metadata, data: bytes, validation_data: bytes) -> tuple[DatasetRow, dict[str, bytes]]:
        table, preview = self._check(data, metadata.filename, clean=metadata.repair)
        _refuse_invalid(preview, metadata.filename)
        frame = table.frame
        if validation_data:
            vname = metadata.validation_filename or "validation" + metadata.filename[metadata.filename.rfind(".") :]
            vtable, vpreview = self._check(validation_data, vname, clean=metadata.repair)
            _refuse_invalid(vpreview, vname)
            train, val = frame, vtable.frame
        else:
            train, val = split_frame(frame, metadata.validation_fraction, metadata.seed)
        return self._new_row(
            train,
            val,
            display_name=metadata.display_name.strip() or metadata.filename[:DatasetRow.display_name.type.length],
            description=metadata.description,
            tags=_clean_tags(metadata.tags),
            filename=metadata.filename,
            size_bytes=len(data) + len(validation_data),
            preview=preview,
        )

    def _new_row(self, train: pd.DataFrame, val: pd.DataFrame | None, *, preview: dict,
                 **fields) -> tuple[DatasetRow, dict[str, bytes]]:
        """The row and its split files by content hash; the store writes the files with the row."""
        train_content = to_canonical_csv(train)
        val_content = to_canonical_csv(val) if val is not None and len(val) else None
        train_sha, val_sha = content_sha256(train_content), val_content and content_sha256(val_content)
        blobs = {train_sha: train_content, **({val_sha: val_content} if val_content else {})}
        row = DatasetRow(
            id=new_id("dataset"),
            train_sha256=train_sha,
            validation_sha256=val_sha,
            train_rows=len(train),
            validation_rows=0 if val is None else len(val),
            columns=list(preview["columns"]),
            statistics=preview["statistics"]
            | {k: preview.get(k) for k in ("column_stats", "empty_rows", "duplicate_rows", "row_tokens_est_histogram")},
            warnings=list(preview.get("warnings", [])),
            format=preview.get("format", ""),
            encoding=preview.get("encoding", ""),
            **fields,
        )
        return row, blobs

    # --- standard methods ----------------------------------------------------------------------

    async def GetDataset(self, request, context) -> dataset_pb2.Dataset:
        return to_proto(await self.store.get(parse_name(request.name, "datasets")))

    async def ListDatasets(self, request, context) -> dataset_service_pb2.ListDatasetsResponse:
        size = clamp_page_size(request.page_size)
        offset = page_offset(request.page_token)
        rows, total = await self.store.list(offset, size, tag=request.tag.strip())
        return dataset_service_pb2.ListDatasetsResponse(
            datasets=[to_proto(r) for r in rows],
            next_page_token=next_page_token(offset, size, len(rows), total),
            total_size=total,
        )

    async def UpdateDataset(self, request, context) -> dataset_pb2.Dataset:
        dataset_id = parse_name(request.dataset.name, "datasets")
        paths = list(request.update_mask.paths) or list(UPDATABLE)
        bad = [p for p in paths if p not in UPDATABLE]
        if bad:
            raise InvalidArgument(f"cannot update {', '.join(bad)}; updatable fields are {', '.join(UPDATABLE)}", reason="FIELD_NOT_UPDATABLE")
        values = {p: getattr(request.dataset, p) for p in paths}
        if "tags" in values:
            values["tags"] = _clean_tags(values["tags"])
        if "display_name" in values and not values["display_name"].strip():
            raise InvalidArgument("display_name must not be blank", reason="INVALID_DISPLAY_NAME")
        return to_proto(await self.store.update(dataset_id, **values))

    async def DeleteDataset(self, request, context) -> empty_pb2.Empty:
        dataset_id = parse_name(request.name, "datasets")
        await self.store.get(dataset_id)
        if self.users is not None:
            await self.users.refuse_if_needed(f"dataset 'datasets/{dataset_id}'", "DATASET_IN_USE", dataset=f"datasets/{dataset_id}")
        await self.store.delete(dataset_id)
        return empty_pb2.Empty()

    # --- rows and repair -----------------------------------------------------------------------

    async def ReadDatasetRows(self, request, context) -> AsyncIterator[dataset_service_pb2.ReadDatasetRowsResponse]:
        row = await self.store.get(parse_name(request.name, "datasets"))
        batch = request.batch_size or 512
        if not 1 <= batch <= 10_000:
            raise InvalidArgument("batch_size must be between 1 and 10000", reason="INVALID_BATCH_SIZE")
        if request.offset < 0:
            raise InvalidArgument("offset must not be negative", reason="INVALID_OFFSET")
        frame = await asyncio.to_thread(self._split_frame, row, request.split)
        total = len(frame)
        inputs, outputs = frame["input"].tolist(), frame["output"].tolist()
        rows, size = [], 0
        for i in range(int(request.offset), total):
            item = dataset_pb2.DatasetRow(index=i, input=inputs[i], output=outputs[i])
            if rows and (len(rows) == batch or size + item.ByteSize() > self.max_response_bytes):
                yield dataset_service_pb2.ReadDatasetRowsResponse(rows=rows, total_rows=total)
                rows, size = [], 0
            rows.append(item)
            size += item.ByteSize() + 8  # and the field's tag and length
        if rows or request.offset >= total:
            yield dataset_service_pb2.ReadDatasetRowsResponse(rows=rows, total_rows=total)

    def _split_frame(self, row: DatasetRow, split: int) -> pd.DataFrame:
        if split == dataset_pb2.SPLIT_VALIDATION:
            if not row.validation_sha256:
                raise FailedPrecondition(
                    f"dataset 'datasets/{row.id}' has no validation split; upload one with validation_fraction or a validation file",
                    reason="NO_VALIDATION_SPLIT",
                )
            return read_canonical_csv(self.store.blobs.read(row.validation_sha256))
        return read_canonical_csv(self.store.blobs.read(row.train_sha256))

    async def RepairDataset(self, request, context) -> dataset_service_pb2.RepairDatasetResponse:
        source = await self.store.get(parse_name(request.name, "datasets"))
        for field in ("min_input_chars", "max_input_chars", "min_output_chars", "max_output_chars"):
            if getattr(request, field) < 0:
                raise InvalidArgument(f"{field} must not be negative (0 means no limit)", reason="INVALID_LENGTH_FILTER")
        new_row, blobs, report = await asyncio.to_thread(self._repair, source, request)
        await self.store.add(new_row, blobs)
        return dataset_service_pb2.RepairDatasetResponse(
            dataset=to_proto(new_row), rows_before=report.rows_before, rows_after=report.rows_after, changes=report.repairs
        )

    def _repair(self, source: DatasetRow, request):
        frame = read_canonical_csv(self.store.blobs.read(source.train_sha256))
        val = read_canonical_csv(self.store.blobs.read(source.validation_sha256)) if source.validation_sha256 else None
        options = dict(
            drop_empty=not request.keep_empty,
            strip=not request.keep_whitespace,
            drop_duplicates=not request.keep_duplicates,
            min_input_chars=request.min_input_chars or None,
            max_input_chars=request.max_input_chars or None,
            min_output_chars=request.min_output_chars or None,
            max_output_chars=request.max_output_chars or None,
        )
        fixed, report = repair(frame, **options)
        if len(fixed) == 0:
            raise FailedPrecondition(
                f"repair would leave no rows in 'datasets/{source.id}' ({'; '.join(report.repairs)}); loosen the length filters",
                reason="NOTHING_LEFT",
            )
        if val is not None:
            val, _ = repair(val, **options)
        table = ParsedTable(
            frame=fixed, filename=source.filename, format=source.format, encoding="utf-8", delimiter=",",
            original_columns=list(fixed.columns), size_bytes=source.size_bytes,
        )
        preview = to_preview_dict(validate(table, preview_rows=5))
        row, blobs = self._new_row(
            fixed,
            val,
            display_name=request.display_name.strip() or f"{source.display_name} (repaired)",
            description=source.description,
            tags=list(source.tags or []),
            filename=source.filename,
            size_bytes=source.size_bytes,
            preview=preview,
        )
        row.source_dataset = f"datasets/{source.id}"
        return row, blobs, report


def _refuse_invalid(preview: dict, filename: str) -> None:
    errors = preview["validation_errors"]
    if errors:
        raise InvalidArgument(
            f"{filename} cannot be saved: " + "; ".join(errors),
            reason="VALIDATION_FAILED",
            metadata={"validation_errors": " | ".join(errors)},
        )


def _clean_tags(tags) -> list[str]:
    out: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > 64:
            raise InvalidArgument(f"tag {tag[:20]!r}... is longer than 64 characters", reason="INVALID_TAG")
        if tag not in out:
            out.append(tag)
    return out


def _ts(value) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def statistics_to_proto(stats: dict) -> dataset_pb2.DatasetStatistics:
    return dataset_pb2.DatasetStatistics(
        total_rows=int(stats.get("total_rows", 0)),
        total_columns=int(stats.get("total_columns", 0)),
        has_required_columns=bool(stats.get("has_required_columns", False)),
        empty_rows=int(stats.get("empty_rows", 0)),
        duplicate_rows=int(stats.get("duplicate_rows", 0)),
        column_stats=[dataset_pb2.ColumnStatistics(**c) for c in (stats.get("column_stats") or {}).values()],
        row_tokens_est_histogram=stats.get("row_tokens_est_histogram") or {},
    )


def preview_to_proto(preview: dict) -> dataset_pb2.DatasetPreview:
    data = []
    for record in preview["data"]:
        s = struct_pb2.Struct()
        s.update(record)
        data.append(s)
    stats = preview["statistics"] | {k: preview.get(k) for k in ("column_stats", "row_tokens_est_histogram")}
    return dataset_pb2.DatasetPreview(
        filename=preview["filename"],
        columns=preview["columns"],
        data=data,
        validation_errors=preview["validation_errors"],
        statistics=statistics_to_proto(stats | {"empty_rows": preview.get("empty_rows", 0), "duplicate_rows": preview.get("duplicate_rows", 0)}),
        warnings=preview.get("warnings", []),
        issues=[dataset_pb2.ValidationIssue(code=i["code"], severity=i["severity"], message=i["message"], rows=i.get("rows", []), count=i.get("count", 0)) for i in preview.get("issues", [])],
        format=preview.get("format", ""),
        encoding=preview.get("encoding", ""),
        delimiter=preview.get("delimiter") or "",
        original_columns=preview.get("original_columns", []),
        repair=preview.get("repair"),
    )


def to_proto(row: DatasetRow) -> dataset_pb2.Dataset:
    return dataset_pb2.Dataset(
        name=f"datasets/{row.id}",
        uid=row.id,
        display_name=row.display_name,
        description=row.description or "",
        tags=list(row.tags or []),
        filename=row.filename or "",
        content_sha256=row.train_sha256,
        size_bytes=row.size_bytes or 0,
        columns=list(row.columns or []),
        train_rows=row.train_rows,
        validation_rows=row.validation_rows,
        statistics=statistics_to_proto(row.statistics or {}),
        warnings=list(row.warnings or []),
        format=row.format or "",
        encoding=row.encoding or "",
        source_dataset=row.source_dataset or "",
        create_time=_ts(row.create_time),
        update_time=_ts(row.update_time),
    )
