"""The job lifecycle as a pure state machine: the states, the allowed transitions, and the refusal of others.

    CREATED -> QUEUED -> RUNNING -> COMPLETED | FAILED | CANCELLED
    RUNNING <-> PAUSED; RUNNING/PAUSED -> QUEUED when the trainer is lost (retry from the checkpoint)
    CREATED/QUEUED/PAUSED -> CANCELLED; CREATED/QUEUED/PAUSED -> FAILED (attempts or time used up)
"""

from __future__ import annotations

from enum import Enum

from services.common.errors import FailedPrecondition


class JobState(str, Enum):
    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.RUNNING, JobState.PAUSED})  # a trainer holds a run for these

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.CREATED: frozenset({JobState.QUEUED, JobState.CANCELLED, JobState.FAILED}),
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.PAUSED, JobState.QUEUED}),
    JobState.PAUSED: frozenset({JobState.RUNNING, JobState.CANCELLED, JobState.FAILED, JobState.QUEUED, JobState.COMPLETED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}

# What a person asked for, by the states it is allowed from: for the messages of refusals.
ACTION_STATES: dict[str, frozenset[JobState]] = {
    "cancel": frozenset({JobState.CREATED, JobState.QUEUED, JobState.RUNNING, JobState.PAUSED}),
    "pause": frozenset({JobState.RUNNING}),
    "resume": frozenset({JobState.PAUSED}),
}


def can_transition(current: JobState, target: JobState) -> bool:
    return target in TRANSITIONS[JobState(current)]


def check_transition(job_id: str, current: JobState, target: JobState) -> None:
    """Raise FailedPrecondition (reason ILLEGAL_TRANSITION) unless `current -> target` is allowed."""
    current, target = JobState(current), JobState(target)
    if can_transition(current, target):
        return
    allowed = ", ".join(s.value for s in sorted(TRANSITIONS[current], key=_order)) or "none (it has ended)"
    raise FailedPrecondition(
        f"job 'jobs/{job_id}' is {current.value} and cannot become {target.value}; from {current.value} it can become: {allowed}",
        reason="ILLEGAL_TRANSITION",
        metadata={"job": f"jobs/{job_id}", "state": current.value, "target": target.value},
    )


def check_action(job_id: str, action: str, current: JobState) -> None:
    """Raise FailedPrecondition naming the states `action` needs when the job is in none of them."""
    current = JobState(current)
    allowed = ACTION_STATES[action]
    if current in allowed:
        return
    needs = " or ".join(s.value for s in sorted(allowed, key=_order))
    ended = " (it has ended)" if current.final else ""
    raise FailedPrecondition(
        f"cannot {action} job 'jobs/{job_id}': it is {current.value}{ended}; only a {needs} job can be {_past(action)}",
        reason="ILLEGAL_TRANSITION",
        metadata={"job": f"jobs/{job_id}", "state": current.value, "action": action},
    )


def _past(action: str) -> str:
    return {"cancel": "cancelled", "pause": "paused", "resume": "resumed"}[action]


def _order(state: JobState) -> int:
    return list(JobState).index(state)


def running_seconds(transitions, now) -> float:
    """Seconds spent RUNNING, over every attempt: `transitions` are (to_state, time) pairs, oldest first.
    Queued and paused time do not count, so a timeout measures training only."""
    total, since = 0.0, None
    for state, at in transitions:
        if since is not None:
            total += (at - since).total_seconds()
            since = None
        if JobState(state) == JobState.RUNNING:
            since = at
    if since is not None:
        total += (now - since).total_seconds()
    return max(0.0, total)
