"""Sweeps (the guide's automated mode): grid or Bayesian search with Optuna, every trial a real job.

Optuna's study lives in our database (`optuna.storages.RDBStorage` on the sync form of our URL). A trial
is asked for with the sweep's distributions (GridSampler or TPESampler), becomes a queued job, and its
trainer's evaluation losses are reported as intermediate values; when the MedianPruner says a trial is
worse than earlier ones at the same step, its job is cancelled (reason PRUNED). A completed job tells
the study its final validation loss. After a restart the study is loaded again and the trial jobs are
followed where they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, Callable

import optuna
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from services.common.db import normalise_url
from services.common.errors import FailedPrecondition, FinetuneError, InvalidArgument, NotFound, Unavailable
from services.common.ids import new_id
from services.jobs import search_space
from services.jobs.dispatcher import Dispatcher
from services.jobs.manager import JobDraft, JobManager, Problems
from services.jobs.states import JobState
from services.jobs.store import JobRow, JobStore, SweepRow, TrialRow, dumps, now

log = logging.getLogger("finetune.jobs.sweeps")
optuna.logging.set_verbosity(optuna.logging.WARNING)

RUNNING, COMPLETED, FAILED, CANCELLED = "running", "completed", "failed", "cancelled"
TRIAL_RUNNING, TRIAL_COMPLETED, TRIAL_PRUNED, TRIAL_FAILED = "running", "completed", "pruned", "failed"
MAX_TRIALS = 200


class AskTellGridSampler(optuna.samplers.GridSampler):
    """GridSampler stops `study.optimize` once the grid is done, which ask-and-tell has none of (Optuna
    raises); a sweep stops by counting its trials instead."""

    def after_trial(self, study, trial, state, values) -> None:
        return None


def sync_storage(url: str) -> tuple[str, dict]:
    """Optuna's (sync) URL and engine options for our database URL: sqlite, or PostgreSQL via psycopg 3
    (asyncpg is async only); a `?schema=` becomes the connection's search_path."""
    parsed = make_url(normalise_url(url))
    if parsed.drivername.startswith("sqlite"):
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False), {"connect_args": {"timeout": 30}}
    schema = parsed.query.get("schema")
    parsed = parsed.difference_update_query(["schema"]).set(drivername="postgresql+psycopg")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    return parsed.render_as_string(hide_password=False), kwargs


class SweepManager:
    def __init__(self, store: JobStore, dispatcher: Dispatcher, jobs: JobManager, database_url: str, *, poll_interval: float = 5.0):
        self.store = store
        self.dispatcher = dispatcher
        self.jobs = jobs
        self.database_url = database_url
        self.poll_interval = poll_interval
        self._storage: optuna.storages.RDBStorage | None = None
        self._studies: dict[str, optuna.Study] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one Optuna call per sweep at a time
        self._step_locks: dict[str, asyncio.Lock] = {}
        dispatcher.evaluation_hooks.append(self.on_evaluation)
        dispatcher.final_hooks.append(self.on_final)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        rows, _ = await self.store.list_sweeps(0, 10_000, state=RUNNING)
        for row in rows:
            self._drive(row.id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._storage is not None:
            storage, self._storage = self._storage, None
            await asyncio.to_thread(storage.engine.dispose)

    def _drive(self, sweep_id: str) -> None:
        task = self._tasks.get(sweep_id)
        if task is None or task.done():
            self._tasks[sweep_id] = asyncio.create_task(self._run(sweep_id), name=f"sweep-{sweep_id}")

    # --- optuna --------------------------------------------------------------------------------

    def _rdb(self) -> optuna.storages.RDBStorage:
        if self._storage is None:
            url, kwargs = sync_storage(self.database_url)
            self._storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        return self._storage

    def _study(self, sweep: SweepRow) -> optuna.Study:
        """The sweep's study, created on first use, loaded again after a restart (blocking: call in a thread)."""
        study = self._studies.get(sweep.id)
        if study is not None:
            return study
        spec = sweep.spec_dict
        if spec["algorithm"] == "grid":
            sampler: optuna.samplers.BaseSampler = AskTellGridSampler(search_space.grid(spec["search_space"]), seed=spec["seed"])
        else:
            startup = max(1, min(10, spec["max_trials"] // 2))
            sampler = optuna.samplers.TPESampler(seed=spec["seed"], n_startup_trials=startup)
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0) if spec["pruning"]
                  else optuna.pruners.NopPruner())
        study = optuna.create_study(storage=self._rdb(), study_name=sweep.id, direction="minimize", sampler=sampler,
                                    pruner=pruner, load_if_exists=True)
        self._studies[sweep.id] = study
        return study

    async def _optuna(self, sweep_id: str, call: Callable[[optuna.Study], Any]) -> Any:
        """Run `call(study)` in a thread, one call per sweep at a time."""
        lock = self._locks.setdefault(sweep_id, asyncio.Lock())
        sweep = await self.store.get_sweep(sweep_id)
        async with lock:
            return await asyncio.to_thread(lambda: call(self._study(sweep)))

    # --- create and drive ----------------------------------------------------------------------

    async def check(self, draft: JobDraft, ranges: list[dict], *, display_name: str, algorithm: str, max_trials: int,
                    parallel_trials: int, pruning: bool, seed: int) -> SweepRow:
        """Check a sweep: its ranges, and its model, dataset and fixed values as a job would be checked; every
        problem named in one InvalidArgument (reason INVALID_SWEEP)."""
        problems = Problems("INVALID_SWEEP", "the sweep")
        for where, message in search_space.check_ranges(ranges, draft.hyperparameters):
            problems.add(where, message)
        if not 1 <= max_trials <= MAX_TRIALS:
            problems.add("max_trials", f"max_trials must be between 1 and {MAX_TRIALS}, got {max_trials}")
        if not 1 <= parallel_trials <= max(1, max_trials):
            problems.add("parallel_trials", f"parallel_trials must be between 1 and max_trials ({max_trials}), got {parallel_trials}")
        if algorithm not in ("grid", "bayesian"):
            problems.add("algorithm", f"algorithm must be grid or bayesian, got {algorithm!r}")
        elif algorithm == "grid" and not problems.items and search_space.grid_size(ranges) > search_space.MAX_GRID_POINTS:
            problems.add("search_space", f"the grid has {search_space.grid_size(ranges)} points; at most "
                                         f"{search_space.MAX_GRID_POINTS}: use fewer values or Bayesian search")
        job = None
        try:
            job, _ = await self.jobs.check(draft)
        except InvalidArgument as exc:
            for where, message in exc.metadata.items():
                problems.add(where, message)
        if job is not None:
            warnings = [w for w in json.loads(job.warnings) if w["code"] == "NO_VALIDATION_SPLIT"]
            if warnings:
                problems.add("configuration.dataset.uid", "a sweep ranks trials by validation loss, so its dataset needs a "
                                                          "validation split: upload it with a validation_fraction")
        problems.raise_if_any()
        spec = {
            "model": job.model, "model_name": draft.model_name, "dataset": job.dataset, "dataset_name": job.dataset_name,
            "base": {k: v for k, v in draft.hyperparameters.items() if v is not None}, "search_space": ranges,
            "algorithm": algorithm, "max_trials": max_trials, "parallel_trials": parallel_trials, "pruning": pruning,
            "priority": draft.priority, "seed": seed, "model_saving": draft.model_saving,
            "trial_timeout": draft.timeout_seconds, "gpu_count": draft.gpu_count,
        }
        name = display_name.strip() or f"sweep over {', '.join(r['parameter'] for r in ranges)}"
        return SweepRow(id=new_id("sweep"), display_name=name, spec=dumps(spec), state=RUNNING, create_time=now())

    async def create(self, row: SweepRow) -> SweepRow:
        """Store a checked sweep, make its study, and start its first trials."""
        await self.store.add_sweep(row)
        await self._optuna(row.id, lambda study: None)
        try:
            await self._step(row.id)  # the first trials are queued before the answer
        except Unavailable:
            pass  # the sweep's loop tries again
        self._drive(row.id)
        return row

    async def _run(self, sweep_id: str) -> None:
        while True:
            try:
                if await self._step(sweep_id):
                    return
            except asyncio.CancelledError:
                raise
            except Unavailable as exc:
                log.warning("sweep %s waits for a service: %s", sweep_id, exc.message)
            except Exception as exc:  # noqa: BLE001 - a broken sweep fails visibly instead of hanging
                log.exception("sweep %s failed", sweep_id)
                await self._finish(sweep_id, FAILED, f"the sweep stopped on an error: {exc}")
                return
            await self.store.changes.wait(f"sweep:{sweep_id}", self.poll_interval)

    async def _step(self, sweep_id: str) -> bool:
        """Settle ended trials, start new ones up to the parallel limit; True once the sweep has ended."""
        async with self._step_locks.setdefault(sweep_id, asyncio.Lock()):
            return await self._step_locked(sweep_id)

    async def _step_locked(self, sweep_id: str) -> bool:
        sweep = await self.store.get_sweep(sweep_id)
        if sweep.state != RUNNING:
            return True
        spec = sweep.spec_dict
        trials = await self.store.trials(sweep_id)
        jobs = await self.store.jobs_by_ids([t.job_id for t in trials])
        for trial in trials:
            job = jobs.get(trial.job_id)
            if trial.state == TRIAL_RUNNING and job is not None and job.job_state.final:
                await self._settle(trial, job)
        trials = await self.store.trials(sweep_id)
        running = sum(t.state == TRIAL_RUNNING for t in trials)
        limit = spec["max_trials"]
        if spec["algorithm"] == "grid":
            limit = min(limit, search_space.grid_size(spec["search_space"]))
        started = len(trials)
        while running < spec["parallel_trials"] and started < limit:
            await self._start_trial(sweep, started)
            running, started = running + 1, started + 1
        if running == 0 and started >= limit:
            trials = await self.store.trials(sweep_id)
            if any(t.state == TRIAL_COMPLETED for t in trials):
                await self._finish(sweep_id, COMPLETED, "")
            else:
                await self._finish(sweep_id, FAILED, "no trial completed with a validation loss: see the trial jobs' errors")
            return True
        return False

    async def _start_trial(self, sweep: SweepRow, number: int) -> None:
        spec = sweep.spec_dict
        distributions = search_space.distributions(spec["search_space"], spec["algorithm"])
        trial = await self._optuna(sweep.id, lambda study: study.ask(fixed_distributions=distributions))
        params = dict(trial.params)
        draft = JobDraft(
            display_name=f"{sweep.display_name} trial {trial.number}", description=f"trial {trial.number} of sweeps/{sweep.id}",
            tags=["sweep", sweep.id], model=spec["model"], model_name=spec.get("model_name", ""), dataset=spec["dataset"],
            dataset_name=spec.get("dataset_name", ""), hyperparameters=spec["base"] | params,
            model_saving=spec.get("model_saving", {}),
            priority=spec["priority"], timeout_seconds=spec.get("trial_timeout", 0.0), gpu_count=spec.get("gpu_count", 0),
            mode="automated", sweep_id=sweep.id, trial_number=trial.number,
        )
        try:
            row, _ = await self.jobs.check(draft)
        except Unavailable:  # the dataset service or catalog is down: give the point back, try again later
            await self._optuna(sweep.id, lambda study: study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True))
            raise
        except FinetuneError as exc:  # a sampled point the trainer cannot take: the trial fails, the sweep goes on
            await self._optuna(sweep.id, lambda study: study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True))
            await self.store.add_trial(TrialRow(sweep_id=sweep.id, number=trial.number, optuna_trial_id=trial._trial_id,
                                                params=dumps(params), state=TRIAL_FAILED))
            log.warning("sweep %s trial %d could not be submitted: %s", sweep.id, trial.number, exc)
            return
        await self.store.add_trial(TrialRow(sweep_id=sweep.id, number=trial.number, optuna_trial_id=trial._trial_id, job_id=row.id,
                                            params=dumps(params), config_uid=row.config_uid, state=TRIAL_RUNNING))
        await self.jobs.submit(row)

    async def _settle(self, trial: TrialRow, job: JobRow) -> None:
        """A trial's job ended: tell the study its final validation loss (or that it failed)."""
        loss = job.final_validation_loss
        if job.job_state == JobState.COMPLETED and loss is not None and math.isfinite(loss):
            await self._optuna(trial.sweep_id, lambda study: study.tell(trial.number, loss, skip_if_finished=True))
            await self.store.update_trial(trial.sweep_id, trial.number, state=TRIAL_COMPLETED, value=loss)
        else:
            await self._optuna(trial.sweep_id, lambda study: study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True))
            await self.store.update_trial(trial.sweep_id, trial.number, state=TRIAL_FAILED)

    async def _finish(self, sweep_id: str, state: str, error: str) -> None:
        await self.store.update_sweep(sweep_id, state=state, error=error, end_time=now())

    # --- hooks from the dispatcher -------------------------------------------------------------

    async def on_evaluation(self, job: JobRow, step: int, loss: float) -> None:
        """Report a trial's validation loss; cancel its job when the pruner says it is worse than the rest."""
        if not job.sweep_id:
            return
        trial = await self.store.trial_of_job(job.id)
        if trial is None or trial.state != TRIAL_RUNNING:
            return
        sweep = await self.store.get_sweep(job.sweep_id)
        if not sweep.spec_dict.get("pruning") or step <= trial.last_step:
            return

        def report(study: optuna.Study) -> bool:
            if not math.isfinite(loss):
                return True  # a diverged trial is stopped at once
            handle = optuna.trial.Trial(study, trial.optuna_trial_id)
            handle.report(loss, step)
            return handle.should_prune()

        prune = await self._optuna(sweep.id, report)
        await self.store.update_trial(sweep.id, trial.number, last_step=step)
        if not prune:
            return
        await self.store.update_trial(sweep.id, trial.number, state=TRIAL_PRUNED, value=loss if math.isfinite(loss) else None)
        await self._optuna(sweep.id, lambda study: study.tell(trial.number, state=TrialState.PRUNED, skip_if_finished=True))
        try:
            await self.dispatcher.cancel(job.id, "PRUNED", f"stopped early by the sweep: validation loss {loss:g} at step {step} "
                                                            "is worse than the median of earlier trials")
        except (FailedPrecondition, NotFound):
            pass

    async def on_final(self, job: JobRow) -> None:
        if not job.sweep_id:
            return
        trial = await self.store.trial_of_job(job.id)
        if trial is not None and trial.state == TRIAL_RUNNING:
            await self._settle(trial, job)
        self.store.changes.notify(f"sweep:{job.sweep_id}")

    # --- what people ask for -------------------------------------------------------------------

    async def cancel(self, sweep_id: str) -> SweepRow:
        sweep = await self.store.get_sweep(sweep_id)
        if sweep.state != RUNNING:
            raise FailedPrecondition(f"sweep 'sweeps/{sweep_id}' has already ended ({sweep.state})", reason="SWEEP_ENDED",
                                     metadata={"state": sweep.state})
        await self._finish(sweep_id, CANCELLED, "")
        task = self._tasks.pop(sweep_id, None)
        if task is not None:
            task.cancel()
        for trial in await self.store.trials(sweep_id):
            if trial.state != TRIAL_RUNNING:
                continue
            await self.store.update_trial(sweep_id, trial.number, state=TRIAL_FAILED)
            await self._optuna(sweep_id, lambda study, n=trial.number: study.tell(n, state=TrialState.FAIL, skip_if_finished=True))
            try:
                await self.dispatcher.cancel(trial.job_id, "SWEEP_CANCELLED", f"sweeps/{sweep_id} was cancelled")
            except (FailedPrecondition, NotFound):
                pass
        return await self.store.get_sweep(sweep_id)

    async def best_trial(self, sweep_id: str) -> TrialRow | None:
        done = [t for t in await self.store.trials(sweep_id) if t.state == TRIAL_COMPLETED and t.value is not None]
        return min(done, key=lambda t: (t.value, t.number)) if done else None

    async def promote(self, sweep_id: str, number: int | None, display_name: str = ""):
        """Save a completed trial's values (the best one's by default) as an automated-mode configuration."""
        await self.store.get_sweep(sweep_id)
        if number is None:
            trial = await self.best_trial(sweep_id)
            if trial is None:
                raise FailedPrecondition(f"sweep 'sweeps/{sweep_id}' has no completed trial yet; promote when one completes",
                                         reason="NO_COMPLETED_TRIAL")
        else:
            trial = next((t for t in await self.store.trials(sweep_id) if t.number == number), None)
            if trial is None:
                raise NotFound(f"sweep 'sweeps/{sweep_id}' has no trial {number}", reason="TRIAL_NOT_FOUND",
                               metadata={"trial_number": str(number)})
            if trial.state != TRIAL_COMPLETED:
                raise FailedPrecondition(f"trial {number} of sweeps/{sweep_id} is {trial.state}; only a completed trial can be "
                                         "promoted", reason="TRIAL_NOT_COMPLETED", metadata={"state": trial.state})
        job = await self.store.get_job(trial.job_id)
        return await self.jobs.save_configuration(job.values, mode="automated", source_sweep=f"sweeps/{sweep_id}",
                                                  display_name=display_name or f"best of sweeps/{sweep_id} (trial {trial.number})")

