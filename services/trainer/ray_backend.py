"""The Ray execution backend: each worker attempt is a named Ray actor, placed by Ray on a node with the
resources the run asks for, that runs the same worker process as the local backend on its node.

The worker finds its run directory on storage every node sees (the trainer's data folder, shared) and
talks to the trainer over the worker link (`services.trainer.link`), whose address the trainer sets to one
the nodes can reach (`FINETUNE_TRAINER_LINK_HOST`). The actor's process is the worker's parent: the worker
dies with it (PR_SET_PDEATHSIG), so killing the actor stops the worker, and the worker dying ends the
actor's `wait` with the worker's exit status. An actor whose own process died reads as a worker killed by
SIGKILL: the supervisor relaunches the run as after any crash, on whichever node Ray picks, and it resumes
from its last checkpoint.

Actors are detached: they outlive the trainer service, which re-attaches to them when it starts again (by
their names, `run-<id>-<attempt>` in the `finetune` namespace) while their workers go on training and
reconnect their links to it.

Needs `ray[default]` (the `ray` extra: `pip install -e '.[ray]'`); imported only when the backend is `ray`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
from pathlib import Path

log = logging.getLogger("finetune.trainer.ray")

NAMESPACE = "finetune"


class RunActor:
    """One worker attempt on a Ray node (the class Ray instantiates remotely)."""

    def __init__(self, run_dir: str, command: list[str], log_file: str) -> None:
        self.run_dir, self.command, self.log_file = run_dir, command, log_file
        self.proc: subprocess.Popen | None = None
        self.placement: dict = {}

    def start(self) -> dict:
        from services.trainer.processes import die_with_parent

        with open(self.log_file, "ab") as out:
            self.proc = subprocess.Popen(die_with_parent(self.command, self.command[0]), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.placement = {"pid": self.proc.pid, "node": socket.gethostname(), "node_ip": _node_ip()}
        return self.placement

    def where(self) -> dict:
        return self.placement

    def wait(self) -> int:
        return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            from services.trainer.processes import kill_tree

            kill_tree(self.proc.pid)


def _node_ip() -> str:
    import ray

    return ray.util.get_node_ip_address()


class RayWorker:
    """The supervisor's view of a worker running in a Ray actor: the same `pid`, `returncode` and `wait()` as a
    local process (the pid is on the actor's node), and `kill()`."""

    remote = True

    def __init__(self, actor, placement: dict) -> None:
        self.actor = actor
        self.pid = int(placement["pid"])
        self.node_ip = str(placement.get("node_ip", ""))
        self.returncode: int | None = None
        self._done = asyncio.ensure_future(self._wait())

    async def _wait(self) -> int:
        import ray

        try:
            code = await self.actor.wait.remote()
        except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError, ray.exceptions.WorkerCrashedError) as exc:
            log.warning("the actor of worker %d died: %s", self.pid, str(exc).splitlines()[0] if str(exc) else exc)
            code = -signal.SIGKILL
        self.returncode = code
        try:
            ray.kill(self.actor)
        except Exception:  # noqa: BLE001 - gone already
            pass
        return code

    async def wait(self) -> int:
        return await asyncio.shield(self._done)

    def kill(self) -> None:
        import ray

        try:
            ray.kill(self.actor)  # the worker dies with its actor
        except Exception:  # noqa: BLE001 - gone already
            pass


class RayBackend:
    """Starts worker attempts as Ray actors on the cluster at `address`."""

    def __init__(self, address: str, resources: dict | None = None, num_cpus: float = 1.0) -> None:
        self.address = address
        self.resources = dict(resources or {})
        self.num_cpus = num_cpus

    async def connect(self) -> None:
        await asyncio.to_thread(self._connect)

    def _connect(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False, ignore_reinit_error=True,
                     configure_logging=False)

    async def gpu_count(self) -> int:
        """The cluster's GPUs (Ray places a run that asks for some once enough are free)."""
        import ray

        return int((await asyncio.to_thread(ray.cluster_resources)).get("GPU", 0))

    async def spawn(self, run_id: str, attempt: int, run_dir: Path, command: list[str], gpu_count: int,
                    log_file: Path) -> RayWorker:
        import ray

        actor_class = ray.remote(RunActor)
        options = {"name": f"run-{run_id}-{attempt}", "namespace": NAMESPACE, "num_cpus": self.num_cpus,
                   "num_gpus": gpu_count, "resources": self.resources, "max_restarts": 0, "lifetime": "detached",
                   "max_concurrency": 4}  # where() and kill() answer while wait() blocks
        actor = actor_class.options(**options).remote(str(run_dir), command, str(log_file))
        placement = await actor.start.remote()
        log.info("run %s attempt %d: worker %s on node %s", run_id, attempt, placement["pid"], placement["node_ip"])
        return RayWorker(actor, placement)

    async def reattach(self, run_id: str, attempt: int) -> RayWorker | None:
        """The live actor of the run's attempt (a previous trainer started it), or None."""
        import ray

        try:
            actor = await asyncio.to_thread(ray.get_actor, f"run-{run_id}-{attempt}", NAMESPACE)
            placement = await actor.where.remote()
        except (ValueError, ray.exceptions.RayActorError):
            return None
        return RayWorker(actor, placement) if placement else None

    async def kill_leftovers(self, run_id: str, attempts: int) -> None:
        """Kill actors of earlier attempts that are still alive (a trainer that died left them)."""
        await asyncio.to_thread(self._kill_leftovers, run_id, attempts)

    def _kill_leftovers(self, run_id: str, attempts: int) -> None:
        import ray

        for attempt in range(1, attempts + 1):
            try:
                ray.kill(ray.get_actor(f"run-{run_id}-{attempt}", namespace=NAMESPACE))
            except ValueError:
                pass
