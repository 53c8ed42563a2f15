"""A real Ray cluster (a head and two nodes) inside a network namespace, for the Ray backend's tests and benchmark.

Ray binds its nodes to every interface and rewrites loopback to the machine's address, so it never runs on the
bare interface here (../shared/NOTES.md). The namespace holds one veth pair for the two nodes (`HEAD` 10.77.0.1,
`NODE_B` 10.77.0.2 with the custom resources `node_b` and `worker_node`, `NODE_C` 10.77.0.3 with `worker_node` and one declared GPU that no test uses)
and one end of a second pair whose other end
stays outside (`INSIDE` 10.78.0.1 in the namespace, `OUTSIDE` 10.78.0.2 here), so that a process outside reaches
a service bound to `INSIDE` and nothing else leaves the namespace. Needs root, `ip` and `ray`.

    with NetnsRayCluster() as cluster:
        cluster.popen([python, "-m", "services.trainer.server"], env, log)   # runs inside the namespace
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HEAD, NODE_B, NODE_C, INSIDE, OUTSIDE = "10.77.0.1", "10.77.0.2", "10.77.0.3", "10.78.0.1", "10.78.0.2"
RAY_PORT = 6390
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
           # a node that stops is declared dead in about 3 s rather than 15 s
           "RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3"}


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
    def __init__(self, tag: str = "") -> None:
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
            self.run(ray, "start", "--head", f"--port={RAY_PORT}", f"--node-ip-address={HEAD}", "--include-dashboard=false",
                     '--resources={"head_node": 1}', *common)
            self.run(ray, "start", f"--address={self.address}", f"--node-ip-address={NODE_B}",
                     '--resources={"node_b": 1, "worker_node": 1}', *common)
            _sh(*inside, "ip", "addr", "add", f"{NODE_C}/24", "dev", b)
            self.run(ray, "start", f"--address={self.address}", f"--node-ip-address={NODE_C}",
                     '--resources={"worker_node": 1}', "--num-gpus=1", *common)  # declared: none is used
        except BaseException:
            self.__exit__()
            raise
        return self

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
        self.run(str(Path(sys.executable).with_name("ray")), "stop", "--force", check=False)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        subprocess.run(["ip", "link", "del", self._links[3]], capture_output=True)
