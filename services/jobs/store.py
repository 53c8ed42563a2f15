"""Jobs persistence: configurations, jobs with their stored transitions, sweeps and their trials.

Every state change goes through `transition`, which checks it against the state machine, updates the job
and appends the transition row in one transaction; (job_id, seq) is unique, so two writers can never
both move a job from the same state.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import DateTime, Float, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db import Base, get_or_raise, prepare_schema, session_factory
from services.common.errors import Aborted, AlreadyExists, NotFound
from services.jobs.states import FINAL_STATES, JobState, check_transition

PRIORITIES = {"high": 1, "medium": 2, "low": 3}


def now() -> datetime:
    return datetime.now(timezone.utc)


def dumps(value: Any) -> str:
    """JSON that keeps NaN (a diverged loss is data)."""
    return json.dumps(value, separators=(",", ":"))


def loads(text: str | None, default: Any = None) -> Any:
    return json.loads(text) if text else default


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class ConfigurationRow(Base):
    __tablename__ = "jobs_configurations"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), index=True)
    hyperparameters: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    source_sweep: Mapped[str] = mapped_column(String(128), default="")
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)

    @property
    def values(self) -> dict:
        return loads(self.hyperparameters, {})


class JobRow(Base):
    __tablename__ = "jobs_jobs"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(512), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="[]")
    metadata_json: Mapped[str | None] = mapped_column(Text, nullable=True, default="{}")  # the caller's key-value pairs
    # model_saving.model_name when the job saves its model under a name (not for sweep trials): one job per name
    saved_model_name: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    model: Mapped[str] = mapped_column(Text, default="")
    model_name: Mapped[str] = mapped_column(String(512), default="")
    dataset: Mapped[str] = mapped_column(String(256), default="")  # the dataset id
    dataset_name: Mapped[str] = mapped_column(String(512), default="")
    dataset_rows: Mapped[int] = mapped_column(Integer, default=0)
    hyperparameters: Mapped[str] = mapped_column(Text, default="{}")  # every value, defaults filled in
    config_uid: Mapped[str] = mapped_column(String(64), default="", index=True)
    mode: Mapped[str] = mapped_column(String(16), default="manual")
    model_saving: Mapped[str] = mapped_column(Text, default="{}")  # never the hub token
    # The job's own hub token, encrypted (services.jobs.secrets); erased when the job ends.
    sealed_hub_token: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=2)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    gpu_count: Mapped[int] = mapped_column(Integer, default=0)
    workers: Mapped[int] = mapped_column(Integer, default=0)  # data-parallel ranks (0: one per GPU, or one on the CPU)
    # While queued: what the job waits for beyond its turn (GPUs, a trainer's room), in words; set by the dispatcher.
    waiting_for: Mapped[str] = mapped_column(Text, default="")
    placement: Mapped[str] = mapped_column(String(256), default="")  # where its run's worker runs (the trainer's)
    state: Mapped[str] = mapped_column(String(16), default=JobState.CREATED.value, index=True)
    state_reason: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    transition_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    trainer: Mapped[str] = mapped_column(String(256), default="")  # endpoint it was (last) sent to
    run_sequence: Mapped[int] = mapped_column(Integer, default=0)  # trainer events consumed
    # Endpoints where a run of this job may still be alive and must be cancelled once reachable (a lost
    # trainer that comes back, a cancel that could not reach its trainer).
    stale_trainers: Mapped[str] = mapped_column(Text, default="[]")
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    final_validation_loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    warnings: Mapped[str] = mapped_column(Text, default="[]")
    output_dir: Mapped[str] = mapped_column(Text, default="")
    sweep_id: Mapped[str] = mapped_column(String(128), default="", index=True)
    trial_number: Mapped[int] = mapped_column(Integer, default=0)
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    queue_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # first queued: FCFS key
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    update_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)

    @property
    def job_state(self) -> JobState:
        return JobState(self.state)

    @property
    def values(self) -> dict:
        return loads(self.hyperparameters, {})

    @property
    def metrics_dict(self) -> dict:
        return loads(self.metrics, {})

    @property
    def tag_list(self) -> list[str]:
        return loads(self.tags, [])

    @property
    def metadata_dict(self) -> dict[str, str]:
        return loads(self.metadata_json or "{}", {})

    @property
    def stale_list(self) -> list[str]:
        return loads(self.stale_trainers, [])


class TransitionRow(Base):
    __tablename__ = "jobs_transitions"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_jobs_transitions_job_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(128), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class SweepRow(Base):
    __tablename__ = "jobs_sweeps"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(512), default="")
    spec: Mapped[str] = mapped_column(Text, default="{}")  # model, dataset, base values, ranges, options
    state: Mapped[str] = mapped_column(String(16), default="running", index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def spec_dict(self) -> dict:
        return loads(self.spec, {})


class TrialRow(Base):
    __tablename__ = "jobs_sweep_trials"

    sweep_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    optuna_trial_id: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(128), default="", index=True)
    params: Mapped[str] = mapped_column(Text, default="{}")
    config_uid: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="running")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_step: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def params_dict(self) -> dict:
        return loads(self.params, {})


class EnsembleRow(Base):
    __tablename__ = "jobs_ensembles"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(512), default="")
    spec: Mapped[str] = mapped_column(Text, default="{}")  # model, dataset, base values, size, spread, members' seeds and rates
    member_ids: Mapped[str] = mapped_column(Text, default="[]")
    create_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


TABLES = [ConfigurationRow.__table__, JobRow.__table__, TransitionRow.__table__, SweepRow.__table__, TrialRow.__table__,
          EnsembleRow.__table__]


def job_not_found(job_id: str) -> NotFound:
    return NotFound(f"job 'jobs/{job_id}' does not exist", reason="JOB_NOT_FOUND", metadata={"name": f"jobs/{job_id}"})


class Notifier:
    """Wakes whoever waits on a key (a job id, or "*" for any job) when it changes, within this process."""

    def __init__(self):
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def notify(self, *keys: str) -> None:
        for key in (*keys, "*"):
            event = self._events.pop(key, None)
            if event is not None:
                event.set()

    async def wait(self, key: str, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._events[key].wait(), timeout)
        except asyncio.TimeoutError:
            pass


class JobStore:
    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.sessions = session_factory(engine)
        self.changes = Notifier()
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def prepare(self) -> None:
        await prepare_schema(self.engine, TABLES)

    # --- configurations ------------------------------------------------------------------------

    async def save_configuration(self, row: ConfigurationRow, *, relabel: bool = False) -> tuple[ConfigurationRow, bool]:
        """Insert unless the UID is saved already; (the stored row, whether it was new). `relabel` gives an
        existing row the new row's name, description and source sweep (a promotion)."""
        try:
            async with self.sessions.begin() as s:
                existing = await s.get(ConfigurationRow, row.uid)
                if existing is not None:
                    if relabel:
                        existing.display_name, existing.description = row.display_name, row.description
                        existing.source_sweep = row.source_sweep or existing.source_sweep
                    return existing, False
                s.add(row)
        except IntegrityError:  # saved concurrently
            return await self.get_configuration(row.uid), False
        return row, True

    async def get_configuration(self, uid: str) -> ConfigurationRow:
        async with self.sessions() as s:
            row = await s.get(ConfigurationRow, uid)
        if row is None:
            raise NotFound(f"configuration 'configurations/{uid}' does not exist; save it with CreateConfiguration first",
                           reason="CONFIGURATION_NOT_FOUND", metadata={"name": f"configurations/{uid}"})
        return row

    async def find_configuration(self, uid: str) -> ConfigurationRow | None:
        async with self.sessions() as s:
            return await s.get(ConfigurationRow, uid)

    async def list_configurations(self, offset: int, limit: int, mode: str = "") -> tuple[list[ConfigurationRow], int]:
        where = [ConfigurationRow.mode == mode] if mode else []
        async with self.sessions() as s:
            total = await s.scalar(select(func.count()).select_from(ConfigurationRow).where(*where))
            rows = await s.scalars(select(ConfigurationRow).where(*where)
                                   .order_by(ConfigurationRow.create_time.desc(), ConfigurationRow.uid).offset(offset).limit(limit))
            return list(rows.all()), int(total or 0)

    async def completed_results(self, uids: Iterable[str] | None = None, mode: str = "") -> list[JobRow]:
        """Completed jobs that measured a final validation loss (of these UIDs / this mode), best first."""
        where = [JobRow.state == JobState.COMPLETED.value, JobRow.final_validation_loss.is_not(None)]
        if uids is not None:
            where.append(JobRow.config_uid.in_(list(uids)))
        if mode:
            where.append(JobRow.mode == mode)
        async with self.sessions() as s:
            rows = await s.scalars(select(JobRow).where(*where).order_by(JobRow.final_validation_loss, JobRow.end_time))
            return [r for r in rows.all() if math.isfinite(r.final_validation_loss)]

    # --- jobs ----------------------------------------------------------------------------------

    async def add_job(self, row: JobRow, reason: str, message: str) -> JobRow:
        """Store a new job in its first state, with that first transition."""
        at = now()
        row.create_time, row.update_time, row.transition_count = at, at, 1
        if row.job_state == JobState.QUEUED:
            row.queue_time = at
        try:
            async with self.sessions.begin() as s:
                if await s.get(JobRow, row.id) is not None:
                    raise AlreadyExists(f"job 'jobs/{row.id}' already exists; pick another job_id", reason="JOB_EXISTS",
                                        metadata={"name": f"jobs/{row.id}"})
                s.add(row)
                s.add(TransitionRow(job_id=row.id, seq=1, from_state="", to_state=row.state, reason=reason, message=message, time=at))
        except IntegrityError:
            raise AlreadyExists(f"job 'jobs/{row.id}' already exists; pick another job_id", reason="JOB_EXISTS") from None
        self.changes.notify(row.id)
        return row

    async def job_saving_model(self, model_name: str) -> JobRow | None:
        """The job, not failed or cancelled, that saves (or saved) its model as `model_name`."""
        ended = (JobState.FAILED.value, JobState.CANCELLED.value)
        async with self.sessions() as s:
            return (await s.scalars(select(JobRow).where(JobRow.saved_model_name == model_name, JobRow.state.not_in(ended))
                                    .limit(1))).first()

    async def get_job(self, job_id: str) -> JobRow:
        async with self.sessions() as s:
            row = await s.get(JobRow, job_id)
        if row is None:
            raise job_not_found(job_id)
        return row

    async def jobs_by_ids(self, job_ids: list[str]) -> dict[str, JobRow]:
        async with self.sessions() as s:
            rows = await s.scalars(select(JobRow).where(JobRow.id.in_(job_ids)))
            return {r.id: r for r in rows.all()}

    async def list_jobs(self, offset: int, limit: int, *, state: str = "", tag: str = "", sweep_id: str = "",
                        dataset_id: str = "", unfinished: bool = False, model: str = "") -> tuple[list[JobRow], int]:
        where = []
        if model:
            where.append(JobRow.model == model)
        if state:
            where.append(JobRow.state == state)
        if sweep_id:
            where.append(JobRow.sweep_id == sweep_id)
        if dataset_id:
            where.append(JobRow.dataset == dataset_id)
        if unfinished:
            where.append(JobRow.state.not_in([s.value for s in FINAL_STATES]))
        order = (JobRow.create_time.desc(), JobRow.id.desc())
        async with self.sessions() as s:
            if tag:  # tags are few per job: filter in Python so SQLite and PostgreSQL agree
                rows = [r for r in (await s.scalars(select(JobRow).where(*where).order_by(*order))).all() if tag in r.tag_list]
                return rows[offset: offset + limit], len(rows)
            total = await s.scalar(select(func.count()).select_from(JobRow).where(*where))
            rows = await s.scalars(select(JobRow).where(*where).order_by(*order).offset(offset).limit(limit))
            return list(rows.all()), int(total or 0)

    async def queued_jobs(self) -> list[JobRow]:
        """The queue in dispatch order: priority, then first queued first."""
        async with self.sessions() as s:
            rows = await s.scalars(select(JobRow).where(JobRow.state == JobState.QUEUED.value)
                                   .order_by(JobRow.priority, JobRow.queue_time, JobRow.create_time, JobRow.id))
            return list(rows.all())

    async def jobs_in_states(self, states: Iterable[JobState]) -> list[JobRow]:
        async with self.sessions() as s:
            wanted = [JobState(x).value for x in states]
            rows = await s.scalars(select(JobRow).where(JobRow.state.in_(wanted)).order_by(JobRow.create_time))
            return list(rows.all())

    async def jobs_to_clean_up(self) -> list[JobRow]:
        async with self.sessions() as s:
            rows = await s.scalars(select(JobRow).where(JobRow.stale_trainers != "[]"))
            return list(rows.all())

    async def jobs_created_between(self, start: datetime, end: datetime) -> list[JobRow]:
        async with self.sessions() as s:
            rows = await s.scalars(select(JobRow).where(JobRow.create_time >= start, JobRow.create_time < end))
            return list(rows.all())

    async def transition(self, job_id: str, target: JobState, reason: str, message: str = "", **values) -> JobRow:
        """Move a job to `target` (FailedPrecondition if the state machine forbids it) and record why."""
        target = JobState(target)
        async with self._locks[job_id]:
            at = now()
            try:
                async with self.sessions.begin() as s:
                    row = await s.get(JobRow, job_id, with_for_update=True)
                    if row is None:
                        raise job_not_found(job_id)
                    current = row.job_state
                    check_transition(job_id, current, target)
                    row.transition_count += 1
                    s.add(TransitionRow(job_id=job_id, seq=row.transition_count, from_state=current.value, to_state=target.value,
                                        reason=reason, message=message, time=at))
                    row.state, row.state_reason, row.update_time = target.value, reason, at
                    if target == JobState.QUEUED and row.queue_time is None:
                        row.queue_time = at
                    if target == JobState.RUNNING and row.start_time is None:
                        row.start_time = at
                    if target in FINAL_STATES:
                        row.end_time = at
                        row.sealed_hub_token = ""  # no secret outlives its job
                    for key, value in values.items():
                        setattr(row, key, value)
            except IntegrityError:
                raise Aborted(f"job 'jobs/{job_id}' changed at the same time; try again", reason="CONCURRENT_CHANGE") from None
        self.changes.notify(job_id)
        return row

    async def update_job(self, job_id: str, **values) -> JobRow:
        """Change fields other than the state (metrics, trainer, cleanup flags)."""
        async with self._locks[job_id]:
            async with self.sessions.begin() as s:
                row = await s.get(JobRow, job_id)
                if row is None:
                    raise job_not_found(job_id)
                for key, value in values.items():
                    setattr(row, key, value)
                row.update_time = now()
        return row

    async def transitions(self, job_id: str, after_seq: int = 0) -> list[TransitionRow]:
        async with self.sessions() as s:
            rows = await s.scalars(select(TransitionRow).where(TransitionRow.job_id == job_id, TransitionRow.seq > after_seq)
                                   .order_by(TransitionRow.seq))
            return list(rows.all())

    async def transitions_of(self, job_ids: list[str]) -> dict[str, list[TransitionRow]]:
        out: dict[str, list[TransitionRow]] = defaultdict(list)
        if not job_ids:
            return out
        async with self.sessions() as s:
            rows = await s.scalars(select(TransitionRow).where(TransitionRow.job_id.in_(job_ids))
                                   .order_by(TransitionRow.job_id, TransitionRow.seq))
            for r in rows.all():
                out[r.job_id].append(r)
        return out

    # --- sweeps --------------------------------------------------------------------------------

    async def add_ensemble(self, row: EnsembleRow) -> EnsembleRow:
        async with self.sessions.begin() as s:
            s.add(row)
        return row

    async def get_ensemble(self, ensemble_id: str) -> EnsembleRow:
        async with self.sessions() as s:
            return await get_or_raise(s, EnsembleRow, ensemble_id, lambda: NotFound(
                f"ensemble 'ensembles/{ensemble_id}' does not exist", reason="ENSEMBLE_NOT_FOUND",
                metadata={"name": f"ensembles/{ensemble_id}"}))

    async def list_ensembles(self, limit: int) -> list[EnsembleRow]:
        async with self.sessions() as s:
            return list((await s.scalars(select(EnsembleRow).order_by(EnsembleRow.create_time.desc()).limit(limit))).all())

    async def add_sweep(self, row: SweepRow) -> SweepRow:
        async with self.sessions.begin() as s:
            s.add(row)
        return row

    async def get_sweep(self, sweep_id: str) -> SweepRow:
        async with self.sessions() as s:
            row = await s.get(SweepRow, sweep_id)
        if row is None:
            raise NotFound(f"sweep 'sweeps/{sweep_id}' does not exist", reason="SWEEP_NOT_FOUND",
                           metadata={"name": f"sweeps/{sweep_id}"})
        return row

    async def list_sweeps(self, offset: int, limit: int, state: str = "") -> tuple[list[SweepRow], int]:
        where = [SweepRow.state == state] if state else []
        async with self.sessions() as s:
            total = await s.scalar(select(func.count()).select_from(SweepRow).where(*where))
            rows = await s.scalars(select(SweepRow).where(*where).order_by(SweepRow.create_time.desc(), SweepRow.id)
                                   .offset(offset).limit(limit))
            return list(rows.all()), int(total or 0)

    async def update_sweep(self, sweep_id: str, **values) -> SweepRow:
        async with self.sessions.begin() as s:
            row = await s.get(SweepRow, sweep_id)
            if row is None:
                raise NotFound(f"sweep 'sweeps/{sweep_id}' does not exist", reason="SWEEP_NOT_FOUND")
            for key, value in values.items():
                setattr(row, key, value)
        self.changes.notify(f"sweep:{sweep_id}")
        return row

    async def add_trial(self, row: TrialRow) -> TrialRow:
        async with self.sessions.begin() as s:
            s.add(row)
        return row

    async def trials(self, sweep_id: str) -> list[TrialRow]:
        async with self.sessions() as s:
            rows = await s.scalars(select(TrialRow).where(TrialRow.sweep_id == sweep_id).order_by(TrialRow.number))
            return list(rows.all())

    async def trial_of_job(self, job_id: str) -> TrialRow | None:
        async with self.sessions() as s:
            return await s.scalar(select(TrialRow).where(TrialRow.job_id == job_id))

    async def update_trial(self, sweep_id: str, number: int, **values) -> TrialRow:
        async with self.sessions.begin() as s:
            row = await s.get(TrialRow, (sweep_id, number))
            for key, value in values.items():
                setattr(row, key, value)
        self.changes.notify(f"sweep:{sweep_id}")
        return row
