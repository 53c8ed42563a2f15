"""Ensembles (the guide's "Multi-Model Ensemble"): N member jobs of one configuration with different seeds,
and optionally learning rates spread around the configured one, tracked as a group and answering as one model.

The rule (`RULE`): every completed member answers greedily; the answer given by the most members wins; a tie
goes to the answer of the member with the lowest final validation loss (a member without one counts as the
worst), then to the earliest member. The evaluation answers the dataset's validation rows with each member and
with the ensemble and reports the share of exact answers of each, beside each member's validation loss.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import grpc

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc
from finetune.trainer.v1 import trainer_service_pb2
from services.common.errors import FailedPrecondition, InvalidArgument
from services.common.grpc_errors import from_rpc_error
from services.common.ids import new_id
from services.jobs.clients import ServiceChannel
from services.jobs.manager import JobDraft, JobManager
from services.jobs.states import JobState
from services.jobs.store import EnsembleRow, JobRow, JobStore, dumps, loads
from services.jobs.trainers import TrainerPool

RULE = ("majority vote over the completed members' greedy answers; a tie goes to the member with the lowest final "
        "validation loss, then to the earliest member")
MIN_SIZE, MAX_SIZE, MAX_SPREAD = 2, 8, 10.0
MAX_EVAL_ROWS = 200
DEFAULT_SEED = 42


def member_rates(learning_rate: float, size: int, spread: float) -> list[float]:
    """From lr / (1 + spread) to lr * (1 + spread), evenly on a log scale; all lr when spread is 0."""
    if spread <= 0 or size < 2:
        return [learning_rate] * size
    low, high = math.log(learning_rate / (1 + spread)), math.log(learning_rate * (1 + spread))
    return [math.exp(low + (high - low) * i / (size - 1)) for i in range(size)]


@dataclass(frozen=True)
class Vote:
    text: str
    votes: int
    chosen_job: str


def vote(answers: list[tuple[str, str, float | None]]) -> Vote:
    """(job id, answer, final validation loss) in member order -> the ensemble's answer by `RULE`."""
    counts = Counter(text.strip() for _, text, _ in answers)
    top = max(counts.values())

    def rank(item: tuple[int, tuple[str, str, float | None]]):
        index, (_, _, loss) = item
        return (loss if loss is not None and math.isfinite(loss) else math.inf, index)

    tied = [(i, a) for i, a in enumerate(answers) if counts[a[1].strip()] == top]
    _, (job, text, _) = min(tied, key=rank)
    return Vote(text.strip(), top, job)


def ensemble_state(members: list[JobRow]) -> str:
    states = [m.job_state for m in members]
    if any(not s.final for s in states):
        return "running"
    if JobState.COMPLETED in states:
        return "completed"
    return "cancelled" if all(s == JobState.CANCELLED for s in states) else "failed"


class EnsembleManager:
    def __init__(self, store: JobStore, jobs: JobManager, trainers: TrainerPool, dataset_address: str, api_token: str = ""):
        self.store, self.jobs, self.trainers = store, jobs, trainers
        self.datasets = ServiceChannel(dataset_address, api_token)

    async def close(self) -> None:
        await self.datasets.close()

    async def create(self, *, display_name: str, model: str, model_name: str, dataset: str, dataset_name: str, values: dict,
                     size: int, spread: float) -> tuple[EnsembleRow, list[JobRow]]:
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise InvalidArgument(f"an ensemble has {MIN_SIZE} to {MAX_SIZE} members, got {size}", reason="INVALID_ENSEMBLE",
                                  metadata={"field": "ensemble.size"})
        if not (0 <= spread <= MAX_SPREAD) or math.isnan(spread):
            raise InvalidArgument(f"learning_rate_spread must be from 0 to {MAX_SPREAD:g}, got {spread}", reason="INVALID_ENSEMBLE",
                                  metadata={"field": "ensemble.learning_rate_spread"})
        ensemble_id = new_id("ensemble")
        name = display_name.strip() or f"Ensemble of {size} on {dataset_name or dataset}"
        seed = int(values.get("seed", DEFAULT_SEED))
        rates = member_rates(float(values.get("learning_rate") or 2e-4), size, spread)
        drafts = [JobDraft(display_name=f"{name} · member {i + 1}", tags=["ensemble"], model=model, model_name=model_name,
                           dataset=dataset, dataset_name=dataset_name, metadata={"ensemble": ensemble_id},
                           hyperparameters=values | {"seed": seed + i, "learning_rate": rates[i]})
                  for i in range(size)]
        rows = [(await self.jobs.check(d))[0] for d in drafts]  # every member checked before any is queued
        members = [await self.jobs.submit(row) for row in rows]
        spec = {"model": model, "model_name": model_name, "dataset": dataset, "dataset_name": dataset_name, "values": values,
                "size": size, "spread": spread, "seeds": [seed + i for i in range(size)], "rates": rates}
        row = await self.store.add_ensemble(EnsembleRow(id=ensemble_id, display_name=name, spec=dumps(spec),
                                                        member_ids=dumps([m.id for m in members])))
        return row, members

    async def get(self, ensemble_id: str) -> tuple[EnsembleRow, list[JobRow]]:
        row = await self.store.get_ensemble(ensemble_id)
        return row, [await self.store.get_job(i) for i in loads(row.member_ids, [])]

    async def _completed(self, ensemble_id: str) -> tuple[EnsembleRow, list[JobRow]]:
        row, members = await self.get(ensemble_id)
        done = [m for m in members if m.job_state == JobState.COMPLETED]
        if not done:
            raise FailedPrecondition(f"no member of ensemble 'ensembles/{ensemble_id}' has completed yet ({ensemble_state(members)})",
                                     reason="ENSEMBLE_NOT_READY", metadata={"state": ensemble_state(members)})
        return row, done

    async def _answer(self, member: JobRow, prompt: str, max_new_tokens: int) -> str:
        request = trainer_service_pb2.GenerateRequest(name=f"runs/{member.id}", prompt=prompt, max_new_tokens=max_new_tokens)
        return await self.trainers.generate(member.trainer, request)

    async def generate(self, ensemble_id: str, prompt: str, max_new_tokens: int) -> tuple[Vote, list[tuple[str, str]]]:
        _, done = await self._completed(ensemble_id)
        answers = [(m.id, await self._answer(m, prompt, max_new_tokens), m.final_validation_loss) for m in done]
        return vote(answers), [(job, text) for job, text, _ in answers]

    async def evaluate(self, ensemble_id: str, max_rows: int) -> tuple[int, list[tuple[JobRow, float]], float]:
        if not 0 <= max_rows <= MAX_EVAL_ROWS:
            raise InvalidArgument(f"max_rows must be from 1 to {MAX_EVAL_ROWS}, got {max_rows}", reason="INVALID_MAX_ROWS",
                                  metadata={"field": "max_rows"})
        row, done = await self._completed(ensemble_id)
        rows = await self._validation_rows(loads(row.spec, {})["dataset"], max_rows or 16)
        hits = {m.id: 0 for m in done}
        ensemble_hits = 0
        for example in rows:
            budget = max(16, min(256, 2 * len(example.output.encode()) + 8))
            answers = [(m.id, await self._answer(m, example.input, budget), m.final_validation_loss) for m in done]
            for job, text, _ in answers:
                hits[job] += text.strip() == example.output.strip()
            ensemble_hits += vote(answers).text == example.output.strip()
        n = len(rows)
        return n, [(m, hits[m.id] / n) for m in done], ensemble_hits / n

    async def _validation_rows(self, dataset: str, limit: int) -> list:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(self.datasets.channel())
        request = dataset_service_pb2.ReadDatasetRowsRequest(name=f"datasets/{dataset}", split=dataset_pb2.SPLIT_VALIDATION)
        rows = []
        try:
            async for batch in stub.ReadDatasetRows(request, timeout=60, metadata=self.datasets.metadata):
                rows += list(batch.rows)
                if len(rows) >= limit:
                    break
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        if not rows:
            raise FailedPrecondition(f"dataset {dataset!r} has no validation rows to evaluate the ensemble on",
                                     reason="NO_VALIDATION_SPLIT")
        return rows[:limit]
