"""`finetune watch` against a scripted trainer: it resumes after the last event when the stream drops, and
its exit code says how the run ended."""

from __future__ import annotations

import grpc

from finetune.jobs.v1 import job_pb2, jobs_service_pb2_grpc
from finetune.trainer.v1 import run_pb2, trainer_service_pb2_grpc
from services.common.errors import NotFound
from services.common.server import create_host
from tests.cli.conftest import assert_clean_failure

NO_JOBS_SERVICE = {"FINETUNE_JOBS_ADDRESS": "127.0.0.1:9"}  # nothing listens: watch asks the trainer alone


def state(seq: int, new: int, message: str = "") -> run_pb2.RunEvent:
    return run_pb2.RunEvent(sequence=seq, state=run_pb2.StateChange(state=new, message=message))


def step(seq: int, n: int, loss: float) -> run_pb2.RunEvent:
    return run_pb2.RunEvent(sequence=seq, step=run_pb2.StepMetrics(step=n, total_steps=3, epoch=n / 3, train_loss=loss, eta_seconds=3 - n))


class ScriptedTrainer(trainer_service_pb2_grpc.TrainerServiceServicer):
    """runs/job_flaky drops its stream after two events once; runs/job_doomed fails; no other run exists."""

    def __init__(self):
        self.requests: list[tuple[str, int]] = []

    async def StreamRunEvents(self, request, context):
        self.requests.append((request.name, request.after_sequence))
        if request.name not in ("runs/job_flaky", "runs/job_doomed"):
            raise NotFound(f"run {request.name!r} does not exist", reason="RUN_NOT_FOUND")
        if request.name == "runs/job_doomed":
            yield state(1, run_pb2.RUN_STATE_RUNNING)
            yield state(2, run_pb2.RUN_STATE_FAILED, "loss became NaN at step 1")
            return
        if request.after_sequence == 0:
            yield state(1, run_pb2.RUN_STATE_RUNNING, "worker started")
            yield step(2, 1, 2.5)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "trainer restarting")
        for event in (step(2, 1, 2.5), step(3, 3, 1.25), state(4, run_pb2.RUN_STATE_COMPLETED, "trained 3 steps")):
            if event.sequence > request.after_sequence:
                yield event


def start_scripted(services, make_settings) -> ScriptedTrainer:
    trainer = ScriptedTrainer()

    def build_server(settings):
        host = create_host(settings, [(trainer_service_pb2_grpc.add_TrainerServiceServicer_to_server, trainer)], ["finetune.trainer.v1.TrainerService"])
        return host, host.port

    services.start("trainer", make_settings("trainer"), build_server)
    return trainer


def test_watch_resumes_after_the_last_event(services, make_settings, finetune):
    trainer = start_scripted(services, make_settings)
    result = finetune("watch", "job_flaky", env=NO_JOBS_SERVICE)
    assert result.exit_code == 0, result.output
    assert trainer.requests == [("runs/job_flaky", 0), ("runs/job_flaky", 2)]
    assert "resuming after event 2" in result.stdout and "3/3" in result.stdout and "loss 1.2500" in result.stdout
    assert "job job_flaky completed" in result.stdout


def test_watch_json_prints_one_event_per_line(services, make_settings, finetune):
    start_scripted(services, make_settings)
    result = finetune("--json", "watch", "jobs/job_flaky", "--after", "2", env=NO_JOBS_SERVICE)
    assert result.exit_code == 0, result.output
    assert [line.count('"sequence"') for line in result.stdout.splitlines()] == [1, 1]


def test_a_failed_run_exits_1_with_its_reason(services, make_settings, finetune):
    start_scripted(services, make_settings)
    result = finetune("watch", "job_doomed", env=NO_JOBS_SERVICE)
    assert result.exit_code == 1 and "loss became NaN at step 1" in result.stdout and "Traceback" not in result.output


def test_watching_an_unknown_job_fails_at_once(services, make_settings, finetune):
    start_scripted(services, make_settings)
    result = finetune("watch", "job_unknown", env=NO_JOBS_SERVICE)
    assert_clean_failure(result, "run 'runs/job_unknown' does not exist (RUN_NOT_FOUND)", code=1)


class Placements(jobs_service_pb2_grpc.JobsServiceServicer):
    """A jobs service that knows where one job runs: `job_flaky`, on the trainer at `trainer`."""

    def __init__(self, trainer: str):
        self.trainer = trainer

    async def GetJob(self, request, context):
        if request.name != "jobs/job_flaky":
            raise NotFound(f"job {request.name!r} does not exist", reason="JOB_NOT_FOUND")
        return job_pb2.Job(name=request.name, job_uid="job_flaky", state=job_pb2.JOB_STATE_RUNNING, trainer=self.trainer, attempts=1)


def test_watch_follows_a_job_to_the_trainer_the_jobs_service_names(services, make_settings, finetune):
    """Several trainers share one jobs service: the job runs on one the CLI was not pointed at."""
    holder = start_scripted(services, make_settings)
    elsewhere = services.addresses.pop("trainer")

    def build(settings):
        host = create_host(settings, [(jobs_service_pb2_grpc.add_JobsServiceServicer_to_server, Placements(elsewhere))],
                           ["finetune.jobs.v1.JobsService"])
        return host, host.port

    services.start("jobs", make_settings("jobs"), build)
    result = finetune("watch", "job_flaky", env={"FINETUNE_TRAINER_ADDRESS": "127.0.0.1:9"})  # nothing listens there
    assert result.exit_code == 0, result.output
    assert holder.requests == [("runs/job_flaky", 0), ("runs/job_flaky", 2)] and "job job_flaky completed" in result.stdout
