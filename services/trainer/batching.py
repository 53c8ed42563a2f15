"""Concurrent generations on one loaded model, decoded together (the guide's `InferenceManager`).

A `Batcher` owns one model and a thread. A generation submits its prompt ids and reads its new token ids
back; the thread takes every request waiting when it starts a batch (after waiting `window_s` for more,
at most `max_batch`), runs their prompts as one left-padded batch with an attention mask, then one forward
pass per new token for all of them, each row with its own temperature, top_p and seed. A row that ends
(EOS, its max_new_tokens, or its reader gone) leaves the batch and its cache rows are dropped, so the others
run as if it had never been there. A request that arrives while a batch runs joins it at the next token
(continuous batching): its prompt is prefilled on its own, and its cache is merged into the batch's, the
shorter side left-padded and masked out.

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

from services.trainer.generation import Usage, choose_token

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
        self.joined = 0  # requests that joined a running batch

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
        self.batch_sizes.append(len(batch))
        cache, mask, rows, logits = self._prefill(batch)
        while rows:
            keep, next_ids = self._emit(rows, logits)
            if len(keep) < len(rows):  # the ended rows leave: their cache rows go too
                rows = [rows[i] for i in keep]
                if rows:
                    index = torch.tensor(keep, device=mask.device)
                    cache.batch_select_indices(index)
                    mask = mask.index_select(0, index)
            # Continuous batching: a request that arrived meanwhile joins now, after a prefill of its own.
            newcomers = self._take_waiting(self.max_batch - len(rows))
            if newcomers:
                self.batch_sizes.append(len(newcomers))
                new_cache, new_mask, new_rows, new_logits = self._prefill(newcomers)
                new_keep, new_ids = self._emit(new_rows, new_logits)
                if new_keep:
                    index = torch.tensor(new_keep, device=new_mask.device)
                    new_cache.batch_select_indices(index)
                    new_mask = new_mask.index_select(0, index)
                    if rows:
                        cache, mask = _merge(cache, mask, new_cache, new_mask)
                        self.joined += len(new_keep)
                    else:
                        cache, mask = new_cache, new_mask
                    rows += [new_rows[i] for i in new_keep]
                    next_ids += new_ids
            if not rows:
                return
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            out = self.model(input_ids=torch.tensor(next_ids, dtype=torch.long, device=mask.device)[:, None], attention_mask=mask,
                             position_ids=mask.sum(-1, keepdim=True) - 1, cache=cache, use_cache=True, logits_to_keep=1)
            logits = out.logits[:, -1].float()

    def _take_waiting(self, room: int) -> list[_Request]:
        taken = []
        while len(taken) < room:
            try:
                taken.append(self._waiting.get_nowait())
            except queue.Empty:
                break
        return taken

    def _prefill(self, batch: list[_Request]):
        """The prompts as one left-padded batch: (cache, mask, rows, logits of each row's first new token)."""
        from transformers import DynamicCache

        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else (self.tokenizer.eos_token_id or 0)
        longest = max(len(r.ids) for r in batch)
        input_ids = torch.tensor([[pad] * (longest - len(r.ids)) + r.ids for r in batch], dtype=torch.long, device=device)
        mask = torch.tensor([[0] * (longest - len(r.ids)) + [1] * len(r.ids) for r in batch], dtype=torch.long, device=device)
        cache = DynamicCache()
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0), cache=cache,
                         use_cache=True, logits_to_keep=1)
        return cache, mask, list(batch), out.logits[:, -1].float()

    def _emit(self, rows: list[_Request], logits: torch.Tensor) -> tuple[list[int], list[int]]:
        """Each row's next token, sent to its reader: (the rows that go on, their tokens)."""
        eos = self.tokenizer.eos_token_id
        keep, next_ids = [], []
        for i, request in enumerate(rows):
            token = choose_token(logits[i], request.temperature, request.top_p, request.generator)
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
        return keep, next_ids


def _merge(cache, mask: torch.Tensor, other, other_mask: torch.Tensor):
    """Two batches' caches and masks as one: the shorter left-padded (masked out) to the longer's length."""
    length = max(mask.shape[1], other_mask.shape[1])

    def pad(t: torch.Tensor, to: int, dim: int) -> torch.Tensor:
        missing = to - t.shape[dim]
        if missing == 0:
            return t
        shape = list(t.shape)
        shape[dim] = missing
        return torch.cat([t.new_zeros(shape), t], dim=dim)

    for mine, theirs in zip(cache.layers, other.layers):
        mine.keys = torch.cat([pad(mine.keys, length, 2), pad(theirs.keys, length, 2)], dim=0)
        mine.values = torch.cat([pad(mine.values, length, 2), pad(theirs.values, length, 2)], dim=0)
    return cache, torch.cat([pad(mask, length, 1), pad(other_mask, length, 1)], dim=0)
