"""Step -> WebSocket client latency through the gateway, against the same events read over gRPC.

A trainer service and the gateway run as separate processes on free ports; a run on the tiny model
logs every step. One gRPC subscriber records each event's own timestamp (written by the worker) by
sequence number; WebSocket clients on `/ws/training/{run}` record when each message arrives. The
latency of a message is its arrival time minus the timestamp of the event with the same `seq`.
Target: p99 <= 50 ms. Also prints the gRPC subscriber's latency as the baseline, and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import websockets  # noqa: E402

from bench_trainer_stream import Service, free_port, percentile, request, stream  # noqa: E402
from finetune.trainer.v1 import trainer_service_pb2 as pb  # noqa: E402
from services.catalog.builtin_models import TINY_MODEL_ID, ensure_builtin_model  # noqa: E402
from services.trainer.synthetic import synthetic_rows  # noqa: E402


def start_gateway(trainer_port: int, data_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "FINETUNE_DATA_DIR": str(data_dir), "FINETUNE_GATEWAY_PORTS": str(port),
           "FINETUNE_GATEWAY_TRAINER_ADDRESS": f"127.0.0.1:{trainer_port}"}
    log = open(data_dir / "gateway.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.server"], env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, port


async def wait_http(port: int) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise SystemExit("the gateway did not start")


async def ws_client(port: int, run_id: str, arrivals: dict[int, float]) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/training/{run_id}?after=0", max_size=None) as ws:
        try:
            async for message in ws:
                data = json.loads(message)
                if data.get("event") == "step":
                    arrivals[data["seq"]] = time.time()
        except websockets.ConnectionClosed:
            pass


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    rows = synthetic_rows(256, seed=3, min_length=20, max_length=100)
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        data_dir = Path(tmp)
        ensure_builtin_model(data_dir, TINY_MODEL_ID)
        async with Service(data_dir) as svc:
            gateway, port = start_gateway(svc.port, data_dir)
            try:
                await wait_http(port)
                warm = await svc.stub.CreateRun(request(rows, 2))  # warm-up: the service imports transformers once
                await stream(svc.stub, warm.name)
                run_req = request(rows, args.steps)
                run_req.run_id = "wsbench"
                run = await svc.stub.CreateRun(run_req)
                stamps: dict[int, float] = {}
                grpc_arrivals: dict[int, float] = {}

                async def grpc_sub() -> None:
                    async for event in svc.stub.StreamRunEvents(pb.StreamRunEventsRequest(name=run.name)):
                        if event.WhichOneof("event") == "step":
                            grpc_arrivals[event.sequence] = time.time()
                            stamps[event.sequence] = event.time.ToNanoseconds() / 1e9

                ws_arrivals = [dict() for _ in range(args.clients)]
                await asyncio.gather(grpc_sub(), *(ws_client(port, "wsbench", a) for a in ws_arrivals))
                ws_ms = [(t - stamps[seq]) * 1000 for a in ws_arrivals for seq, t in a.items() if seq in stamps]
                grpc_ms = [(t - stamps[seq]) * 1000 for seq, t in grpc_arrivals.items()]
                print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, steps: {len(stamps)}, WebSocket clients: {args.clients}")
                print(f"gRPC subscriber (baseline): p50 {percentile(grpc_ms, 0.5):.1f} ms, p99 {percentile(grpc_ms, 0.99):.1f} ms")
                print(f"step -> WebSocket client: p50 {percentile(ws_ms, 0.5):.1f} ms, p99 {percentile(ws_ms, 0.99):.1f} ms, "
                      f"max {max(ws_ms):.1f} ms over {len(ws_ms)} messages (target p99 <= 50 ms)")
                print(f"peak RSS: gateway {peak_rss(gateway.pid) / 2**20:.0f} MiB, trainer service {svc.peak_rss() / 2**20:.0f} MiB")
            finally:
                gateway.terminate()
                gateway.wait(30)


if __name__ == "__main__":
    asyncio.run(main())
