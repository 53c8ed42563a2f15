"""`python -m gateway.server`: one process serving the app on both ports of FINETUNE_GATEWAY_PORTS."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.routes import service_descriptors, service_short_name
from gateway.server import bind_sockets, parse_ports
from services.common.errors import InvalidArgument
from services.common.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def wait_for_health(url: str, proc: subprocess.Popen, deadline: float) -> httpx.Response:
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gateway did not answer at {url}: {proc.stdout.read() if proc.poll() is not None else 'timeout'}")
            time.sleep(0.1)


def test_gateway_process_serves_health_on_both_ports(dataset_address, other_services):
    ports = free_ports(2)
    env = dict(os.environ, FINETUNE_GATEWAY_PORTS=",".join(map(str, ports)), PYTHONUNBUFFERED="1")
    for service in service_descriptors():
        name = service_short_name(service)
        env[f"FINETUNE_GATEWAY_{name.upper()}_ADDRESS"] = dataset_address if name == "dataset" else other_services[1]
    proc = subprocess.Popen([sys.executable, "-m", "gateway.server"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        for port in ports:
            r = wait_for_health(f"http://127.0.0.1:{port}/health", proc, deadline)
            assert r.status_code == 200, r.text
            assert {e["service"]: e["status"] for e in r.json()["services"]}["dataset"] == "SERVING"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    # uvicorn stops gracefully (lifespan shutdown closes the channels), then re-raises SIGTERM.
    assert code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in proc.stdout.read()


def test_listening_sockets_get_tcp_nodelay():
    # asyncio sets TCP_NODELAY only on sockets created as IPPROTO_TCP; without it each small response
    # waited ~40 ms on the client's delayed ACK (measured: 20 req/s instead of 240 at one caller).
    [sock] = bind_sockets("127.0.0.1", (free_ports(1)[0],))
    with sock:
        assert sock.proto == socket.IPPROTO_TCP


def test_ports_setting():
    assert parse_ports("8000,8001") == (8000, 8001)
    settings = load_settings("gateway", {"FINETUNE_GATEWAY_PORTS": "80a"})
    from gateway.server import gateway_ports

    with pytest.raises(InvalidArgument, match="FINETUNE_GATEWAY_PORTS"):
        gateway_ports(settings)
    assert gateway_ports(load_settings("gateway", {})) == (8000, 8001, 3000)


def test_after_a_500_a_keep_alive_client_goes_on_without_a_reset(dataset_address, other_services):
    """uvicorn closes the connection after the app raised; the 500 says `Connection: close`, so the client
    opens a new connection for its next request instead of writing into a closed one."""
    import http.client
    import threading

    import uvicorn

    from gateway.app import create_app
    from gateway.guide import GuideRoute
    from tests.gateway.conftest import gateway_settings

    def broken(call):
        raise ZeroDivisionError("a bug")

    bug = GuideRoute("GET", "/api/bug", "finetune.dataset.v1.DatasetService.ListDatasets", broken, dict, "a route with a bug")
    app = create_app(gateway_settings(dataset_address, other_services[1]), adapters=[bug])
    [sock] = bind_sockets("127.0.0.1", (free_ports(1)[0],))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        connection = http.client.HTTPConnection("127.0.0.1", sock.getsockname()[1], timeout=10)
        connection.request("GET", "/api/bug")
        first = connection.getresponse()
        first.read()
        assert (first.status, first.getheader("connection")) == (500, "close")
        connection.request("GET", "/v1/datasets")
        assert connection.getresponse().status == 200
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
