"""With FINETUNE_API_TOKEN set, the whole job path works: every service-to-service call carries the token
(gateway -> services, jobs -> dataset, catalog and trainer, trainer -> dataset rows, dataset -> jobs before a
delete). The suite runs as `make run` starts it: the launcher and one process per service."""

from __future__ import annotations

import asyncio
import time

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from finetune.dataset.v1 import dataset_service_pb2 as dpb, dataset_service_pb2_grpc
from services.trainer.synthetic import synthetic_rows
from tests.suite import running_suite

pytestmark = pytest.mark.slow

TOKEN = "s3cret-suite-token"


def dataset_csv() -> bytes:
    rows = synthetic_rows(24, seed=5, min_length=5, max_length=30)
    return ("input,output\n" + "".join(f"{r['input']},{r['output']}\n" for r in rows)).encode()


def test_a_job_trains_end_to_end_with_the_api_token_set(tmp_path):
    with running_suite(tmp_path, FINETUNE_API_TOKEN=TOKEN) as suite:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=suite.url, timeout=60) as http:
            assert http.post("/api/datasets", files={"file": ("d.csv", dataset_csv())}).status_code == 401
            saved = http.post("/api/datasets", files={"file": ("d.csv", dataset_csv())}, data={"name": "tokened"}, headers=auth)
            assert saved.status_code == 200, saved.text
            dataset = saved.json()["uid"]
            job = {"name": "with a token", "configuration": {
                "model": {"uid": "finetune-builtin/tiny-llama-3m"}, "dataset": {"uid": dataset},
                "hyperparameters": {"learning_rate": 0.001, "batch_size": 4, "epochs": 1, "max_steps": 2, "max_seq_length": 64}}}
            created = http.post("/api/jobs", json=job, headers=auth)
            assert created.status_code == 200, created.text
            job_id = created.json()["jobUid"]
            deadline = time.monotonic() + 300
            while True:
                state = http.get(f"/api/jobs/{job_id}", headers=auth).json()
                if state["state"].lower().endswith(("completed", "failed", "cancelled")):
                    break
                assert time.monotonic() < deadline, state
                time.sleep(1)
            assert state["state"].lower().endswith("completed"), state  # the trainer read the rows with the token
            assert int(state["metrics"]["step"]) == 2
            # The dataset service asks the jobs service (with the token) before it deletes.
            assert http.delete(f"/v1/datasets/{dataset}", headers=auth).status_code == 200
        asyncio.run(_grpc_port_requires_the_token(f"127.0.0.1:{suite.service_ports['dataset']}"))


async def _grpc_port_requires_the_token(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListDatasets(dpb.ListDatasetsRequest())
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        listed = await stub.ListDatasets(dpb.ListDatasetsRequest(), metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert listed.total_size == 0
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())  # no token needed
        assert health.status == health_pb2.HealthCheckResponse.SERVING
