"""Concurrent generations on one loaded model, decoded together (the guide's `InferenceManager`).

A `Batcher` owns one model and a thread. A generation submits its prompt ids and reads its new token ids
back; the thread takes every request waiting when it starts a batch (after waiting `window_s` for more,
at most `max_batch`), runs their prompts as one left-padded batch with an attention mask, then one forward
pass per new token for all of them, each row with its own temperature, top_p and seed. A row that ends
(EOS, its max_new_tokens, or its reader gone) leaves the batch and its cache rows are dropped, so the others
run as if it had never been there. A request that arrives while a batch runs waits for the next one.

On a small model a forward pass costs about the same for one row as for eight, so eight concurrent answers
take about as long as one (bench/bench_inference.py). At temperature 0 an answer is the same token ids as
alone: rows never see each other (the mask), and a shorter prompt's padding is masked out.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from services.trainer.generation import Usage, nucleus

_END = object()


@dataclass
class _Request:
    ids: list[int]
    max_new_tokens: int
    temperature: float
    top_p: float
    generator: torch.Generator | None
    usage: Usage
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    gone: bool = False  # the reader stopped reading (a stop text, a cancelled call)


class Batcher:
    def __init__(self, model, tokenizer, *, max_batch: int = 8, window_s: float = 0.003, idle_s: float = 30.0):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.window_s, self.idle_s = max(1, max_batch), window_s, idle_s
        self._waiting: queue.Queue[_Request] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batch_sizes: list[int] = []  # the size of each batch run (the bench and the tests read it)

    def generate(self, ids: list[int], max_new_tokens: int, temperature: float = 0.0, top_p: float = 0.0,
                 generator: torch.Generator | None = None, usage: Usage | None = None) -> Iterator[int]:
        """New token ids one at a time, as `generation.iter_token_ids` yields them for this prompt alone."""
        request = _Request(list(ids), max_new_tokens, temperature, top_p, generator, usage if usage is not None else Usage())
        request.usage.prompt_tokens = len(ids)
        with self._lock:
            self._waiting.put(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="generate-batcher", daemon=True)
                self._thread.start()
        try:
            while (item := request.out.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            request.gone = True

    def _loop(self) -> None:
        while True:
            try:
                first = self._waiting.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._waiting.empty():  # idle: the thread ends; the next request starts another
                        self._thread = None
                        return
                continue
            batch = [first]
            deadline = time.monotonic() + self.window_s
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._waiting.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            try:
                self._run(batch)
            except BaseException as exc:  # noqa: BLE001 - every reader hears of it
                for request in batch:
                    request.out.put(exc)

    @torch.no_grad()
    def _run(self, batch: list[_Request]) -> None:
        from transformers import DynamicCache

        self.batch_sizes.append(len(batch))
        device = next(self.model.parameters()).device
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else (eos or 0)
        longest = max(len(r.ids) for r in batch)
        input_ids = torch.tensor([[pad] * (longest - len(r.ids)) + r.ids for r in batch], dtype=torch.long, device=device)
        mask = torch.tensor([[0] * (longest - len(r.ids)) + [1] * len(r.ids) for r in batch], dtype=torch.long, device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        rows = list(batch)
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                         logits_to_keep=1)
        while rows:
            logits = out.logits[:, -1].float()
            keep, next_ids = [], []
            for i, request in enumerate(rows):
                token = _choose(logits[i], request)
                if token == eos:
                    request.usage.finish_reason = "stop"
                    request.out.put(_END)
                    continue
                request.usage.completion_tokens += 1
                request.out.put(token)
                if request.usage.completion_tokens >= request.max_new_tokens or request.gone:
                    request.out.put(_END)
                    continue
                keep.append(i)
                next_ids.append(token)
            if not keep:
                return
            if len(keep) < len(rows):  # the ended rows leave: their cache rows go too
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                mask = mask.index_select(0, index)
                rows = [rows[i] for i in keep]
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            out = self.model(input_ids=torch.tensor(next_ids, dtype=torch.long, device=device)[:, None], attention_mask=mask,
                             position_ids=mask.sum(-1, keepdim=True) - 1, cache=cache, use_cache=True, logits_to_keep=1)


def _choose(logits: torch.Tensor, request: _Request) -> int:
    if request.temperature > 0:
        probs = nucleus(torch.softmax(logits / request.temperature, dim=-1), request.top_p)
        return int(torch.multinomial(probs.cpu(), 1, generator=request.generator).item())
    return int(logits.argmax().item())
