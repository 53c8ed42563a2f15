"""Start every service (and the gateway) as its own process, or just the ones named; restart crashes.

    python -m services.launcher                 # everything, on SQLite and files under ./data
    python -m services.launcher dataset catalog # only these

Each child logs to this terminal, every line prefixed with its service name. SIGINT/SIGTERM stop all of
them gracefully (each gets SIGTERM and its grace period).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from services.common.settings import DEFAULT_PORTS, GATEWAY_PORTS

log = logging.getLogger("launcher")

# Start order: the services others call come first.
COMPONENTS = {
    "dataset": "services.dataset.server",
    "catalog": "services.catalog.server",
    "trainer": "services.trainer.server",
    "jobs": "services.jobs.server",
    "gateway": "gateway.server",
}
MAX_RESTARTS = 5  # within RESTART_WINDOW seconds, then the launcher gives up on that component
RESTART_WINDOW = 60.0
STOP_SECONDS = 30.0  # after SIGTERM, before SIGKILL: the trainer needs its grace plus time for running runs to checkpoint


@dataclass
class Child:
    name: str
    module: str
    proc: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", self.module],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            sys.stdout.write(f"[{self.name:<8}] {line}")
            sys.stdout.flush()


def describe_ports() -> str:
    ports = [f"{name}={port}" for name, port in DEFAULT_PORTS.items()]
    return ", ".join(ports) + f", gateway={'+'.join(map(str, GATEWAY_PORTS))}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the fine-tuning platform's services.")
    parser.add_argument("components", nargs="*", choices=[*COMPONENTS, []], help="which to run (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[launcher] %(message)s")

    wanted = args.components or list(COMPONENTS)
    children = []
    for name in wanted:
        if importlib.util.find_spec(COMPONENTS[name]) is None:
            log.warning("%s is not part of this build yet; skipping it", name)
            continue
        children.append(Child(name, COMPONENTS[name]))

    env = dict(os.environ)
    env.setdefault("FINETUNE_DATA_DIR", os.path.abspath("data"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    log.info("data directory %s; default ports: %s", env["FINETUNE_DATA_DIR"], describe_ports())

    stopping = threading.Event()

    def stop(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for child in children:
        log.info("starting %s (python -m %s)", child.name, child.module)
        child.start(env)

    while not stopping.is_set() and children:
        for child in list(children):
            code = child.proc.poll()
            if code is None:
                continue
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW] + [now]
            if len(child.restarts) > MAX_RESTARTS:
                log.error("%s exited with %s %d times in %.0fs; not restarting it", child.name, code, MAX_RESTARTS, RESTART_WINDOW)
                children.remove(child)
                continue
            log.warning("%s exited with %s; restarting", child.name, code)
            child.start(env)
        stopping.wait(0.5)

    log.info("stopping %s", ", ".join(c.name for c in children))
    for child in children:
        if child.proc and child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        if child.proc:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", child.name)
                child.proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
