"""Alert delivery to configured webhooks, against a local receiver: a real run's alert and its end reach both a
generic JSON webhook and a Slack one; a 5xx is retried and a 4xx is not; a full queue drops and counts, never
blocks; the test alert RPC says what each webhook answered; only http(s) URLs are accepted as settings."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest

from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.common.errors import InvalidArgument
from services.common.settings import load_settings
from services.trainer.events import Event
from services.trainer.server import build_server
from services.trainer.webhooks import WebhookNotifier, notice_of, parse_urls
from tests.grpc_harness import expect_error, running
from tests.trainer.test_service import ENV, hyper, rows
from tests.trainer.helpers import TRAIN_ROWS


class Receiver:
    """An HTTP server that records each POST by path and answers the statuses it is given, in turn."""

    def __init__(self, statuses: dict[str, list[int]] | None = None):
        self.bodies: dict[str, list[dict]] = {}
        self.statuses = statuses or {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.bodies.setdefault(self.path, []).append(body)
                queue = receiver.statuses.get(self.path) or [200]
                status = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver({"/flaky": [503, 200], "/refusing": [400]})
    yield r
    r.close()


def alert(run: str = "r1", code: str = "HIGH_MEMORY") -> Event:
    return Event(run, 5, "alert", 1_700_000_000.0, {"level": "warning", "code": code, "message": "memory at 91%",
                                                     "suggestion": "lower batch_size"})


async def test_retries_on_5xx_not_on_4xx_and_a_full_queue_drops_without_blocking(receiver):
    notifier = WebhookNotifier([f"{receiver.url}/flaky", f"{receiver.url}/refusing"], [f"{receiver.url}/slack"], backoff=0.01)
    results = await notifier.deliver(notice_of(alert()))
    assert [(r.delivered, r.attempts, r.status) for r in results] == [(True, 2, 200), (False, 1, 400), (True, 1, 200)]
    assert receiver.bodies["/flaky"][-1] | {"time": ""} == {
        "source": "finetune-trainer", "kind": "alert", "run": "runs/r1", "job": "jobs/r1", "level": "warning",
        "code": "HIGH_MEMORY", "message": "memory at 91%", "suggestion": "lower batch_size", "time": ""}
    assert receiver.bodies["/slack"][-1] == {"text": ":warning: *HIGH_MEMORY* on `runs/r1`: memory at 91%\n_lower batch_size_"}

    small = WebhookNotifier([f"{receiver.url}/queued"], queue_size=2)  # not started: nothing drains the queue
    for i in range(5):
        small.offer(alert(code=f"A{i}"))  # returns at once, whatever the receiver does
    small.offer(Event("r1", 9, "step", 0.0, {"loss": 1.0}))  # steps are not notices
    assert small.dropped == 3 and small._queue.qsize() == 2


def test_only_http_urls_are_settings():
    assert parse_urls(" http://a/x, https://b ", "S") == ["http://a/x", "https://b"]
    for bad in ("file:///etc/passwd", "ftp://x", "hooks.slack.com/x"):
        with pytest.raises(InvalidArgument) as info:
            parse_urls(bad, "FINETUNE_TRAINER_ALERT_WEBHOOKS")
        assert info.value.reason == "BAD_SETTING" and "FINETUNE_TRAINER_ALERT_WEBHOOKS" in info.value.message


async def test_a_real_runs_alert_and_end_reach_the_webhooks(receiver, tmp_path):
    env = ENV | {"FINETUNE_TRAINER_ALERT_WEBHOOKS": f"{receiver.url}/hook",
                 "FINETUNE_TRAINER_ALERT_SLACK_WEBHOOKS": f"{receiver.url}/services/T000/B000/secret",
                 "FINETUNE_TRAINER_HUB_ENDPOINT": "http://127.0.0.1:9", "FINETUNE_TRAINER_HUB_TOKEN": "hf_x",
                 "FINETUNE_TRAINER_PUSH_TIMEOUT_SECONDS": "5"}
    settings = load_settings("trainer", env, port=0, data_dir=tmp_path)
    async with running(build_server, settings) as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        saving = run_pb2.ModelSaving(save_model=True, model_name="m", push_to_hub=True)  # the hub is down: PUSH_FAILED
        run = run_pb2.Run(model="finetune-builtin/tiny-llama-3m", hyperparameters=hyper(max_steps=2), model_saving=saving)
        await stub.CreateRun(pb.CreateRunRequest(run_id="alerting", run=run, train_rows=rows(TRAIN_ROWS)))
        [e async for e in stub.StreamRunEvents(pb.StreamRunEventsRequest(name="runs/alerting"))]
        for _ in range(100):
            if any(b["code"] == "RUN_COMPLETED" for b in receiver.bodies.get("/hook", [])):
                break
            await asyncio.sleep(0.1)
        codes = [b["code"] for b in receiver.bodies["/hook"]]
        assert "PUSH_FAILED" in codes and codes[-1] == "RUN_COMPLETED", codes
        slack = receiver.bodies["/services/T000/B000/secret"]
        assert any("*RUN_COMPLETED* on `runs/alerting`" in b["text"] for b in slack)

        answer = await stub.SendTestAlert(pb.SendTestAlertRequest(message="hello"))
        host = receiver.url.removeprefix("http://")
        assert [(d.host, d.kind, d.delivered, d.status) for d in answer.deliveries] == [
            (host, "generic", True, 200), (host, "slack", True, 200)]  # the host only: a Slack path is a secret
        assert receiver.bodies["/hook"][-1]["message"] == "hello"

    async with running(build_server, load_settings("trainer", ENV, port=0, data_dir=tmp_path / "none")) as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        await expect_error(stub.SendTestAlert(pb.SendTestAlertRequest()), grpc.StatusCode.FAILED_PRECONDITION, "NO_WEBHOOKS")
