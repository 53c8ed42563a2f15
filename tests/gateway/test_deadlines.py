"""The deadline the gateway gives an upstream call: `rpc_timeout_s` (30 s) for a call that reads or changes a
record, `evaluate_timeout_s` (600 s) for an ensemble's evaluation, which generates for as long as its rows ask."""

from __future__ import annotations

import pytest

from finetune.jobs.v1 import job_pb2, jobs_service_pb2, jobs_service_pb2_grpc
from tests.gateway.test_trainer_routing import _start


class Deadlines(jobs_service_pb2_grpc.JobsServiceServicer):
    """Records the time each call had left when it arrived."""

    def __init__(self):
        self.left: dict[str, float] = {}

    async def GetJob(self, request, context):
        self.left["GetJob"] = context.time_remaining()
        return job_pb2.Job(name=request.name, job_uid=request.name.removeprefix("jobs/"))

    async def EvaluateEnsemble(self, request, context):
        self.left["EvaluateEnsemble"] = context.time_remaining()
        return jobs_service_pb2.EnsembleEvaluation(name=request.name, rows=1)


@pytest.fixture(scope="module")
def jobs(servers):
    servicer = Deadlines()
    address = _start(servers, "jobs", (jobs_service_pb2_grpc.add_JobsServiceServicer_to_server, servicer),
                     "finetune.jobs.v1.JobsService")
    return servicer, address


def test_an_ensembles_evaluation_gets_the_long_deadline_and_a_record_read_the_short_one(make_client, jobs):
    servicer, address = jobs
    client = make_client(jobs_address=address)
    assert client.get("/v1/jobs/job_1").status_code == 200
    assert client.post("/v1/ensembles/ens_1:evaluate", json={"max_rows": 16}).json()["rows"] == 1
    # gRPC sends the deadline as a timeout rounded up (600.998 s was seen): up to a second more than set.
    assert 20 < servicer.left["GetJob"] <= 31
    assert 590 < servicer.left["EvaluateEnsemble"] <= 601

    shorter = make_client(jobs_address=address, env={"FINETUNE_GATEWAY_EVALUATE_TIMEOUT_S": "90"})
    assert shorter.post("/v1/ensembles/ens_1:evaluate", json={}).status_code == 200
    assert 80 < servicer.left["EvaluateEnsemble"] <= 91
