"""Batched inference through the OpenAI endpoint: 8 concurrent chat completions on one model against the same 8
one after another, and the time to the first token through `/openai/v1/chat/completions` against the Generate
RPC directly.

The whole suite runs as `make run` starts it (scratch data folder, free ports). Rounds alternate the subject and
the baseline. Printed: the 8 answers' wall time each way and the throughput ratio (target >= 3x), that each
concurrent answer equals its one-after-another answer at temperature 0, the batch sizes the trainer ran, the
medians of the time to first token each way and their ratio (target <= 1.2x), and the trainer's peak RSS.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402

from finetune.trainer.v1 import trainer_service_pb2 as tpb, trainer_service_pb2_grpc  # noqa: E402
from tests.suite import running_suite  # noqa: E402

QUESTIONS = ["How do I reset my password?", "Where is my order?", "When will I get my refund?", "Can I return an item?",
             "How do I cancel my order?", "How long does shipping take?", "Do you ship abroad?", "Which payment methods do you accept?"]


def chat(client: httpx.Client, model: str, question: str, max_tokens: int) -> str:
    r = client.post("/openai/v1/chat/completions", json={"model": model, "temperature": 0, "max_tokens": max_tokens,
                                                         "messages": [{"role": "user", "content": question}]})
    r.raise_for_status()
    return r.json()["choices"][0]["message"]["content"]


def first_token_openai(client: httpx.Client, model: str, max_tokens: int) -> float:
    started = time.perf_counter()
    body = {"model": model, "temperature": 0, "max_tokens": max_tokens, "stream": True,
            "messages": [{"role": "user", "content": QUESTIONS[0]}]}
    with client.stream("POST", "/openai/v1/chat/completions", json=body) as r:
        for line in r.iter_lines():
            if '"content":"' in line.replace(" ", "") and '"content":""' not in line.replace(" ", ""):
                return time.perf_counter() - started
    raise RuntimeError("no content in the stream")


def first_token_grpc(stub, model: str, max_tokens: int) -> float:
    started = time.perf_counter()
    for piece in stub.Generate(tpb.GenerateRequest(model=model, prompt=QUESTIONS[0], max_new_tokens=max_tokens)):
        if piece.text:
            return time.perf_counter() - started
    raise RuntimeError("no text")


def trainer_rss(port: int) -> int:
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            status = Path(f"/proc/{conn.pid}/status").read_text()  # VmHWM: the process's peak resident set
            return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="finetune-builtin/tiny-llama-3m")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--ttft-tries", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, running_suite(Path(data), gateway_ports=1) as suite, \
            httpx.Client(base_url=suite.url, timeout=300) as client, \
            grpc.insecure_channel(f"127.0.0.1:{suite.service_ports['trainer']}") as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        chat(client, args.model, "warm up", 4)  # load the model once
        clients = [httpx.Client(base_url=suite.url, timeout=300) for _ in QUESTIONS]  # connected before any timing
        for c in clients:
            chat(c, args.model, "warm up", 1)
        sequential, together_times, same = [], [], True
        pool = concurrent.futures.ThreadPoolExecutor(len(QUESTIONS))  # its threads started before any timing
        list(pool.map(lambda c: chat(c, args.model, "warm up", 1), clients))
        for _ in range(args.rounds):
            started = time.perf_counter()
            alone = [chat(client, args.model, q, args.max_tokens) for q in QUESTIONS]
            sequential.append(time.perf_counter() - started)
            started = time.perf_counter()
            together = list(pool.map(lambda pair: chat(pair[0], args.model, pair[1], args.max_tokens), zip(clients, QUESTIONS)))
            together_times.append(time.perf_counter() - started)
            same = same and together == alone
        pool.shutdown()
        for c in clients:
            c.close()
        seq, conc = statistics.median(sequential), statistics.median(together_times)
        print(f"8 chat completions ({args.model}, {args.max_tokens} tokens, temperature 0): one after another {seq:.2f} s, "
              f"concurrently {conc:.2f} s -> throughput {seq / conc:.2f}x (target >= 3x); rounds {[f'{s / c:.2f}' for s, c in zip(sequential, together_times)]}")
        print(f"each concurrent answer equals its one-after-another answer: {same}")
        openai_ttft, grpc_ttft = [], []
        for _ in range(args.ttft_tries):
            openai_ttft.append(first_token_openai(client, args.model, 8))
            grpc_ttft.append(first_token_grpc(stub, args.model, 8))
        o, g = statistics.median(openai_ttft), statistics.median(grpc_ttft)
        print(f"time to first token: OpenAI endpoint {o * 1000:.1f} ms, Generate RPC {g * 1000:.1f} ms -> {o / g:.2f}x (target <= 1.2x)")
        print(f"trainer peak RSS (both ways, one process): {trainer_rss(suite.service_ports['trainer']) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
