"""A real Ray cluster (a head and two nodes) inside a network namespace, for the Ray backend's tests and benchmark.

Ray binds its nodes to every interface and rewrites loopback to the machine's address, so it never runs on the
bare interface here (../shared/NOTES.md). The namespace holds one veth pair for the two nodes (`HEAD` 10.77.0.1,
`NODE_B` 10.77.0.2 with the custom resources `node_b` and `worker_node`, `NODE_C` 10.77.0.3 with `worker_node` and one
declared GPU, which no run uses: it only counts in the cluster's capacity)
and one end of a second pair whose other end
stays outside (`INSIDE` 10.78.0.1 in the namespace, `OUTSIDE` 10.78.0.2 here), so that a process outside reaches
a service bound to `INSIDE` and nothing else leaves the namespace. Needs root, `ip` and `ray`.

Given a `scratch` folder, each node's workers keep their run folders in one of their own (`node-b/`, `node-c/`:
`FINETUNE_WORKER_SCRATCH`), and `object_store()` starts an S3 server (moto) at the head for a storage URL, so a
test can show that the nodes share nothing but that storage.

    with NetnsRayCluster() as cluster:
        cluster.popen([python, "-m", "services.trainer.server"], env, log)   # runs inside the namespace
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HEAD, NODE_B, NODE_C, INSIDE, OUTSIDE = "10.77.0.1", "10.77.0.2", "10.77.0.3", "10.78.0.1", "10.78.0.2"
RAY_PORT = 6390
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
           # a node that stops is declared dead in about 3 s rather than 15 s
           "RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3",
           # the test object store's credentials (anything: moto accepts them all), never a real account's
           "AWS_ACCESS_KEY_ID": "finetune-test", "AWS_SECRET_ACCESS_KEY": "finetune-test", "AWS_EC2_METADATA_DISABLED": "true"}
STORE_PORT = 9390


def missing() -> str:
    """Why the cluster cannot run here ('' when it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command is missing"
    try:
        import ray  # noqa: F401 - only whether it is there
    except ImportError:
        return "ray is not installed (pip install -e '.[ray]'; make test installs it)"
    return ""


def _sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


class NetnsRayCluster:
    def __init__(self, tag: str = "", scratch: Path | None = None) -> None:
        self.scratch = scratch
        self._store: subprocess.Popen | None = None
        tag = tag or str(os.getpid() % 100000)
        self.netns = f"ftray{tag}"
        self._links = [f"fta{tag}", f"ftb{tag}", f"ftc{tag}", f"ftd{tag}"]
        self.address = f"{HEAD}:{RAY_PORT}"

    def run(self, *command: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.netns, *command], env={**os.environ, **RAY_ENV, **(env or {})},
                              capture_output=True, text=True, check=check, timeout=120)

    def popen(self, command: list[str], env: dict, log_path: Path) -> subprocess.Popen:
        """A process inside the namespace (`ip netns exec` execs it: the pid is the command's own)."""
        with open(log_path, "ab") as log:
            return subprocess.Popen(["ip", "netns", "exec", self.netns, *command], env={**os.environ, **RAY_ENV, **env},
                                    stdout=log, stderr=subprocess.STDOUT)

    def __enter__(self) -> NetnsRayCluster:
        a, b, c, d = self._links
        inside = ["ip", "netns", "exec", self.netns]
        _sh("ip", "netns", "add", self.netns)
        try:
            _sh(*inside, "ip", "link", "set", "lo", "up")
            _sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            _sh("ip", "link", "set", a, "netns", self.netns)
            _sh("ip", "link", "set", b, "netns", self.netns)
            _sh(*inside, "ip", "addr", "add", f"{HEAD}/24", "dev", a)
            _sh(*inside, "ip", "addr", "add", f"{NODE_B}/24", "dev", b)
            _sh("ip", "link", "add", c, "type", "veth", "peer", "name", d)
            _sh("ip", "link", "set", c, "netns", self.netns)
            _sh(*inside, "ip", "addr", "add", f"{INSIDE}/24", "dev", c)
            _sh("ip", "addr", "add", f"{OUTSIDE}/24", "dev", d)
            for link in (a, b, c):
                _sh(*inside, "ip", "link", "set", link, "up")
            _sh("ip", "link", "set", d, "up")
            _sh(*inside, "ip", "route", "add", "default", "dev", a)
            ray = str(Path(sys.executable).with_name("ray"))
            common = ["--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats"]
            _sh(*inside, "ip", "addr", "add", f"{NODE_C}/24", "dev", b)
            if self.scratch:  # the object store starts while the nodes do
                self._start_store()
            self.run(ray, "start", "--head", f"--port={RAY_PORT}", f"--node-ip-address={HEAD}", "--include-dashboard=false",
                     '--resources={"head_node": 1}', *common)
            # One node after the other: two `ray start` at once on one machine time out (they share its session folder).
            self.run(ray, "start", f"--address={self.address}", f"--node-ip-address={NODE_B}",
                     '--resources={"node_b": 1, "worker_node": 1}', *common, env=self._node_env("node-b"))
            self.run(ray, "start", f"--address={self.address}", f"--node-ip-address={NODE_C}",
                     '--resources={"worker_node": 1}', "--num-gpus=1", *common, env=self._node_env("node-c"))
        except BaseException:
            self.__exit__()
            raise
        return self

    def _node_env(self, name: str) -> dict:
        return {"FINETUNE_WORKER_SCRATCH": str(self.scratch / name)} if self.scratch else {}

    def node_scratch(self, ip: str) -> Path:
        """The folder the workers of the node at `ip` keep their run folders in."""
        return self.scratch / {NODE_B: "node-b", NODE_C: "node-c"}[ip]

    def object_store(self) -> str:
        """An S3 server (moto) at the head (started with the cluster when it has a scratch folder): the storage URL of
        a bucket on it, once it answers."""
        if self._store is None:
            self._start_store()
        deadline = time.monotonic() + 30
        while self.run(sys.executable, "-c", f"import socket; socket.create_connection(('{HEAD}', {STORE_PORT}), 1)",
                       check=False).returncode:
            if time.monotonic() > deadline or self._store.poll() is not None:
                raise RuntimeError("the test object store (moto_server) did not start")
            time.sleep(0.2)
        return f"s3://finetune-test/store?endpoint_override={HEAD}:{STORE_PORT}&scheme=http&region=us-east-1&allow_bucket_creation=true"

    def _start_store(self) -> None:
        moto = str(Path(sys.executable).with_name("moto_server"))
        self._store = subprocess.Popen(["ip", "netns", "exec", self.netns, moto, "-H", HEAD, "-p", str(STORE_PORT)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def hold(self, holders: dict[str, dict]) -> None:
        """Take resources on the cluster with detached actors (other workloads, to the trainer), one per name, e.g.
        `{"on-b": {"CPU": 1, "node_b": 1}}`; returns once Ray has placed them all. `release(*names)` frees them."""
        script = (f"import json, ray\nray.init(address={self.address!r}, namespace='holders', log_to_driver=False)\n"
                  "class Holder:\n    def ready(self): return True\n"
                  "handles = []\n"
                  f"for name, r in json.loads({json.dumps(json.dumps(holders))}).items():\n"
                  "    cpus, gpus = r.pop('CPU', 0), r.pop('GPU', 0)\n"
                  "    handles.append(ray.remote(Holder).options(name=name, lifetime='detached', num_cpus=cpus, "
                  "num_gpus=gpus, resources=r).remote())\n"
                  "ray.get([h.ready.remote() for h in handles], timeout=60)\n")
        self.run(sys.executable, "-c", script)

    def release(self, *names: str) -> None:
        script = (f"import ray\nray.init(address={self.address!r}, namespace='holders', log_to_driver=False)\n"
                  f"for name in {list(names)!r}:\n    ray.kill(ray.get_actor(name))\n")
        self.run(sys.executable, "-c", script)

    def stop_node(self, ip: str) -> int:
        """Kill -9 the raylet of the node at `ip` with every process it started (the node is gone); how many."""
        import psutil

        from services.trainer.processes import kill_tree

        raylets = [p for p in psutil.process_iter(["name", "cmdline"])
                   if "raylet" in (p.info["name"] or "") and f"--node_ip_address={ip}" in (p.info["cmdline"] or [])]
        for raylet in raylets:
            kill_tree(raylet.pid)
        return len(raylets)

    def __exit__(self, *exc) -> None:
        if self._store is not None:
            self._store.kill()
            self._store.wait(10)
        self.run(str(Path(sys.executable).with_name("ray")), "stop", "--force", check=False)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        subprocess.run(["ip", "link", "del", self._links[3]], capture_output=True)
