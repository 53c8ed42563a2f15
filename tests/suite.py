"""The whole suite as `make run` starts it (the launcher: every service and the gateway), on free ports and a
fresh data folder, for end-to-end tests (curl, the browser). Small evaluation settings keep runs quick."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("dataset", "catalog", "jobs", "trainer")
QUICK = {
    "FINETUNE_CATALOG_OFFLINE": "1",
    "FINETUNE_TRAINER_EVAL_ROWS": "2",
    "FINETUNE_TRAINER_EVAL_MAX_NEW_TOKENS": "4",
    "FINETUNE_TRAINER_SAMPLE_GENERATIONS": "1",
    "FINETUNE_JOBS_POLL_INTERVAL_SECONDS": "0.5",
}


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@dataclass
class Suite:
    data: Path
    gateway_ports: list[int]
    service_ports: dict[str, int]
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_ports[0]}"

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.gateway_ports]

    @property
    def log(self) -> str:
        path = self.data / "suite.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def get_json(self, path: str, token: str = "") -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError, ValueError):
                if self.get_json("/health")[0] == 200:
                    return
            if time.monotonic() > deadline or (self.proc is not None and self.proc.poll() is not None):
                raise RuntimeError("the suite did not become healthy:\n" + self.log[-3000:])
            time.sleep(0.5)

    def start_component(self, *names: str) -> subprocess.Popen:
        """Another launcher for just these components (say, a gateway started again after a kill)."""
        log = open(self.data / "suite.log", "a")
        return subprocess.Popen([sys.executable, "-m", "services.launcher", *names], cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@contextlib.contextmanager
def running_suite(data: Path, gateway_ports: int = 2, **env: str) -> Iterator[Suite]:
    """Starts the launcher with every component and waits for /health; stops it all at the end."""
    ports = free_ports(len(SERVICES) + gateway_ports)
    service_ports = dict(zip(SERVICES, ports))
    full_env = dict(os.environ, FINETUNE_DATA_DIR=str(data), FINETUNE_GATEWAY_PORTS=",".join(map(str, ports[len(SERVICES):])),
                    **QUICK, **env)
    for name, port in service_ports.items():
        full_env[f"FINETUNE_{name.upper()}_PORT"] = str(port)
        full_env[f"FINETUNE_{name.upper()}_ADDRESS"] = f"127.0.0.1:{port}"
    suite = Suite(data, ports[len(SERVICES):], service_ports, full_env)
    suite.proc = suite.start_component()
    try:
        suite.wait_healthy()
        yield suite
    finally:
        stop(suite.proc)
