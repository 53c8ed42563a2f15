"""The dataset service over gRPC, in process on port 0, on SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.dataset.server import build_server
from tests.grpc_harness import expect_error, running

GOOD_CSV = "input,output\n" + "".join(f'"question {i}, please","answer number {i}"\n' for i in range(120))


def upload_stream(data: bytes, filename="data.csv", chunk=64 * 1024, validation: bytes = b"", message=pb.UploadDatasetRequest, **meta):
    yield message(metadata=pb.UploadMetadata(filename=filename, **meta))
    for i in range(0, len(data), chunk):
        yield message(chunk=data[i : i + chunk])
    for i in range(0, len(validation), chunk):
        yield message(validation_chunk=validation[i : i + chunk])


def preview_stream(data: bytes, filename="data.csv", **meta):
    return upload_stream(data, filename, message=pb.PreviewDatasetRequest, **meta)


@pytest.fixture
def settings(make_settings, database_url):
    return make_settings("dataset", {"FINETUNE_DATASET_MAX_UPLOAD_MB": "2"}, database_url=database_url)


async def test_preview_matches_the_guide_shape(settings):
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        preview = await stub.PreviewDataset(preview_stream(GOOD_CSV.encode()))
    assert preview.filename == "data.csv"
    assert list(preview.columns) == ["input", "output"]
    assert dict(preview.data[0]) == {"input": "question 0, please", "output": "answer number 0"}
    assert list(preview.validation_errors) == []
    assert preview.statistics.total_rows == 120 and preview.statistics.total_columns == 2
    assert preview.statistics.has_required_columns
    assert {c.name for c in preview.statistics.column_stats} == {"input", "output"}


async def test_upload_get_list_update_delete_and_rows(settings):
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        ds = await stub.UploadDataset(
            upload_stream(GOOD_CSV.encode(), display_name="QA", description="pairs", tags=["qa", "qa", " demo "], validation_fraction=0.1, seed=7)
        )
        assert ds.uid.startswith("dataset_") and ds.name == f"datasets/{ds.uid}"
        assert ds.train_rows == 108 and ds.validation_rows == 12
        assert list(ds.tags) == ["qa", "demo"]

        assert (await stub.GetDataset(pb.GetDatasetRequest(name=ds.name))).uid == ds.uid
        # The same file again: a second dataset, one stored file.
        ds2 = await stub.UploadDataset(upload_stream(GOOD_CSV.encode(), display_name="QA again", tags=["other"], validation_fraction=0.1, seed=7))
        assert ds2.content_sha256 == ds.content_sha256

        page = await stub.ListDatasets(pb.ListDatasetsRequest(page_size=1))
        assert len(page.datasets) == 1 and page.next_page_token and page.total_size == 2
        page2 = await stub.ListDatasets(pb.ListDatasetsRequest(page_size=1, page_token=page.next_page_token))
        assert len(page2.datasets) == 1 and not page2.next_page_token
        assert {page.datasets[0].uid, page2.datasets[0].uid} == {ds.uid, ds2.uid}
        tagged = await stub.ListDatasets(pb.ListDatasetsRequest(tag="demo"))
        assert [d.uid for d in tagged.datasets] == [ds.uid]

        updated = await stub.UpdateDataset(
            pb.UpdateDatasetRequest(dataset=dataset_pb2.Dataset(name=ds.name, description="new"), update_mask=field_mask_pb2.FieldMask(paths=["description"]))
        )
        assert updated.description == "new" and updated.display_name == "QA"

        rows = [r async for batch in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=ds.name, batch_size=50)) for r in batch.rows]
        val = [r async for batch in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=ds.name, split=dataset_pb2.SPLIT_VALIDATION)) for r in batch.rows]
        assert len(rows) == 108 and len(val) == 12 and [r.index for r in rows] == list(range(108))
        assert {r.input for r in rows} | {r.input for r in val} == {f"question {i}, please" for i in range(120)}
        tail = [r async for b in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=ds.name, offset=100)) for r in b.rows]
        assert [r.index for r in tail] == list(range(100, 108))

        blob = settings.data_dir / "datasets" / "blobs" / ds.content_sha256[:2] / f"{ds.content_sha256}.csv"
        assert blob.exists()
        await stub.DeleteDataset(pb.DeleteDatasetRequest(name=ds.name))
        assert blob.exists(), "still used by the second dataset"
        await expect_error(stub.GetDataset(pb.GetDatasetRequest(name=ds.name)), grpc.StatusCode.NOT_FOUND, "DATASET_NOT_FOUND")
        await stub.DeleteDataset(pb.DeleteDatasetRequest(name=ds2.name))
        assert not blob.exists(), "removed once nothing uses it"


async def test_upload_with_a_validation_file(settings):
    val = "input,output\nq1,a1\nq2,a2\n"
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        ds = await stub.UploadDataset(upload_stream(GOOD_CSV.encode(), validation=val.encode(), validation_filename="val.csv"))
        assert ds.train_rows == 120 and ds.validation_rows == 2
        await expect_error(
            stub.UploadDataset(upload_stream(GOOD_CSV.encode(), validation=val.encode(), validation_fraction=0.2)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "CONFLICTING_VALIDATION_SPLIT",
        )


async def test_repair_saves_a_new_dataset_and_reports_changes(settings):
    # Whitespace and duplicates are warnings at upload (empty rows would be errors), so this saves.
    messy = "input,output\n" + "".join(f"  q{i}  ,a{i}\n" for i in range(10)) + "q1,a1\nq1,a1\n"
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        ds = await stub.UploadDataset(upload_stream(messy.encode()))
        result = await stub.RepairDataset(pb.RepairDatasetRequest(name=ds.name))
        assert result.rows_before == 12 and result.rows_after == 10
        assert result.dataset.source_dataset == ds.name and result.dataset.uid != ds.uid
        assert any("duplicate" in c.lower() for c in result.changes)
        rows = [r async for b in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=result.dataset.name)) for r in b.rows]
        assert rows[0].input == "q0"
        await expect_error(
            stub.RepairDataset(pb.RepairDatasetRequest(name=ds.name, min_input_chars=1000)),
            grpc.StatusCode.FAILED_PRECONDITION,
            "NOTHING_LEFT",
        )


async def test_bad_requests_get_clear_errors(settings):
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        await expect_error(stub.GetDataset(pb.GetDatasetRequest(name="datasets/NOPE!")), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME", "datasets/{id}")
        await expect_error(stub.GetDataset(pb.GetDatasetRequest(name="datasets/dataset_1_abc")), grpc.StatusCode.NOT_FOUND, "DATASET_NOT_FOUND")
        await expect_error(stub.ListDatasets(pb.ListDatasetsRequest(page_token="###")), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
        await expect_error(
            stub.UploadDataset(iter([pb.UploadDatasetRequest(chunk=b"input,output\n")])), grpc.StatusCode.INVALID_ARGUMENT, "BAD_UPLOAD_STREAM", "metadata"
        )
        await expect_error(
            stub.UploadDataset(upload_stream(b"input\nonly\n")), grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED", "Missing required 'output' column"
        )
        await expect_error(
            stub.UploadDataset(upload_stream(GOOD_CSV.encode(), validation_fraction=0.9)), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_VALIDATION_FRACTION"
        )
        too_big = b"input,output\n" + b"x,y\n" * 600_000  # 2.4 MB against a 2 MB limit
        await expect_error(stub.PreviewDataset(preview_stream(too_big)), grpc.StatusCode.RESOURCE_EXHAUSTED, "PAYLOAD_TOO_LARGE", "2MB")
        ds = await stub.UploadDataset(upload_stream(GOOD_CSV.encode()))
        await expect_error(
            stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=ds.name, split=dataset_pb2.SPLIT_VALIDATION)).read(),
            grpc.StatusCode.FAILED_PRECONDITION,
            "NO_VALIDATION_SPLIT",
        )
        await expect_error(
            stub.UpdateDataset(pb.UpdateDatasetRequest(dataset=dataset_pb2.Dataset(name=ds.name), update_mask=field_mask_pb2.FieldMask(paths=["uid"]))),
            grpc.StatusCode.INVALID_ARGUMENT,
            "FIELD_NOT_UPDATABLE",
        )


async def test_health_and_reflection(settings):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with running(build_server, settings) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        resp = await health.Check(health_pb2.HealthCheckRequest(service="finetune.dataset.v1.DatasetService"))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        names = []
        async for r in refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])):
            names = [s.name for s in r.list_services_response.service]
        assert "finetune.dataset.v1.DatasetService" in names


async def test_names_longer_than_their_columns_are_invalid_argument_on_every_database(settings):
    """PostgreSQL refused a display name over 256 or a filename over 512 characters as INTERNAL; SQLite kept them."""
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        for meta, field in ((dict(display_name="n" * 257), "display_name"), (dict(filename="f" * 600 + ".csv"), "filename")):
            _, metadata = await expect_error(stub.UploadDataset(upload_stream(GOOD_CSV.encode(), **({"filename": "data.csv"} | meta))),
                                             grpc.StatusCode.INVALID_ARGUMENT, "VALUE_TOO_LONG", "at most")
            assert metadata["field"] == field
        saved = await stub.UploadDataset(upload_stream(GOOD_CSV.encode(), display_name="n" * 256))
        patch = pb.UpdateDatasetRequest(dataset=dataset_pb2.Dataset(name=saved.name, display_name="m" * 300),
                                        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]))
        await expect_error(stub.UpdateDataset(patch), grpc.StatusCode.INVALID_ARGUMENT, "VALUE_TOO_LONG", "300 characters")
        assert (await stub.GetDataset(pb.GetDatasetRequest(name=saved.name))).display_name == "n" * 256
