"""Benchmark: what running on Ray costs a run against the same run local.

One trainer service per backend, each its own process on SQLite: `local` (a child process on this machine) and
`ray` (an actor on node B of a real Ray cluster inside a network namespace, `tools/netns_ray.py`, its
worker streaming over the link to the trainer across the namespace's veth). Rounds alternate local and Ray; each
round trains the built-in tiny Llama for `--steps` steps with one subscriber reading the stream:

- tokens/s: the worker's own figure for the run (`metrics.json`), median of the rounds' Ray/local ratios.
  Target: the Ray backend costs at most 5%.
- step -> subscriber latency: from a step event's wall-clock time (written by the worker) to its receipt by
  the gRPC subscriber, p50/p99 over all rounds. Target p99 <= 50 ms.

    .venv/bin/python bench/bench_ray_backend.py [--rounds 4] [--steps 80]      (root, ip and the ray extra)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
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

    def __init__(self, data_dir: Path, cluster: NetnsRayCluster | None):
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
                        "FINETUNE_TRAINER_RAY_RESOURCES": json.dumps({"node_b": 1})})
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

    async def one_run(self, rows, steps: int) -> tuple[float, list[float]]:
        """(tokens/s, step -> subscriber delays in ms) of one run."""
        run = await self.stub.CreateRun(request(rows, steps))
        delays: list[float] = []

        def on_event(event, received):
            if event.WhichOneof("event") == "step":
                delays.append((received - event.time.ToNanoseconds() / 1e9) * 1000)

        events = await stream(self.stub, run.name, on_event)
        if events[-1].state.state != run_pb2.RUN_STATE_COMPLETED:
            raise SystemExit(f"run {run.name} ended {events[-1].state}")
        metrics = self.data_dir / "trainer" / "runs" / run.name.split("/", 1)[1] / "artifacts" / "metrics.json"
        return json.loads(metrics.read_text())["summary"]["tokens_per_second"], delays


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=80)
    args = parser.parse_args()
    why = missing()
    if why:
        raise SystemExit(f"cannot run a Ray cluster here: {why}")
    rows = synthetic_rows(256, seed=3, min_length=20, max_length=100)  # as bench_trainer_stream.py
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp, NetnsRayCluster() as cluster:
        (Path(tmp) / "local").mkdir()
        (Path(tmp) / "ray").mkdir()
        async with Trainer(Path(tmp) / "local", None) as local, Trainer(Path(tmp) / "ray", cluster) as ray:
            await local.one_run(rows, 3)  # warm both: the model built, the cluster's worker pool started
            await ray.one_run(rows, 3)
            speeds: dict[str, list[float]] = {"local": [], "ray": []}
            delays: dict[str, list[float]] = {"local": [], "ray": []}
            for round_ in range(args.rounds):
                order = [("local", local), ("ray", ray)] if round_ % 2 == 0 else [("ray", ray), ("local", local)]
                for name, trainer in order:
                    speed, lat = await trainer.one_run(rows, args.steps)
                    speeds[name].append(speed)
                    delays[name].extend(lat)
    ratios = [r / lo for r, lo in zip(speeds["ray"], speeds["local"])]
    print(f"tokens/s local {[round(s) for s in speeds['local']]}, ray {[round(s) for s in speeds['ray']]}")
    print(f"ray/local tokens/s, median of {args.rounds} paired rounds: {statistics.median(ratios):.3f} "
          f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}; target >= 0.95)")
    for name in ("local", "ray"):
        values = delays[name]
        print(f"step -> subscriber latency, {name}: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, "
              f"max {max(values):.1f} ms over {len(values)} steps" + (" (target p99 <= 50 ms)" if name == "ray" else ""))


if __name__ == "__main__":
    asyncio.run(main())
