"""The SDK's fixtures: real dataset and catalog services in a background loop, and the real gateway app
served by uvicorn on a free port in a thread, so the SDK talks HTTP and WebSocket over sockets."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from gateway.app import create_app
from services.common.settings import load_settings
from tests.cli.conftest import catalog_env, dataset_and_catalog, platform, services  # noqa: F401 (fixtures)


class Gateway:
    """The gateway app under uvicorn on 127.0.0.1:<free port>, in a daemon thread."""

    def __init__(self, settings):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def serve_gateway(services):
    addresses = {f"{name}_address": address for name, address in services.addresses.items()}
    return Gateway(load_settings("gateway", {}, port=0, **addresses))


@pytest.fixture
def gateway(dataset_and_catalog):  # noqa: F811
    running = serve_gateway(dataset_and_catalog)
    yield running
    running.stop()


@pytest.fixture
def full_gateway(platform):  # noqa: F811
    """The gateway in front of all four services (the trainer really trains)."""
    running = serve_gateway(platform)
    yield running
    running.stop()
