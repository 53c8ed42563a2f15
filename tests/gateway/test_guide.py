"""The guide's shapes: catalog search as a bare list, the guide's add-model body, and the training WebSocket
(guide message shape, resume after a sequence number by query or by a first client message)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from google.protobuf import json_format
from starlette.websockets import WebSocketDisconnect

from finetune.jobs.v1 import job_pb2, jobs_service_pb2_grpc
from finetune.trainer.v1 import run_pb2, trainer_service_pb2_grpc
from gateway.guide import GUIDE_MODEL_KEYS, STREAMS, WAIT_FOR_QUEUED_JOB, training_message
from services.common.errors import NotFound
from services.common.server import create_host
from services.common.settings import load_settings
from tests.fakes.fake_hub import FakeHub

# A run's stored events, as the trainer records them.
EVENTS = [
    {"state": {"state": "RUN_STATE_RUNNING", "previous_state": "RUN_STATE_PENDING"}},
    {"resources": {"cpu_percent": 50.0, "cpu_count": 2, "memory_percent": 40.0}},
    {"step": {"step": 1, "total_steps": 4, "epoch": 0.25, "train_loss": 2.5, "learning_rate": 0.0002}},
    {"evaluation": {"step": 1, "epoch": 0.25, "validation_loss": 2.7}},
    {"step": {"step": 2, "total_steps": 4, "epoch": 0.5, "train_loss": 2.25, "learning_rate": 0.0002}},
    {"state": {"state": "RUN_STATE_COMPLETED", "previous_state": "RUN_STATE_RUNNING"}},
]

# The guide's `POST /api/jobs` body, verbatim.
GUIDE_JOB = {
    "name": "Customer Support Fine-tuning",
    "description": "Fine-tune Llama for customer support responses",
    "tags": ["customer-support", "llama", "production"],
    "configuration": {
        "model": {"uid": "meta-llama/Llama-3.1-8B-Instruct", "name": "Llama 3.1 8B Instruct"},
        "dataset": {"uid": "dataset_1751023766790_b0zqofldb", "name": "Customer Support Q&A"},
        "hyperparameters": {"uid": "00000005k0008000300100002s", "learning_rate": 0.0002, "batch_size": 8, "epochs": 3},
    },
    "modelSaving": {"saveModel": True, "modelName": "customer-support-llama-v1", "pushToHub": False, "makePublic": False},
}


def run_event(seq: int, run: str, body: dict) -> run_pb2.RunEvent:
    return json_format.ParseDict({"sequence": seq, "run": run, **body}, run_pb2.RunEvent())


class FakeTrainer(trainer_service_pb2_grpc.TrainerServiceServicer):
    """StreamRunEvents over EVENTS: `runs/job_done` ends after them, `runs/job_live` then waits for more,
    `runs/job_queued` does not exist the first time it is asked for."""

    def __init__(self):
        self.asked: list[str] = []

    async def StreamRunEvents(self, request, context):
        self.asked.append(request.name)
        known = ["runs/job_done", "runs/job_live"] + (["runs/job_queued"] if self.asked.count("runs/job_queued") > 1 else [])
        if request.name not in known:
            raise NotFound(f"run '{request.name}' does not exist", reason="RUN_NOT_FOUND")
        for seq, body in enumerate(EVENTS, start=1):
            if seq > request.after_sequence and (request.name != "runs/job_live" or seq < 6):
                yield run_event(seq, request.name, body)
        if request.name == "runs/job_live":
            await asyncio.Event().wait()  # a live run: more events would come


class FakeJobs(jobs_service_pb2_grpc.JobsServiceServicer):
    """CreateJob echoes the request as a queued job; GetJob knows `jobs/job_queued`."""

    async def CreateJob(self, request, context):
        return job_pb2.Job(
            name="jobs/job_1", job_uid="job_1", display_name=request.name, tags=request.tags,
            configuration=request.configuration, model_saving=request.model_saving, state=job_pb2.JOB_STATE_QUEUED,
        )

    async def GetJob(self, request, context):
        if request.name != "jobs/job_queued":
            raise NotFound(f"job '{request.name}' does not exist", reason="JOB_NOT_FOUND")
        return job_pb2.Job(name=request.name, job_uid="job_queued", state=job_pb2.JOB_STATE_QUEUED)


def build_fakes(settings):
    register = [
        (trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, FakeTrainer()),
        (jobs_service_pb2_grpc.add_JobsServiceServicer_to_server, FakeJobs()),
    ]
    host = create_host(settings, register, ["finetune.trainer.v1.TrainerService", "finetune.jobs.v1.JobsService"])
    return host, host.port


@pytest.fixture(scope="module")
def hub():
    with FakeHub().serve() as fake:
        yield fake


@pytest.fixture(scope="module")
def catalog_address(servers, module_dir, hub) -> str:
    from services.catalog.server import build_server

    env = {
        "FINETUNE_CATALOG_HUB_ENDPOINT": hub.endpoint,
        "FINETUNE_CATALOG_HUB_TIMEOUT_S": "1.5",
        "FINETUNE_CATALOG_HF_CACHE_DIR": str(module_dir / "hf-cache"),
        "FINETUNE_CATALOG_BUILD_BUILTIN": "0",
    }
    settings = load_settings("catalog", env, port=0, data_dir=module_dir / "catalog")
    settings.data_dir.mkdir(exist_ok=True)
    return servers.start(build_server, settings)[1]


@pytest.fixture(scope="module")
def fakes_address(servers) -> str:
    return servers.start(build_fakes, load_settings("fakes", {}, port=0))[1]


@pytest.fixture
def guide_client(make_client, catalog_address, fakes_address):
    quick = [replace(STREAMS[0], wait_while=replace(WAIT_FOR_QUEUED_JOB, poll_s=0.05))]
    return make_client(catalog_address=catalog_address, trainer_address=fakes_address, jobs_address=fakes_address, streams=quick)


def test_model_search_is_the_guides_bare_list(guide_client):
    r = guide_client.get("/api/models/search", params={"query": "llama", "limit": 5})
    assert r.status_code == 200, r.text
    models = r.json()
    assert isinstance(models, list) and 0 < len(models) <= 5
    top = models[0]
    assert list(top)[: len(GUIDE_MODEL_KEYS)] == list(GUIDE_MODEL_KEYS)
    assert (top["id"], top["name"], top["provider"]) == ("meta-llama/Llama-3.1-8B-Instruct", "Llama 3.1 8B Instruct", "Meta")
    assert isinstance(top["downloads"], int)
    assert guide_client.get("/api/models/search", params={"limit": "ten"}).status_code == 400


def test_add_model_takes_the_guides_body(guide_client):
    body = {"id": "meta-llama/Llama-3.1-8B-Instruct", "name": "My Llama", "provider": "Meta", "category": "Instruction Following"}
    r = guide_client.post("/api/models", json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["name"], r.json()["resource_name"]) == (body["id"], "My Llama", f"models/{body['id']}")
    listed = guide_client.get("/api/models").json()  # the annotated ListModels, unchanged
    assert body["id"] in [m["id"] for m in listed["models"]]
    r = guide_client.get("/api/models/check/meta-llama%2FLlama-3.1-8B-Instruct")
    assert r.status_code == 200 and r.json()["model_id"] == body["id"]


def test_create_job_takes_the_guides_body_and_answers_job_uid(guide_client):
    r = guide_client.post("/api/jobs", json=GUIDE_JOB)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["jobUid"] == "job_1" and job["display_name"] == "Customer Support Fine-tuning"
    assert job["model_saving"]["save_model"] is True and job["model_saving"]["model_name"] == "customer-support-llama-v1"
    assert job["configuration"]["hyperparameters"]["uid"] == "00000005k0008000300100002s"
    # The SDK example passes a whole search result as the model.
    search_result = {"id": "meta-llama/Llama-3.1-8B-Instruct", "name": "Llama 3.1 8B Instruct", "provider": "Meta", "downloads": 5}
    body = {"name": "sdk", "configuration": {"model": search_result, "dataset": {"uid": "dataset_1"}, "hyperparameters": {"epochs": 3}}}
    r = guide_client.post("/api/jobs", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["configuration"]["model"] == {"uid": search_result["id"], "name": search_result["name"]}
    r = guide_client.post("/api/jobs", json={"name": "x", "modelSaving": {"saveModel": "yes"}})
    assert r.status_code == 400 and r.json()["error"]["metadata"]["field"] == "modelSaving.saveModel"


def test_training_websocket_sends_the_guides_messages_then_closes(guide_client):
    with guide_client.websocket_connect("/ws/training/job_done") as ws:
        messages = [ws.receive_json() for _ in range(4)]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1000
    assert [m["seq"] for m in messages] == [3, 4, 5, 6]
    first = messages[0]
    assert first["training"] == {"epoch": 0.25, "train_loss": 2.5, "validation_loss": None, "learning_rate": 0.0002}
    assert (first["iteration"], first["total"]) == (1, 4)
    assert first["resources"]["cpu_percent"] == 50.0
    assert messages[1]["training"]["validation_loss"] == 2.7
    assert messages[3]["state"] == "RUN_STATE_COMPLETED"


def test_training_websocket_resumes_after_a_sequence_number(guide_client):
    with guide_client.websocket_connect("/ws/training/job_done?after=4") as ws:
        assert [ws.receive_json()["seq"] for _ in range(2)] == [5, 6]


def test_training_websocket_restarts_from_a_client_message(guide_client):
    with guide_client.websocket_connect("/ws/training/job_live") as ws:
        assert [ws.receive_json()["seq"] for _ in range(3)] == [3, 4, 5]
        ws.send_json({"after": 3})  # e.g. a chart that lost points asks again
        assert [ws.receive_json()["seq"] for _ in range(2)] == [4, 5]
        ws.send_text("hello")
        assert ws.receive_json()["error"]["reason"] == "INVALID_MESSAGE"


def test_training_websocket_waits_for_a_queued_jobs_run(guide_client):
    with guide_client.websocket_connect("/ws/training/job_queued") as ws:
        assert [ws.receive_json()["seq"] for _ in range(4)] == [3, 4, 5, 6]


def test_training_websocket_for_an_unknown_job_closes_with_the_error(guide_client):
    with guide_client.websocket_connect("/ws/training/nope") as ws:
        assert ws.receive_json()["error"]["reason"] == "RUN_NOT_FOUND"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4404


def test_training_message_waits_for_the_first_step():
    state: dict = {}
    assert training_message({"sequence": 1, **EVENTS[0]}, state) is None
    assert training_message({"sequence": 2, **EVENTS[1]}, state) is None
    assert training_message({"sequence": 3, **EVENTS[2]}, state)["training"]["train_loss"] == 2.5


@pytest.mark.parametrize(("path", "code", "phrase"), [
    ("/ws/training/NOT%20VALID", 4400, "INVALID_NAME: job_id 'NOT VALID' is not a valid resource name"),
    ("/ws/training/" + "x" * 3000, 4400, "INVALID_NAME: job_id (3000 characters"),
    ("/ws/training/a%2Fb", 4404, "ROUTE_NOT_FOUND: no WebSocket at /ws/training/a/b"),
    ("/ws/nothing", 4404, "ROUTE_NOT_FOUND"),
])
def test_a_websocket_to_an_invalid_job_id_closes_with_a_code_and_a_reason(guide_client, path, code, phrase):
    """Once refused before the handshake: an HTTP 403 without a word of why."""
    with pytest.raises(WebSocketDisconnect) as closed:
        with guide_client.websocket_connect(path) as ws:
            assert ws.receive_json()["error"]["code"] in ("INVALID_ARGUMENT", "NOT_FOUND")
            ws.receive_json()
    assert closed.value.code == code and closed.value.reason.startswith(phrase), closed.value.reason
    assert len(closed.value.reason.encode()) <= 123
