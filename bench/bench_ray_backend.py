"""Benchmark: what running on Ray costs a run against the same run local.

One trainer service per backend, each its own process on SQLite: `local` (a child process on this machine),
`ray` (an actor on node B of a real Ray cluster inside a network namespace, `tools/netns_ray.py`, its
worker streaming over the link to the trainer across the namespace's veth, the data folder shared) and `ray+s3`
(the same with `FINETUNE_TRAINER_STORAGE_URL` on an S3 server, moto, at the head: the worker stages the run into a
folder of node B's and uploads a checkpoint every `--save-steps` steps and its artifacts). Rounds rotate the
order; each round trains the built-in tiny Llama for `--steps` steps with one subscriber reading the stream:

- tokens/s: the worker's own figure for the run (`metrics.json`), median of the rounds' Ray/local ratios.
  Target: the Ray backend costs at most 5%. With the object store, also the run's wall time (CreateRun to final
  state): staging the inputs and fetching the artifacts happen outside the worker's training time.
- step -> subscriber latency: from a step event's wall-clock time (written by the worker) to its receipt by
  the gRPC subscriber, p50/p99 over all rounds. Target p99 <= 50 ms.

    .venv/bin/python bench/bench_ray_backend.py [--rounds 3] [--steps 80] [--save-steps 20]   (root, ip, the ray extra)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402

from bench.bench_trainer_stream import ENV, free_port, percentile, request, serving, stream  # noqa: E402
from finetune.trainer.v1 import run_pb2, trainer_service_pb2_grpc  # noqa: E402
from services.trainer.synthetic import synthetic_rows  # noqa: E402
from tools.netns_ray import HEAD, INSIDE, NetnsRayCluster, missing  # noqa: E402


class Trainer:
    """A trainer service process (inside the namespace for Ray) and a client of it."""

    def __init__(self, data_dir: Path, cluster: NetnsRayCluster | None, storage_url: str = ""):
        self.data_dir, self.port = data_dir, free_port()
        env = {**ENV, "FINETUNE_DATA_DIR": str(data_dir), "FINETUNE_TRAINER_PORT": str(self.port),
               "FINETUNE_TRAINER_WARM_WORKERS": "0"}
        command = [sys.executable, "-m", "services.trainer.server"]
        if cluster is None:
            self.host = "127.0.0.1"
            with open(data_dir / "service.log", "ab") as log:
                self.proc = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        else:
            self.host = INSIDE
            env.update({"FINETUNE_TRAINER_HOST": INSIDE, "FINETUNE_TRAINER_BACKEND": "ray",
                        "FINETUNE_TRAINER_RAY_ADDRESS": cluster.address, "FINETUNE_TRAINER_LINK_HOST": HEAD,
                        "FINETUNE_TRAINER_RAY_RESOURCES": json.dumps({"node_b": 1}), "FINETUNE_TRAINER_STORAGE_URL": storage_url})
            self.proc = cluster.popen(command, env, data_dir / "service.log")

    async def __aenter__(self):
        self.channel = grpc.aio.insecure_channel(f"{self.host}:{self.port}")
        if not await serving(self.channel):
            raise SystemExit(f"the trainer at {self.host}:{self.port} never became SERVING: see {self.data_dir}/service.log")
        self.stub = trainer_service_pb2_grpc.TrainerServiceStub(self.channel)
        return self

    async def __aexit__(self, *exc):
        await self.channel.close()
        self.proc.terminate()
        self.proc.wait(30)

    async def one_run(self, rows, steps: int, save_steps: int = 0) -> tuple[float, list[float], float]:
        """(tokens/s, step -> subscriber delays in ms, wall seconds) of one run."""
        started = time.monotonic()
        run = await self.stub.CreateRun(request(rows, steps, save_steps=save_steps))
        delays: list[float] = []

        def on_event(event, received):
            if event.WhichOneof("event") == "step":
                delays.append((received - event.time.ToNanoseconds() / 1e9) * 1000)

        events = await stream(self.stub, run.name, on_event)
        if events[-1].state.state != run_pb2.RUN_STATE_COMPLETED:
            raise SystemExit(f"run {run.name} ended {events[-1].state}")
        metrics = self.data_dir / "trainer" / "runs" / run.name.split("/", 1)[1] / "artifacts" / "metrics.json"
        wall = time.monotonic() - started
        return json.loads(metrics.read_text())["summary"]["tokens_per_second"], delays, wall


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--save-steps", type=int, default=20)
    parser.add_argument("--subjects", default="local,ray,ray+s3", help="which of local, ray and ray+s3 to run (local always)")
    args = parser.parse_args()
    why = missing()
    if why:
        raise SystemExit(f"cannot run a Ray cluster here: {why}")
    rows = synthetic_rows(256, seed=3, min_length=20, max_length=100)  # as bench_trainer_stream.py
    names = tuple(n for n in ("local", "ray", "ray+s3") if n == "local" or n in args.subjects.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp, NetnsRayCluster(scratch=Path(tmp) / "nodes") as cluster:
        async with contextlib.AsyncExitStack() as stack:
            trainers = {}
            for name in names:
                (Path(tmp) / name).mkdir()
                subject = Trainer(Path(tmp) / name, None if name == "local" else cluster,
                                  cluster.object_store() if name == "ray+s3" else "")
                trainers[name] = await stack.enter_async_context(subject)
            for trainer in trainers.values():
                await trainer.one_run(rows, 3)  # warm: the model built, the cluster's worker pool started
            speeds: dict[str, list[float]] = {n: [] for n in names}
            delays: dict[str, list[float]] = {n: [] for n in names}
            walls: dict[str, list[float]] = {n: [] for n in names}
            for round_ in range(args.rounds):
                order = names[round_ % len(names):] + names[:round_ % len(names)]
                for name in order:
                    speed, lat, wall = await trainers[name].one_run(rows, args.steps, args.save_steps)
                    speeds[name].append(speed)
                    delays[name].extend(lat)
                    walls[name].append(wall)
    print(f"tokens/s: " + "; ".join(f"{n} {[round(s) for s in speeds[n]]}" for n in names))
    for name in names[1:]:
        ratios = [r / lo for r, lo in zip(speeds[name], speeds["local"])]
        wall = [lo / r for r, lo in zip(walls[name], walls["local"])]
        print(f"{name}/local tokens/s, median of {args.rounds} paired rounds: {statistics.median(ratios):.3f} "
              f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}; target >= 0.95); run wall time local/{name}: "
              f"{statistics.median(wall):.3f} (median {statistics.median(walls[name]):.1f} s vs {statistics.median(walls['local']):.1f} s)")
    for name in names:
        values = delays[name]
        print(f"step -> subscriber latency, {name}: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, "
              f"max {max(values):.1f} ms over {len(values)} steps" + (" (target p99 <= 50 ms)" if name != "local" else ""))


if __name__ == "__main__":
    asyncio.run(main())
