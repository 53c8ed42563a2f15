"""The queue: dispatch by priority (first come first served within one) to trainer endpoints as their
capacity allows, follow each running job's trainer events, enforce timeouts, and recover after restarts.

Nothing runs twice: the job id is the trainer run id, and the endpoint is written on the job *before*
CreateRun is sent, so after a restart a job that may have reached a trainer is looked up there first
(GetRun; ALREADY_EXISTS from CreateRun also means "it is ours") instead of being sent anywhere else; a
CreateRun that got no answer is not sent to another trainer in the same pass for the same reason. The
trainer answers CreateRun before it prepares the run (model download, dataset rows), so a slow preparation
never meets the call's deadline.
Nothing is lost: RUNNING and PAUSED jobs are followed again from the last trainer event they consumed.
When a trainer dies or loses a run, the job goes back to the queue (bounded by max_attempts); a trainer
that comes back resumes its runs from their last checkpoints, and the job adopts the resumed run. Runs
that may be left on a trainer the job moved away from are cancelled once that trainer answers again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from services.common.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FinetuneError,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from services.jobs.secrets import SecretBox, SecretUnreadable
from services.jobs.states import ACTIVE_STATES, JobState, check_action, running_seconds
from services.jobs.store import JobRow, JobStore, aware, dumps, loads, now
from services.jobs.trainers import Capacity, DispatchRequest, RunEventInfo, RunStatus, TrainerPool

log = logging.getLogger("finetune.jobs.dispatcher")

UNREACHABLE = (Unavailable, DeadlineExceeded, Cancelled)  # Cancelled: the trainer shut down mid-call
EvaluationHook = Callable[[JobRow, int, float], Awaitable[None]]
FinalHook = Callable[[JobRow], Awaitable[None]]


@dataclass(frozen=True)
class DispatchOptions:
    poll_interval: float = 2.0  # the queue is looked at this often even when nothing wakes it
    lost_after: float = 60.0  # seconds a trainer may be unreachable before its jobs go back to the queue
    timeout_grace: float = 30.0  # the trainer enforces the timeout itself; this is the backstop's slack
    metrics_interval: float = 2.0  # least seconds between stored metric updates of one job


def metrics_from_progress(progress: dict, gpu_count: int, previous: dict | None = None) -> dict:
    """A job's metrics from a trainer's RunProgress (as a dict)."""
    out = dict(previous or {})
    for ours, theirs in (("step", "step"), ("total_steps", "total_steps"), ("final_loss", "train_loss"),
                         ("final_validation_loss", "validation_loss"), ("best_validation_loss", "best_validation_loss"),
                         ("training_time_seconds", "elapsed_seconds"), ("tokens_per_second", "tokens_per_second"),
                         ("percent", "percent")):
        if theirs in progress:
            out[ours] = progress[theirs]
    out["gpu_hours"] = out.get("training_time_seconds", 0.0) / 3600 * gpu_count
    return out


class Dispatcher:
    def __init__(self, store: JobStore, trainers: TrainerPool, secrets: SecretBox, options: DispatchOptions | None = None):
        self.store = store
        self.trainers = trainers
        self.secrets = secrets  # opens the job's own hub token, stored encrypted with the job
        self.options = options or DispatchOptions()
        self.evaluation_hooks: list[EvaluationHook] = []
        self.final_hooks: list[FinalHook] = []
        self._watchers: dict[str, asyncio.Task] = {}
        self._live: dict[str, dict] = {}  # job id -> metrics not yet stored, and when they last were
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Queue jobs a crash left CREATED, follow RUNNING/PAUSED ones again, then run the queue."""
        for job in await self.store.jobs_in_states([JobState.CREATED]):
            await self.store.transition(job.id, JobState.QUEUED, "ENQUEUED", "queued after a restart of the jobs service")
        for job in await self.store.jobs_in_states(ACTIVE_STATES):
            self.watch(job.id)
        self._task = asyncio.create_task(self._run_forever(), name="jobs-queue")

    async def stop(self) -> None:
        """Stop following and dispatching; trainer runs go on and are picked up at the next start."""
        tasks = [t for t in [self._task, *self._watchers.values()] if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watchers.clear()

    def wake(self) -> None:
        self._wake.set()

    async def _run_forever(self) -> None:
        while True:
            self._wake.clear()
            for step in (self.dispatch_once, self.enforce_timeouts, self.clean_up):
                try:
                    await step()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - one bad pass must not stop the queue
                    log.exception("queue pass %s failed", step.__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), self.options.poll_interval)
            except asyncio.TimeoutError:
                pass

    # --- dispatch ----------------------------------------------------------------------------

    async def dispatch_once(self) -> None:
        queued = await self.store.queued_jobs()
        if not queued:
            return
        capacities = await self.trainers.capacities()
        free = {a: c for a, c in capacities.items() if isinstance(c, Capacity)}  # what is left of it this pass
        for job in queued:
            if job.trainer and await self._adopt(job, job.trainer, capacities):
                continue
            placed = False
            fitting = [a for a in self.trainers.addresses if a in free and free[a].fits(job.gpu_count)]
            for address in sorted(fitting, key=lambda a: -free[a].free):
                outcome = await self._dispatch(job, address)
                if outcome == "placed":
                    free[address].free -= 1
                    free[address].free_gpus -= job.gpu_count
                    placed = True
                    break
                if outcome == "ended":
                    placed = True
                    break
                free[address].free = 0
                if outcome == "unsure":
                    break  # the run may exist there: the next pass looks there first, and nowhere else meanwhile
            if not placed:
                await self._note_waiting(job, free)
                break  # strictly by priority: nothing behind the head of the queue jumps it

    async def _note_waiting(self, job: JobRow, free: dict[str, Capacity]) -> None:
        """Say on the job what it waits for beyond its turn (stored only when that changes)."""
        answering = list(free.values())
        if not answering:
            why = "a trainer that answers: none of the configured trainers does"
        elif job.gpu_count and not any(c.free_gpus >= job.gpu_count for c in answering):
            most = max(c.free_gpus for c in answering)
            why = f"{job.gpu_count} GPU(s): the trainers have at most {most} free (other runs or workloads hold them)"
        elif not any(c.free > 0 for c in answering):
            why = "room on a trainer: every trainer is at its capacity (its concurrent runs, or its Ray cluster's free resources)"
        else:
            why = ""
        if why != (job.waiting_for or ""):
            await self.store.update_job(job.id, waiting_for=why)

    async def _adopt(self, job: JobRow, address: str, capacities: dict) -> bool:
        """A queued job that was sent to `address` before: if that trainer holds its run, follow that run."""
        if not isinstance(capacities.get(address), Capacity):
            return False  # unreachable now: dispatch elsewhere, and cancel a run it may hold once it answers
        try:
            await self.trainers.get_run(address, job.id)
        except FinetuneError:  # NotFound: it never got there, or the trainer forgot it
            return False
        await self._start_following(job, address, "RUN_ADOPTED", f"trainer {address} still holds the run; following it again")
        return True

    async def _dispatch(self, job: JobRow, address: str) -> str:
        """Send one job to one endpoint: "placed", "ended" (refused for good), "busy" (full: try elsewhere), or
        "unsure" (no answer: the run may have been created there)."""
        job = await self.store.get_job(job.id)  # where an earlier try this pass pinned it
        stale = job.stale_list
        if job.trainer and job.trainer != address and job.trainer not in stale:
            stale.append(job.trainer)  # the job may still be alive there
        job = await self.store.update_job(job.id, trainer=address, stale_trainers=dumps([a for a in stale if a != address]))
        try:
            await self.trainers.create_run(address, self._request(job))
        except AlreadyExists:  # ours, from before a restart: follow it
            await self._start_following(job, address, "RUN_ADOPTED", f"trainer {address} already holds the run")
            return "placed"
        except UNREACHABLE as exc:
            log.info("trainer %s unreachable while dispatching %s: %s", address, job.id, exc.message)
            return "unsure"  # a run may have been created: the pin makes the next pass look there first
        except FinetuneError as exc:
            if isinstance(exc, ResourceExhausted) and exc.reason == "TRAINER_AT_CAPACITY":
                return "busy"
            # Anything else (a request too large, a secret this service cannot open...) fails alike everywhere.
            where = "" if isinstance(exc, SecretUnreadable) else f"trainer {address} refused the job: "
            await self.store.transition(job.id, JobState.FAILED, exc.reason or "TRAINER_REFUSED", where + exc.message,
                                        error=exc.message)
            await self._run_final_hooks(job.id)
            return "ended"
        attempt = job.attempts + 1
        try:
            await self._start_following(job, address, "DISPATCHED",
                                        f"sent to trainer {address} (attempt {attempt} of {job.max_attempts})")
        except FailedPrecondition:  # cancelled while CreateRun was in flight: clean_up cancels the run it made
            await self.store.update_job(job.id, stale_trainers=dumps(sorted({*job.stale_list, address})))
            return "ended"
        return "placed"

    async def _start_following(self, job: JobRow, address: str, reason: str, message: str) -> None:
        await self.store.transition(job.id, JobState.RUNNING, reason, message, trainer=address, attempts=job.attempts + 1,
                                    waiting_for="")
        self.watch(job.id)

    def _request(self, job: JobRow) -> DispatchRequest:
        values = {k: v for k, v in job.values.items() if v is not None}
        if job.timeout_seconds > 0 and not values.get("timeout_seconds"):
            # The trainer stops the run itself when the job's time is up; only the time left is given.
            used = job.metrics_dict.get("training_time_seconds", 0.0) if job.attempts else 0.0
            values["timeout_seconds"] = max(1.0, job.timeout_seconds - used)
        saving = loads(job.model_saving, {})
        token = self.secrets.open(job.sealed_hub_token, f"the hub token of job 'jobs/{job.id}'")
        if token:
            saving["hub_token"] = token
        return DispatchRequest(run_id=job.id, model=job.model, dataset=f"datasets/{job.dataset}", hyperparameters=values,
                               model_saving=saving, gpu_count=job.gpu_count, workers=job.workers or 0)

    # --- following a running job -------------------------------------------------------------

    def watch(self, job_id: str) -> None:
        task = self._watchers.get(job_id)
        if task is None or task.done():
            self._watchers[job_id] = asyncio.create_task(self._follow(job_id), name=f"follow-{job_id}")

    async def _follow(self, job_id: str) -> None:
        unreachable_since: float | None = None
        while True:
            job = await self.store.get_job(job_id)
            if job.job_state not in ACTIVE_STATES:
                return
            try:
                run = await self.trainers.get_run(job.trainer, job_id)
                unreachable_since = None
                await self._mirror_placement(job, run)
                if not run.active:
                    await self._settle(job, run)
                    return
                await self._mirror_pause(job, run.state)
                async for event in self.trainers.events(job.trainer, job_id, job.run_sequence):
                    await self._on_event(job_id, event)
            except NotFound:
                await self._lost(job_id, f"trainer {job.trainer} has no run for this job any more")
                return
            except UNREACHABLE as exc:
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since >= self.options.lost_after:
                    await self._lost(job_id, f"trainer {job.trainer} did not answer for {self.options.lost_after:g}s ({exc.message})")
                    return
                await asyncio.sleep(min(1.0, self.options.lost_after / 5))
            except FailedPrecondition:
                continue  # the job changed state under us (cancelled, paused): look again
            except asyncio.CancelledError:
                await self._flush(job_id)
                raise
            except Exception:  # noqa: BLE001 - keep following; a bug here must not strand the job
                log.exception("following job %s failed; retrying", job_id)
                await asyncio.sleep(1.0)

    async def _on_event(self, job_id: str, event: RunEventInfo) -> None:
        live = self._live.setdefault(job_id, {"metrics": None, "stored_at": 0.0, "sequence": 0})
        if live["metrics"] is None:
            live["metrics"] = (await self.store.get_job(job_id)).metrics_dict
        metrics = live["metrics"]
        live["sequence"] = event.sequence
        urgent = False
        if event.kind == "step":
            metrics.update(step=event.step, total_steps=event.total_steps, final_loss=event.train_loss,
                           tokens_per_second=event.tokens_per_second, training_time_seconds=event.elapsed_seconds,
                           percent=event.percent)
        elif event.kind == "evaluation" and event.validation_loss is not None:
            metrics["final_validation_loss"] = event.validation_loss
            best = metrics.get("best_validation_loss")
            if math.isfinite(event.validation_loss) and (best is None or event.validation_loss < best):
                metrics["best_validation_loss"] = event.validation_loss
            urgent = True
        elif event.kind == "state":
            urgent = True
        if urgent or time.monotonic() - live["stored_at"] >= self.options.metrics_interval:
            await self._flush(job_id)
        if event.kind == "state" and event.state in ("paused", "running"):
            job = await self.store.get_job(job_id)
            await self._mirror_pause(job, event.state)
            if event.state == "running":  # a (re)launched worker: where it runs now
                await self._mirror_placement(job, await self.trainers.get_run(job.trainer, job_id))
        if event.kind == "evaluation" and event.validation_loss is not None:
            job = await self.store.get_job(job_id)
            for hook in self.evaluation_hooks:
                await hook(job, event.step, event.validation_loss)

    async def _flush(self, job_id: str) -> None:
        live = self._live.get(job_id)
        if not live or live["metrics"] is None:
            return
        job = await self.store.get_job(job_id)
        metrics = dict(live["metrics"])
        metrics["gpu_hours"] = metrics.get("training_time_seconds", 0.0) / 3600 * job.gpu_count
        await self.store.update_job(job_id, metrics=dumps(metrics), run_sequence=max(job.run_sequence, live["sequence"]))
        live["stored_at"] = time.monotonic()

    async def _mirror_placement(self, job: JobRow, run: RunStatus) -> None:
        if run.placement and run.placement != (job.placement or ""):
            await self.store.update_job(job.id, placement=run.placement)

    async def _mirror_pause(self, job: JobRow, run_state: str) -> None:
        """A run paused or resumed on the trainer directly: the job follows."""
        try:
            if run_state == "paused" and job.job_state == JobState.RUNNING:
                await self.store.transition(job.id, JobState.PAUSED, "RUN_PAUSED", f"the run was paused on trainer {job.trainer}")
            elif run_state == "running" and job.job_state == JobState.PAUSED:
                await self.store.transition(job.id, JobState.RUNNING, "RUN_RESUMED", f"the run was resumed on trainer {job.trainer}")
        except FailedPrecondition:
            pass

    async def _settle(self, job: JobRow, run: RunStatus) -> None:
        """The run has ended: the job takes its final state and numbers."""
        await self._flush(job.id)
        self._live.pop(job.id, None)
        job = await self.store.get_job(job.id)
        metrics = metrics_from_progress(run.progress, job.gpu_count, job.metrics_dict)
        values = dict(metrics=dumps(metrics), output_dir=run.output_dir, run_sequence=max(job.run_sequence, run.last_sequence),
                      final_validation_loss=_finite_or_none(metrics.get("final_validation_loss")))
        if job.job_state.final:
            await self.store.update_job(job.id, **values)
            return
        if run.state == "completed":
            await self.store.transition(job.id, JobState.COMPLETED, "RUN_COMPLETED", f"training finished on trainer {job.trainer}",
                                        **values)
        elif run.state == "cancelled":
            await self.store.transition(job.id, JobState.CANCELLED, "RUN_CANCELLED", f"the run was cancelled on trainer {job.trainer}",
                                        **values)
        else:
            reason = run.error_reason or "RUN_FAILED"
            await self.store.transition(job.id, JobState.FAILED, reason, run.error or "the run failed", error=run.error or reason,
                                        **values)
        await self._run_final_hooks(job.id)

    async def _lost(self, job_id: str, why: str) -> None:
        """The trainer died or forgot the run: back to the queue while attempts remain."""
        await self._flush(job_id)
        self._live.pop(job_id, None)
        job = await self.store.get_job(job_id)
        if job.job_state not in ACTIVE_STATES:
            return
        if job.attempts < job.max_attempts:
            await self.store.transition(job.id, JobState.QUEUED, "TRAINER_LOST",
                                        f"{why}; queued again (attempt {job.attempts} of {job.max_attempts} used), "
                                        "resuming from its last checkpoint where the trainer kept it")
            self.wake()
        else:
            message = f"{why}; all {job.max_attempts} attempts are used"
            await self.store.transition(job.id, JobState.FAILED, "ATTEMPTS_EXHAUSTED", message, error=message)
            await self._run_final_hooks(job.id)

    async def _run_final_hooks(self, job_id: str) -> None:
        job = await self.store.get_job(job_id)
        for hook in self.final_hooks:
            try:
                await hook(job)
            except Exception:  # noqa: BLE001
                log.exception("final hook for job %s failed", job_id)
        self.wake()

    # --- timeouts and clean-up ---------------------------------------------------------------

    async def enforce_timeouts(self) -> None:
        """The backstop to the trainer's own timeout: a job running past its time is cancelled and failed."""
        for job in await self.store.jobs_in_states([JobState.RUNNING]):
            if job.timeout_seconds <= 0:
                continue
            history = [(t.to_state, aware(t.time)) for t in await self.store.transitions(job.id)]
            used = running_seconds(history, now())
            if used <= job.timeout_seconds + self.options.timeout_grace:
                continue
            message = f"ran for {used:.0f}s, longer than its timeout of {job.timeout_seconds:g}s"
            await self._cancel_on_trainer(job)
            try:
                await self.store.transition(job.id, JobState.FAILED, "TIMEOUT", message, error=message)
            except FailedPrecondition:
                continue
            await self._run_final_hooks(job.id)

    async def clean_up(self) -> None:
        """Cancel runs left on trainers a job moved away from (or that a cancel could not reach)."""
        for job in await self.store.jobs_to_clean_up():
            keep = []
            for address in job.stale_list:
                if address == job.trainer and job.job_state in ACTIVE_STATES:
                    continue  # that is where the job runs now
                try:
                    run = await self.trainers.get_run(address, job.id)
                    if run.active:
                        await self.trainers.control(address, job.id, "cancel")
                        log.info("cancelled a leftover run of job %s on %s", job.id, address)
                except NotFound:
                    pass
                except FailedPrecondition:
                    pass
                except FinetuneError:
                    keep.append(address)
            await self.store.update_job(job.id, stale_trainers=dumps(keep))

    async def _cancel_on_trainer(self, job: JobRow) -> None:
        try:
            await self.trainers.control(job.trainer, job.id, "cancel")
        except (NotFound, FailedPrecondition):
            pass
        except FinetuneError:
            await self.store.update_job(job.id, stale_trainers=dumps(sorted({*job.stale_list, job.trainer})))

    # --- what people ask for -----------------------------------------------------------------

    async def cancel(self, job_id: str, reason: str = "CANCEL_REQUESTED", message: str = "cancelled by request") -> JobRow:
        job = await self.store.get_job(job_id)
        check_action(job_id, "cancel", job.job_state)
        if job.job_state in ACTIVE_STATES:
            try:
                await self.trainers.control(job.trainer, job_id, "cancel")
            except FailedPrecondition:  # the run ended a moment ago: take its real outcome
                run = await self.trainers.get_run(job.trainer, job_id)
                if not run.active:
                    await self._settle(job, run)
                    return await self.store.get_job(job_id)
            except NotFound:
                pass
            except UNREACHABLE:
                await self.store.update_job(job_id, stale_trainers=dumps(sorted({*job.stale_list, job.trainer})))
                message += f"; trainer {job.trainer} is unreachable, its run is cancelled when it answers again"
        elif job.trainer:  # queued again after its trainer was lost: a run may still be alive there
            await self.store.update_job(job_id, stale_trainers=dumps(sorted({*job.stale_list, job.trainer})))
        job = await self.store.transition(job_id, JobState.CANCELLED, reason, message)
        await self._run_final_hooks(job_id)
        return job

    async def pause(self, job_id: str) -> JobRow:
        return await self._pause_or_resume(job_id, "pause", JobState.PAUSED, "PAUSE_REQUESTED", "paused by request")

    async def resume(self, job_id: str) -> JobRow:
        return await self._pause_or_resume(job_id, "resume", JobState.RUNNING, "RESUME_REQUESTED", "resumed by request")

    async def _pause_or_resume(self, job_id: str, command: str, target: JobState, reason: str, message: str) -> JobRow:
        """Idempotent: a job already in `target` is answered as it is, whoever put it there (the request before,
        or the follower that mirrored the run's own state change while the trainer confirmed this one)."""
        job = await self.store.get_job(job_id)
        if job.job_state == target:
            return job
        check_action(job_id, command, job.job_state)
        await self._control_or_explain(job, command)
        try:
            return await self.store.transition(job_id, target, reason, message)
        except FailedPrecondition:
            job = await self.store.get_job(job_id)
            if job.job_state == target:
                return job
            raise

    async def _control_or_explain(self, job: JobRow, command: str) -> None:
        try:
            await self.trainers.control(job.trainer, job.id, command)
        except FailedPrecondition as exc:
            raise FailedPrecondition(f"cannot {command} job 'jobs/{job.id}' right now: its run on trainer {job.trainer} "
                                     f"says: {exc.message}", reason=exc.reason, metadata=exc.metadata) from None
        except UNREACHABLE as exc:
            raise Unavailable(f"cannot {command} job 'jobs/{job.id}': its trainer {job.trainer} is unreachable ({exc.message})",
                              reason="TRAINER_UNAVAILABLE", metadata={"trainer": job.trainer}) from None


def _finite_or_none(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None

