"""The job state machine on its own: the guide's lifecycle plus PAUSED, and refusals that say why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import FailedPrecondition
from services.jobs.states import FINAL_STATES, TRANSITIONS, JobState, can_transition, check_action, check_transition, running_seconds

S = JobState


@pytest.mark.parametrize("path", [
    [S.CREATED, S.QUEUED, S.RUNNING, S.COMPLETED],
    [S.CREATED, S.QUEUED, S.RUNNING, S.FAILED],
    [S.CREATED, S.QUEUED, S.RUNNING, S.CANCELLED],
    [S.CREATED, S.QUEUED, S.CANCELLED],
    [S.CREATED, S.QUEUED, S.RUNNING, S.PAUSED, S.RUNNING, S.COMPLETED],
    [S.CREATED, S.QUEUED, S.RUNNING, S.QUEUED, S.RUNNING, S.COMPLETED],  # trainer lost, resumed elsewhere
    [S.CREATED, S.QUEUED, S.RUNNING, S.PAUSED, S.CANCELLED],
])
def test_the_guides_lifecycle_is_allowed(path):
    for current, target in zip(path, path[1:]):
        check_transition("job_1", current, target)


@pytest.mark.parametrize("current,target", [
    (S.CREATED, S.RUNNING), (S.QUEUED, S.COMPLETED), (S.QUEUED, S.PAUSED), (S.CREATED, S.COMPLETED),
    (S.COMPLETED, S.RUNNING), (S.FAILED, S.QUEUED), (S.CANCELLED, S.RUNNING), (S.COMPLETED, S.CANCELLED),
])
def test_illegal_transitions_are_refused_with_failed_precondition(current, target):
    assert not can_transition(current, target)
    with pytest.raises(FailedPrecondition) as err:
        check_transition("job_1", current, target)
    assert err.value.reason == "ILLEGAL_TRANSITION"
    assert f"is {current.value} and cannot become {target.value}" in err.value.message
    assert err.value.metadata == {"job": "jobs/job_1", "state": current.value, "target": target.value}


def test_final_states_end_the_job():
    assert FINAL_STATES == {S.COMPLETED, S.FAILED, S.CANCELLED}
    for state in FINAL_STATES:
        assert TRANSITIONS[state] == frozenset() and state.final
    with pytest.raises(FailedPrecondition, match="none \\(it has ended\\)"):
        check_transition("j", S.COMPLETED, S.QUEUED)


def test_actions_name_the_states_they_need():
    check_action("j", "cancel", S.QUEUED)
    check_action("j", "pause", S.RUNNING)
    check_action("j", "resume", S.PAUSED)
    with pytest.raises(FailedPrecondition, match="cannot pause job 'jobs/j': it is queued; only a running job can be paused"):
        check_action("j", "pause", S.QUEUED)
    with pytest.raises(FailedPrecondition, match="it is completed \\(it has ended\\)"):
        check_action("j", "cancel", S.COMPLETED)


def test_running_seconds_leave_out_queued_and_paused_time():
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    history = [("created", at(0)), ("queued", at(0)), ("running", at(10)), ("paused", at(40)), ("running", at(100)),
               ("queued", at(110)), ("running", at(200))]
    assert running_seconds(history, at(205)) == 30 + 10 + 5
    assert running_seconds(history[:4], at(1000)) == 30
