"""The Ray execution backend: each worker attempt is a named Ray actor, placed by Ray on a node with the
resources the run asks for, that runs the same worker process as the local backend on its node.

The worker finds its run directory on storage every node sees: the trainer's data folder, shared, or with a
storage URL (`services.trainer.storage`) a folder of its own node that it stages from the storage. It talks to
the trainer over the worker link (`services.trainer.link`), whose address the trainer sets to one the nodes
can reach (`FINETUNE_TRAINER_LINK_HOST`). The actor's process is the worker's parent: the worker
dies with it (PR_SET_PDEATHSIG), so killing the actor stops the worker, and the worker dying ends the
actor's `wait` with the worker's exit status. An actor whose own process died reads as a worker killed by
SIGKILL: the supervisor relaunches the run as after any crash, on whichever node Ray picks, and it resumes
from its last checkpoint.

A data-parallel run (several workers: one per GPU, or CPU ranks over gloo) is a Ray Train `TorchTrainer` whose
driver is the attempt's actor: Ray places one training worker per rank on any nodes with room, sets up the
process group (NCCL on GPUs, gloo on CPUs), and each worker runs the same training code in its process
(`ddp_worker`); rank 0 journals and talks to the trainer as a single worker does. A worker that dies fails
the whole attempt (Ray Train's own retries are off), and the supervisor relaunches it from its checkpoint.

Actors are detached: they outlive the trainer service, which re-attaches to them when it starts again (by
their names, `run-<id>-<attempt>` in the `finetune` namespace) while their workers go on training and
reconnect their links to it.

Capacity comes from the cluster: the free GPUs and how many runs the nodes' free resources can place now
(`RayBackend.free`), so the jobs service dispatches a run only when Ray can start it.

Needs `ray[default,train]` (the `ray` extra: `pip install -e '.[ray]'`); imported only when the backend is `ray`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

log = logging.getLogger("finetune.trainer.ray")

NAMESPACE = "finetune"


class RunActor:
    """One worker attempt on a Ray node (the class Ray instantiates remotely). With `storage` ({"url", "run",
    "link", "attempt", "stored_offset", "python"}) the run folder is one of this node's, set up here."""

    def __init__(self, run_dir: str, command: list[str], log_file: str, storage: dict | None = None) -> None:
        self.run_dir, self.command, self.log_file, self.storage = run_dir, command, log_file, storage
        if storage:
            from services.trainer.worker import WORKER_LOG, worker_command

            self.run_dir = str(node_run_folder(storage))
            self.log_file = str(Path(self.run_dir) / WORKER_LOG)
            if command:  # one worker: the same command on this node's folder, staged from the storage
                self.command = [*worker_command(Path(self.run_dir), 1, storage["python"]), "--storage", storage["url"],
                                "--run", storage["run"]]
        self.proc: subprocess.Popen | None = None
        self.placement: dict = {}
        self._fitted = threading.Event()  # a data-parallel attempt: its TorchTrainer's fit() returned
        self._fit_status = 1

    def start(self) -> dict:
        """Run the worker process on this node."""
        from services.trainer.link import NODE_ENV
        from services.trainer.processes import die_with_parent

        env = {**os.environ, NODE_ENV: _node_ip()}
        with open(self.log_file, "ab") as out:
            self.proc = subprocess.Popen(die_with_parent(self.command, self.command[0]), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.placement = {"pid": self.proc.pid, "node": socket.gethostname(), "node_ip": _node_ip()}
        return self.placement

    def start_data_parallel(self, name: str, workers: int, worker_resources: dict, use_gpu: bool, storage: str) -> dict:
        """Drive a Ray Train TorchTrainer of `workers` ranks on the cluster (on a thread: `wait` answers its end)."""
        threading.Thread(target=self._fit, args=(name, workers, worker_resources, use_gpu, storage), daemon=True).start()
        self.placement = {"pid": os.getpid(), "node": socket.gethostname(), "node_ip": _node_ip(), "workers": workers}
        return self.placement

    def _fit(self, name: str, workers: int, worker_resources: dict, use_gpu: bool, storage: str) -> None:
        from ray.train import FailureConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        filesystem = None
        if self.storage:  # the storage URL: Ray Train's records in its `ray-train/` folder
            from services.trainer.storage import RunStorage

            store = RunStorage(storage)
            filesystem, storage = store.fs, store.path("ray-train")
        trainer = TorchTrainer(
            ddp_worker, train_loop_config={"run_dir": self.run_dir, "storage": self.storage},
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker=worker_resources),
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            run_config=RunConfig(name=name, storage_path=storage, storage_filesystem=filesystem,
                                 failure_config=FailureConfig(max_failures=0)))
        try:
            trainer.fit()
            self._fit_status = 0
        except Exception as exc:  # noqa: BLE001 - a rank that failed or died: the journal tells the run's fate
            with open(self.log_file, "a") as out:
                out.write(f"Ray Train attempt failed: {type(exc).__name__}: {exc}\n")
            self._fit_status = 1
        finally:
            self._fitted.set()

    def where(self) -> dict:
        return self.placement

    def relink(self, address: str) -> None:
        """A restarted trainer listens at `address`: tell this node's worker (its link re-reads the file)."""
        from services.trainer.link import read_link_file, write_link_file

        settings = read_link_file(Path(self.run_dir))
        if settings:
            write_link_file(Path(self.run_dir), **{**settings, "address": address})

    def wait(self) -> int:
        if self.proc is None:
            self._fitted.wait()
            return self._fit_status
        return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            from services.trainer.processes import kill_tree

            kill_tree(self.proc.pid)


def ddp_worker(config: dict) -> None:
    """One rank of a data-parallel run, in a Ray Train worker: Ray Train has joined the process group and set
    torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK...), so the worker's own code runs as under torchrun."""
    from services.trainer.link import NODE_ENV
    from services.trainer.worker import keep_freed_memory, run_training

    keep_freed_memory()  # a Ray Train worker process that only runs this rank
    os.environ[NODE_ENV] = _node_ip()
    storage = config.get("storage")
    if storage:  # this rank's own node folder, staged from the storage; rank 0 journals and links there
        run_dir = node_run_folder(storage, link=os.environ.get("RANK", "0") == "0")
        status = run_training(run_dir, storage=storage["url"], run_id=storage["run"])
    else:
        status = run_training(Path(config["run_dir"]))
    if status != 0:
        raise RuntimeError(f"rank {os.environ.get('RANK', '?')} ended with exit status {status}")


def node_run_folder(storage: dict, link: bool = True) -> Path:
    """The run's folder on this node (under its scratch folder), with the attempt's link settings and its journal
    set up when this process is the one that journals (`link`)."""
    from services.trainer.link import write_link_file
    from services.trainer.storage import scratch_dir, start_journal

    run_dir = scratch_dir() / "runs" / storage["run"]
    run_dir.mkdir(parents=True, exist_ok=True)
    if link:
        write_link_file(run_dir, **storage["link"])
        start_journal(run_dir, int(storage["attempt"]), int(storage["stored_offset"]))
    return run_dir


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
        self.workers = int(placement.get("workers", 1))
        self.returncode: int | None = None
        self._done = asyncio.ensure_future(self._wait())

    @property
    def placement(self) -> str:
        """Where the worker runs, in words (the run's `placement`)."""
        if self.workers > 1:
            return f"ray node {self.node_ip} (Ray Train driver of {self.workers} workers)"
        return f"ray node {self.node_ip}"

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

    async def relink(self, address: str) -> None:
        await self.actor.relink.remote(address)

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

    def worker_demand(self, gpus: int) -> dict:
        """What one worker (one rank) asks of a node: its CPUs, its GPUs and the configured custom resources."""
        demand = {"CPU": self.num_cpus, **self.resources}
        if gpus:
            demand["GPU"] = gpus
        return demand

    async def free(self, demand: dict) -> tuple[int, int]:
        """(GPUs free on the cluster, how many workers of `demand` the nodes' free resources can place now)."""
        return await asyncio.to_thread(self._free, demand)

    def _free(self, demand: dict) -> tuple[int, int]:
        from ray._private import state  # per-node availability: the public API only sums the cluster's

        nodes = state.available_resources_per_node()
        gpus = sum(int(free.get("GPU", 0)) for free in nodes.values())
        return gpus, sum(_fits(free, demand) for free in nodes.values())

    async def spawn(self, run_id: str, attempt: int, run_dir: Path, command: list[str], gpu_count: int,
                    log_file: Path, storage: dict | None = None) -> RayWorker:
        actor = self._actor(run_id, attempt, run_dir, command, log_file, storage, num_cpus=self.num_cpus, num_gpus=gpu_count,
                            resources=self.resources)
        placement = await actor.start.remote()
        log.info("run %s attempt %d: worker %s on node %s", run_id, attempt, placement["pid"], placement["node_ip"])
        return RayWorker(actor, placement)

    async def spawn_data_parallel(self, run_id: str, attempt: int, run_dir: Path, workers: int, gpu_count: int,
                                  log_file: Path, storage: dict | None = None) -> RayWorker:
        """A Ray Train TorchTrainer of `workers` ranks (the GPUs shared evenly), driven by the attempt's actor,
        which itself asks for nothing: Ray places it anywhere, and the ranks where their resources are."""
        from services.trainer.worker import WORKER_ENV

        actor = self._actor(run_id, attempt, run_dir, [], log_file, storage, num_cpus=0, num_gpus=0, resources={},
                            runtime_env={"env_vars": WORKER_ENV})  # before torch loads in the Ray Train ranks
        demand = self.worker_demand(gpu_count // workers if gpu_count else 0)
        # Ray Train's own records go beside the runs, on the storage every node sees.
        ray_storage = storage["url"] if storage else str(Path(run_dir).parent.parent / "ray-train")
        placement = await actor.start_data_parallel.remote(f"run-{run_id}-{attempt}", workers, demand, gpu_count > 0, ray_storage)
        log.info("run %s attempt %d: Ray Train driver of %d workers on node %s", run_id, attempt, workers, placement["node_ip"])
        return RayWorker(actor, placement)

    def _actor(self, run_id: str, attempt: int, run_dir: Path, command: list[str], log_file: Path, storage: dict | None,
               **resources):
        import ray

        options = {"name": f"run-{run_id}-{attempt}", "namespace": NAMESPACE, **resources, "max_restarts": 0,
                   "lifetime": "detached", "max_concurrency": 4}  # where() and kill() answer while wait() blocks
        return ray.remote(RunActor).options(**options).remote(str(run_dir), command, str(log_file), storage)

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


def _fits(free: dict, demand: dict) -> int:
    """How many times `demand` fits in one node's `free` resources."""
    counts = [math.floor(free.get(name, 0.0) / amount + 1e-9) for name, amount in demand.items() if amount > 0]
    return min(counts) if counts else 0
