"""The API paths the dashboard needs beyond the guide's: every RunEvent of a job over a WebSocket (resumable),
and artifact downloads answered as the file itself."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from finetune.trainer.v1 import trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.common.errors import InvalidArgument, NotFound
from services.common.server import create_host
from services.common.settings import load_settings
from tests.gateway.test_guide import EVENTS, FakeTrainer

CONTENT = bytes(range(256)) * 5000  # 1.28 MB: several chunks


class ArtifactTrainer(FakeTrainer):
    async def ReadRunArtifact(self, request, context):
        if request.name == "runs/job_done/artifacts/../secret":
            raise InvalidArgument("artifact path leaves the folder", reason="INVALID_ARTIFACT_PATH")
        if request.name != "runs/job_done/artifacts/adapter/adapter_model.safetensors":
            raise NotFound("no such artifact", reason="ARTIFACT_NOT_FOUND")
        yield pb.ReadRunArtifactResponse(artifact=pb.Artifact(
            name=request.name, path="adapter/adapter_model.safetensors", size_bytes=len(CONTENT), media_type="application/octet-stream"))
        for i in range(0, len(CONTENT), 300_000):
            yield pb.ReadRunArtifactResponse(chunk=CONTENT[i : i + 300_000])


@pytest.fixture(scope="module")
def trainer_address(servers) -> str:
    def build(settings):
        host = create_host(settings, [(trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, ArtifactTrainer())],
                           ["finetune.trainer.v1.TrainerService"])
        return host, host.port

    return servers.start(build, load_settings("fake-trainer", {}, port=0))[1]


@pytest.fixture
def client(make_client, trainer_address):
    return make_client(trainer_address=trainer_address)


def test_the_events_websocket_relays_every_event_as_run_event_json_and_resumes(client):
    with client.websocket_connect("/ws/jobs/job_done/events") as ws:
        events = [ws.receive_json() for _ in EVENTS]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1000
    assert [e["sequence"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[2]["step"]["train_loss"] == 2.5 and events[1]["resources"]["cpu_percent"] == 50.0
    assert events[0]["state"]["state"] == "RUN_STATE_RUNNING" and events[0]["run"] == "runs/job_done"
    with client.websocket_connect("/ws/jobs/job_done/events?after=4") as ws:
        assert [ws.receive_json()["sequence"] for _ in range(2)] == [5, 6]


def test_an_artifact_downloads_as_the_file_with_its_name_and_size(client):
    r = client.get("/v1/runs/job_done/artifacts/adapter/adapter_model.safetensors:download")
    assert r.status_code == 200 and r.content == CONTENT
    assert r.headers["content-length"] == str(len(CONTENT))
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''adapter_model.safetensors"
    assert r.headers["content-type"] == "application/octet-stream"


def test_a_missing_or_escaping_artifact_is_a_json_error(client):
    r = client.get("/v1/runs/job_done/artifacts/nothing.bin:download")
    assert r.status_code == 404 and r.json()["error"]["reason"] == "ARTIFACT_NOT_FOUND"
    r = client.get("/v1/runs/job_done/artifacts/%2E%2E/secret:download")
    assert r.status_code == 400 and r.json()["error"]["reason"] == "INVALID_ARTIFACT_PATH"
