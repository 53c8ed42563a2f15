"""Benchmark: REST GET through the gateway against direct gRPC calls of the same RPC (GetDataset).

The dataset service and the gateway (uvicorn on loopback) run as their own processes, as in production;
this process is the client for both: an httpx.AsyncClient for `GET /v1/datasets/{id}` and a grpc.aio stub
for `GetDataset`, each with the same number of concurrent callers. The two are timed alternately, several
rounds each (the machine is shared and noisy), and the median of the per-pair ratios is reported.
Target: REST requests/s at least 0.5x gRPC's. Peak RSS (VmHWM) of the gateway process is reported too.

    PYTHONPATH=. .venv/bin/python bench/bench_gateway.py [--seconds 3] [--rounds 3] [--concurrency 8] [--strict]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx

from finetune.dataset.v1 import dataset_service_pb2 as pb, dataset_service_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.5
CSV = b"input,output\n" + b"".join(b"question %d,answer %d\n" % (i, i) for i in range(200))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(module: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_until(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if await check():
                return
        except (grpc.RpcError, httpx.TransportError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come up in {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def rate(call, seconds: float, concurrency: int, counts: list[int] | None = None) -> float:
    """Calls per second of `call()` made by `concurrency` callers for `seconds`."""
    done = 0
    stop = time.perf_counter() + seconds

    async def worker():
        nonlocal done
        while time.perf_counter() < stop:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if counts is not None:
        counts.append(done)
    return done / (time.perf_counter() - started)


async def upload(stub) -> str:
    async def requests():
        yield pb.UploadDatasetRequest(metadata=pb.UploadMetadata(filename="bench.csv", display_name="bench"))
        yield pb.UploadDatasetRequest(chunk=CSV)

    return (await stub.UploadDataset(requests())).name


async def bench(args) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    dataset_port, gateway_port = free_port(), free_port()
    dataset = start("services.dataset.server", {"FINETUNE_DATASET_PORT": str(dataset_port), "FINETUNE_DATA_DIR": str(data_dir), "FINETUNE_LOG_LEVEL": "WARNING"})
    gateway = start(
        "gateway.server",
        {"FINETUNE_GATEWAY_PORTS": str(gateway_port), "FINETUNE_GATEWAY_DATASET_ADDRESS": f"127.0.0.1:{dataset_port}", "FINETUNE_LOG_LEVEL": "WARNING"},
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{dataset_port}")
    stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}", limits=limits, timeout=30)
    try:
        await wait_until(lambda: stub.ListDatasets(pb.ListDatasetsRequest(), timeout=1), "dataset service")
        name = await upload(stub)
        await wait_until(lambda: _ok(client.get(f"/v1/{name}")), "gateway")

        async def via_grpc():
            await stub.GetDataset(pb.GetDatasetRequest(name=name))

        async def via_rest():
            r = await client.get(f"/v1/{name}")
            r.raise_for_status()
            r.json()

        await rate(via_grpc, 0.5, args.concurrency)  # warm both paths up
        await rate(via_rest, 0.5, args.concurrency)
        ratios, rest_calls, gateway_cpu = [], [], 0.0
        for i in range(args.rounds):
            g = await rate(via_grpc, args.seconds, args.concurrency)
            before = cpu_seconds(gateway.pid)
            r = await rate(via_rest, args.seconds, args.concurrency, rest_calls)
            gateway_cpu += cpu_seconds(gateway.pid) - before
            ratios.append(r / g)
            print(f"round {i + 1}: gRPC {g:7.0f} req/s   REST via gateway {r:7.0f} req/s   ratio {r / g:.2f}x")
        ratio = statistics.median(ratios)
        print(f"median ratio REST/gRPC: {ratio:.2f}x (target >= {TARGET_RATIO}x), concurrency {args.concurrency}")
        # Independent of how busy the machine is: what one REST call costs the gateway process.
        print(f"gateway CPU per REST call: {gateway_cpu / sum(rest_calls) * 1e6:.0f} us")
        print(f"peak RSS: gateway {peak_rss_mb(gateway.pid):.0f} MB, dataset service {peak_rss_mb(dataset.pid):.0f} MB, "
              f"bench client {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        return 1 if args.strict and ratio < TARGET_RATIO else 0
    finally:
        await client.aclose()
        await channel.close()
        for proc in (gateway, dataset):
            proc.send_signal(signal.SIGTERM)
        for proc in (gateway, dataset):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _ok(response_awaitable) -> bool:
    return (await response_awaitable).status_code == 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each timed round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating gRPC/REST pairs")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent callers on each side")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the ratio misses the target")
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
