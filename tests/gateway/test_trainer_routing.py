"""With several trainers configured, a call about a job's run goes to the trainer the jobs service says holds that
job (and only ever to a configured one); with one trainer the jobs service is never asked."""

from __future__ import annotations

import pytest

from finetune.jobs.v1 import job_pb2, jobs_service_pb2_grpc
from finetune.trainer.v1 import run_pb2, trainer_service_pb2_grpc
from services.common.errors import NotFound
from services.common.server import create_host
from services.common.settings import load_settings
from tests.gateway.test_guide import run_event

UNLISTED = "10.255.255.1:50054"  # a trainer the gateway is not configured with: never called


class NamedTrainer(trainer_service_pb2_grpc.TrainerServiceServicer):
    """Answers any run, with its own name as the run's model, and a one-event stream."""

    def __init__(self, label: str):
        self.label, self.asked = label, []

    async def GetRun(self, request, context):
        self.asked.append(request.name)
        return run_pb2.Run(name=request.name, model=self.label, state=run_pb2.RUN_STATE_RUNNING)

    async def StreamRunEvents(self, request, context):
        self.asked.append(request.name)
        yield run_event(1, request.name, {"log": {"level": "info", "message": f"from {self.label}", "source": "worker"}})


class Placements(jobs_service_pb2_grpc.JobsServiceServicer):
    """GetJob answers the jobs in `homes` (job id -> trainer address); others do not exist."""

    def __init__(self):
        self.homes: dict[str, str] = {}
        self.asked: list[str] = []

    async def GetJob(self, request, context):
        self.asked.append(request.name)
        job_id = request.name.removeprefix("jobs/")
        if job_id not in self.homes:
            raise NotFound(f"job '{request.name}' does not exist", reason="JOB_NOT_FOUND")
        return job_pb2.Job(name=request.name, job_uid=job_id, trainer=self.homes[job_id], state=job_pb2.JOB_STATE_RUNNING)


def _start(servers, name: str, register, service_name: str) -> str:
    def build(settings):
        host = create_host(settings, [register], [service_name])
        return host, host.port

    return servers.start(build, load_settings(name, {}, port=0))[1]


@pytest.fixture(scope="module")
def fleet(servers):
    a, b, jobs = NamedTrainer("trainer-a"), NamedTrainer("trainer-b"), Placements()
    add = trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server
    address_a = _start(servers, "trainer-a", (add, a), "finetune.trainer.v1.TrainerService")
    address_b = _start(servers, "trainer-b", (add, b), "finetune.trainer.v1.TrainerService")
    jobs_address = _start(servers, "jobs", (jobs_service_pb2_grpc.add_JobsServiceServicer_to_server, jobs),
                          "finetune.jobs.v1.JobsService")
    jobs.homes = {"job_on_a": address_a, "job_on_b": address_b, "job_unlisted": UNLISTED}
    return a, b, jobs, address_a, address_b, jobs_address


def test_a_jobs_run_is_read_from_the_trainer_that_holds_it(make_client, fleet):
    a, b, jobs, address_a, address_b, jobs_address = fleet
    client = make_client(env={"FINETUNE_GATEWAY_TRAINER_ADDRESSES": f"{address_a},{address_b}"},
                         trainer_address=address_a, jobs_address=jobs_address)
    assert client.get("/v1/runs/job_on_b").json()["model"] == "trainer-b"
    assert client.get("/v1/runs/job_on_a").json()["model"] == "trainer-a"
    with client.websocket_connect("/ws/jobs/job_on_b/events") as ws:
        assert ws.receive_json()["log"]["message"] == "from trainer-b"
    # A run no job names (started on a trainer directly), and a job whose trainer the gateway is not configured
    # with: the default trainer, never an address read from a record.
    assert client.get("/v1/runs/run_direct").json()["model"] == "trainer-a"
    assert client.get("/v1/runs/job_unlisted").json()["model"] == "trainer-a"
    assert "runs/job_unlisted" in a.asked and "runs/job_on_b" not in a.asked
    assert b.asked == ["runs/job_on_b", "runs/job_on_b"]
    # The trainer of a job is remembered for a moment: one GetJob for the run's two calls above.
    assert jobs.asked.count("jobs/job_on_b") == 1


def test_with_one_trainer_the_jobs_service_is_not_asked(make_client, fleet):
    a, b, jobs, address_a, address_b, jobs_address = fleet
    before = len(jobs.asked)
    client = make_client(trainer_address=address_a, jobs_address=jobs_address)
    assert client.get("/v1/runs/job_on_b").json()["model"] == "trainer-a"
    assert len(jobs.asked) == before
