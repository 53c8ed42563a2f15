"""A dataset service whose rows come only when the test says so: a preparation as slow as a test needs.

    gate = SlowDatasets(rows)            # ReadDatasetRows of any dataset waits for gate.release()
    host, port = gate.build(settings)    # a `build_server`-style factory, in process on port 0

`reads` counts the ReadDatasetRows calls of the training split (one per preparation), `waiting` is set
while one waits at the gate. The dataset has no validation split (the trainer trains without evaluation).
"""

from __future__ import annotations

import asyncio

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc
from services.common.errors import FailedPrecondition
from services.common.server import create_host


class SlowDatasets(dataset_service_pb2_grpc.DatasetServiceServicer):
    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.reads = 0
        self.metadata_seen: list[dict] = []  # each ReadDatasetRows call's metadata
        self.waiting = asyncio.Event()
        self._open = asyncio.Event()

    def release(self) -> None:
        self._open.set()

    async def ReadDatasetRows(self, request, context):
        self.metadata_seen.append(dict(context.invocation_metadata()))
        if request.split == dataset_pb2.SPLIT_VALIDATION:
            raise FailedPrecondition(f"dataset {request.name!r} has no validation split", reason="NO_VALIDATION_SPLIT")
        self.reads += 1
        self.waiting.set()
        await self._open.wait()
        yield dataset_service_pb2.ReadDatasetRowsResponse(
            rows=[dataset_pb2.DatasetRow(index=i, input=r["input"], output=r["output"]) for i, r in enumerate(self.rows)],
            total_rows=len(self.rows))

    def build(self, settings):
        host = create_host(settings, [(dataset_service_pb2_grpc.add_DatasetServiceServicer_to_server, self)],
                           ["finetune.dataset.v1.DatasetService"])
        return host, host.port
