"""ReadDatasetRows batches by bytes as well as rows: a dataset of long rows (2,100 of 5,000 characters, about
10 MB, against the 8 MB message limit) reads whole with the batch size the trainer asks for."""

from __future__ import annotations

import csv
import io

import grpc

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc
from services.dataset.server import build_server
from services.trainer.rows import fetch_dataset_rows
from tests.dataset.test_service import upload_stream
from tests.jobs.helpers import serve


def long_rows(count: int, chars: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["input", "output"])
    for i in range(count):
        writer.writerow([f"question {i} " + "x" * (chars - 20), f"answer {i}"])
    return out.getvalue().encode()


async def test_long_rows_are_sent_in_messages_under_the_limit(make_settings):
    settings = make_settings("dataset")
    async with serve(build_server, settings) as (_, address), grpc.aio.insecure_channel(address) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        saved = await stub.UploadDataset(upload_stream(long_rows(2100, 5000), chunk=1024 * 1024))
        messages = [m async for m in stub.ReadDatasetRows(pb.ReadDatasetRowsRequest(name=saved.name, batch_size=2048))]
        assert len(messages) > 2 and all(m.ByteSize() <= settings.max_message_bytes // 2 for m in messages)
        assert [r.index for m in messages for r in m.rows] == list(range(2100))
        train, validation = await fetch_dataset_rows(address, saved.name)  # what the trainer reads
        assert len(train) == 2100 and validation == [] and len(train[-1]["input"]) > 4900
