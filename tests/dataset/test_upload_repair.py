"""Repair at upload (`metadata.repair`): a file with blank rows, padded cells and duplicates previews as its
repaired rows with what changed, and saves as them; without the flag it is still refused."""

from __future__ import annotations

import grpc
import pytest

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.dataset.server import build_server
from tests.dataset.test_service import preview_stream, upload_stream
from tests.grpc_harness import expect_error, running

BROKEN = (
    "input,output\n"
    + "".join(f"question {i},answer {i}\n" for i in range(10))
    + ",\n"  # row 11: blank
    + "question 11,\n"  # row 12: no output
    + "  question 0  ,answer 0\n"  # row 13: a padded copy of row 1
).encode()


@pytest.fixture
def settings(make_settings, database_url):
    return make_settings("dataset", {}, database_url=database_url)


async def test_preview_with_repair_shows_the_repaired_rows_and_what_changed(settings):
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        plain = await stub.PreviewDataset(preview_stream(BROKEN))
        fixed = await stub.PreviewDataset(preview_stream(BROKEN, repair=True))
    empty = next(i for i in plain.issues if i.code == "EMPTY_ROWS")
    assert list(empty.rows) == [11, 12] and empty.severity == "error"
    assert not plain.HasField("repair")
    assert list(fixed.validation_errors) == [] and fixed.statistics.total_rows == 10
    assert (fixed.repair.rows_before, fixed.repair.rows_after) == (13, 10)
    changes = " | ".join(fixed.repair.changes)
    assert "2 empty rows" in changes and "1 duplicate" in changes and "whitespace" in changes.lower()


async def test_upload_with_repair_saves_the_repaired_rows(settings):
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        await expect_error(stub.UploadDataset(upload_stream(BROKEN, display_name="raw")), grpc.StatusCode.INVALID_ARGUMENT,
                           "VALIDATION_FAILED", "empty rows")
        ds = await stub.UploadDataset(upload_stream(BROKEN, display_name="fixed", repair=True))
        rows = [r async for b in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=ds.name)) for r in b.rows]
    assert ds.train_rows == 10 and ds.statistics.total_rows == 10
    assert [r.input for r in rows] == [f"question {i}" for i in range(10)]


async def test_repair_cannot_invent_a_missing_column(settings):
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        await expect_error(stub.PreviewDataset(preview_stream(b"input\nq\n", repair=True)), grpc.StatusCode.INVALID_ARGUMENT,
                           "MISSING_COLUMN", "fix the header first")
