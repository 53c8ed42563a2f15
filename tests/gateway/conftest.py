"""Gateway fixtures: real gRPC servers on port 0 in a background event loop, and the app driven in process.

The servers live in their own thread's loop so that Starlette's `TestClient` (which runs the app in a
loop of its own) talks to them over real sockets, as the gateway does in production.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, Callable

import pytest
from grpc_health.v1 import health_pb2
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.routes import service_descriptors, service_short_name
from services.common.server import create_host
from services.common.settings import load_settings

CSV = b"input,output\nWhat is ML?,Machine learning is a subset of AI.\nCapital of France?,Paris.\nHow do nets work?,Layers of weights.\n"


class BackgroundLoop:
    """An event loop in a daemon thread; `run(coro)` waits for the result from the test's thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def grpc_loop():
    loop = BackgroundLoop()
    yield loop
    loop.close()


class Servers:
    """Starts hosts built by `build_server(settings)` in the background loop; stops them all at the end."""

    def __init__(self, loop: BackgroundLoop):
        self.loop = loop
        self.hosts = []

    def start(self, build_server: Callable, settings) -> tuple[Any, str]:
        async def build_and_start():
            host, port = build_server(settings)  # in the loop: an aio server belongs to the loop it is made in
            await host.start()
            return host, port

        host, port = self.loop.run(build_and_start())
        self.hosts.append(host)
        return host, f"127.0.0.1:{port}"

    def stop(self, host) -> None:
        if host in self.hosts:
            self.hosts.remove(host)
            self.loop.run(host.stop(0))

    def close(self) -> None:
        for host in list(self.hosts):
            self.stop(host)


@pytest.fixture(scope="module")
def servers(grpc_loop):
    s = Servers(grpc_loop)
    yield s
    s.close()


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gateway")


@pytest.fixture(scope="module")
def dataset_address(servers, module_dir) -> str:
    """The real dataset service, with a 1 MB upload limit so the 413 path is cheap to reach."""
    from services.dataset.server import build_server

    settings = load_settings("dataset", {"FINETUNE_DATASET_MAX_UPLOAD_MB": "1"}, port=0, data_dir=module_dir / "dataset",
                             jobs_address="")  # no jobs service to ask before a delete
    settings.data_dir.mkdir(exist_ok=True)
    _, address = servers.start(build_server, settings)
    return address


def health_only_server(service_names: list[str]):
    """`build_server` for a server that only answers grpc.health.v1, SERVING for `service_names`."""

    def build(settings):
        host = create_host(settings, [], service_names)
        return host, host.port

    return build


@pytest.fixture(scope="module")
def other_services(servers) -> tuple[Any, str]:
    """Every service but the dataset one, as a health-only server: /health sees them all SERVING."""
    names = [s.full_name for s in service_descriptors() if service_short_name(s) != "dataset"]
    return servers.start(health_only_server(names), load_settings("stub", {}, port=0))


def gateway_settings(dataset: str, others: str, env: dict[str, str] | None = None, **overrides):
    """Gateway settings with the dataset service at `dataset` and every other service at `others`."""
    addresses = {f"{service_short_name(s)}_address": others for s in service_descriptors()}
    addresses["dataset_address"] = dataset
    return load_settings("gateway", env or {}, **(addresses | overrides))


@pytest.fixture
def make_client(dataset_address, other_services):
    """`make_client(env=None, streams=None, **settings overrides)` -> a started TestClient, closed after the
    test; `streams` replaces the guide's WebSocket adapters."""
    clients = []

    def make(env: dict[str, str] | None = None, streams=None, **overrides) -> TestClient:
        settings = gateway_settings(dataset_address, other_services[1], env, **overrides)
        client = TestClient(create_app(settings, streams=streams)).__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def unused_address() -> str:
    """A loopback address nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def set_health(loop: BackgroundLoop, host, name: str, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    loop.run(host.health.set(name, status))


def upload(client: TestClient, content: bytes = CSV, filename: str = "dataset.csv", **fields) -> Any:
    """POST /api/datasets with `file` and form fields; returns the response."""
    return client.post("/api/datasets", files={"file": (filename, content, "text/csv")}, data=fields)
