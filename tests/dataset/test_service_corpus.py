"""Every case of the bad-input corpus through the real gRPC server: the right status, reason and message,
or the right preview; uploads of valid files round-trip through the row stream. Never INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.dataset.server import build_server
from tests.dataset.corpus import CASES, MB, Case, generated_csv
from tests.dataset.test_service import preview_stream, upload_stream
from tests.grpc_harness import expect_error, running


def settings_for(make_settings, tmp_path, case: Case):
    env = {"FINETUNE_DATASET_MAX_UPLOAD_MB": str(case.max_bytes // MB), "FINETUNE_DATASET_MAX_CELL_CHARS": str(case.max_cell_chars)}
    return make_settings("dataset", env, database_url=f"sqlite+aiosqlite:///{tmp_path / 'corpus.db'}")


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_corpus_case_over_grpc(case: Case, make_settings, tmp_path):
    assert case.max_bytes % MB == 0, "the service's limit is set in whole megabytes"
    async with running(build_server, settings_for(make_settings, tmp_path, case)) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        if case.expect_error:
            code = grpc.StatusCode[case.expect_error_class.grpc_code]
            await expect_error(stub.PreviewDataset(preview_stream(case.data, case.filename)), code, case.expect_error, case.expect_message)
            await expect_error(stub.UploadDataset(upload_stream(case.data, case.filename)), code, case.expect_error, case.expect_message)
            return

        preview = await stub.PreviewDataset(preview_stream(case.data, case.filename))
        for phrase in case.expect_in_errors:
            assert any(phrase in e for e in preview.validation_errors), (phrase, list(preview.validation_errors))
        for phrase in case.expect_in_warnings:
            assert any(phrase in w for w in preview.warnings), (phrase, list(preview.warnings))
        if case.expect_columns is not None:
            assert tuple(preview.columns[: len(case.expect_columns)]) == case.expect_columns
        if case.expect_rows is not None:
            assert preview.statistics.total_rows == case.expect_rows

        if preview.validation_errors:
            assert case.expect_valid is not True
            await expect_error(stub.UploadDataset(upload_stream(case.data, case.filename)), grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
            return
        saved = await stub.UploadDataset(upload_stream(case.data, case.filename))
        rows = [r async for b in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=saved.name)) for r in b.rows]
        assert len(rows) == preview.statistics.total_rows
        if case.expect_first_row is not None:
            assert {"input": rows[0].input, "output": rows[0].output} == {k: case.expect_first_row[k] for k in ("input", "output")}


async def test_a_100k_row_file_uploads_and_streams_back_intact(make_settings, tmp_path):
    data = generated_csv(100_000, max_input_chars=120, max_output_chars=240, empty_every=0)
    settings = make_settings("dataset", {}, database_url=f"sqlite+aiosqlite:///{tmp_path / 'big.db'}")
    async with running(build_server, settings) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        saved = await stub.UploadDataset(upload_stream(data, "big.csv", chunk=1024 * 1024, validation_fraction=0.05, seed=1))
        assert saved.train_rows + saved.validation_rows == 100_000
        n = 0
        async for batch in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=saved.name, batch_size=5000)):
            assert [r.index for r in batch.rows] == list(range(n, n + len(batch.rows)))
            n += len(batch.rows)
        assert n == saved.train_rows
