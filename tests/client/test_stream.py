"""`TrainingMonitor.stream_training_data` against a scripted WebSocket server: resumes after the last seq."""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.server import serve

from finetune.client import FinetuneAPIError, TrainingMonitor


def message(seq: int) -> str:
    return json.dumps({"seq": seq, "training": {"epoch": seq / 4, "train_loss": 3.0 - seq / 10, "validation_loss": None}, "iteration": seq, "total": 4})


class Scripted:
    """Each connection gets the next script: (messages, how it ends: 'drop', 'close' or an error body)."""

    def __init__(self, scripts):
        self.scripts, self.paths = list(scripts), []
        self.server = serve(self.handle, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, ws):
        self.paths.append(ws.request.path)
        messages, end = self.scripts.pop(0)
        for m in messages:
            ws.send(m)
        if end == "drop":
            ws.close(1011, "trainer went away")  # an abnormal close: the client must resume
        elif end == "close":
            ws.close(1000)
        else:
            ws.send(json.dumps(end))
            ws.close(4404)


def test_reconnects_after_the_last_seq_and_delivers_each_message_once():
    server = Scripted([([message(1), message(2)], "drop"), ([message(2), message(3), message(4)], "close")])
    seen = []
    try:
        last = TrainingMonitor(f"http://127.0.0.1:{server.port}").stream_training_data("job_1", lambda data: seen.append(data["seq"]), retry_seconds=5)
    finally:
        server.server.shutdown()
    assert server.paths == ["/ws/training/job_1", "/ws/training/job_1?after=2"]
    assert seen[:2] == [1, 2] and seen[-2:] == [3, 4] and last["seq"] == 4


def test_an_error_message_raises_with_its_body():
    body = {"error": {"code": "NOT_FOUND", "reason": "RUN_NOT_FOUND", "message": "run 'runs/job_x' does not exist", "metadata": {}}}
    server = Scripted([([], body)])
    try:
        with pytest.raises(FinetuneAPIError) as err:
            TrainingMonitor(f"http://127.0.0.1:{server.port}").stream_training_data("job_x", lambda data: None, retry_seconds=1)
    finally:
        server.server.shutdown()
    assert err.value.status_code == 404 and err.value.reason == "RUN_NOT_FOUND" and err.value.body == body
