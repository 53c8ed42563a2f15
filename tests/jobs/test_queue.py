"""The queue against fake in-process trainers: priority order, several endpoints, control, restarts of the
jobs service (nothing lost, nothing run twice), lost trainers, attempts, timeouts and trainer refusals."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest
from cryptography.fernet import Fernet

from finetune.jobs.v1 import jobs_service_pb2 as pb
from finetune.trainer.v1 import run_pb2
from services.catalog.builtin_models import BUILTIN_MODELS, TINY_MODEL_ID, build_model, build_tokenizer
from services.common.db import create_engine
from services.common.errors import InvalidArgument, ResourceExhausted
from services.common.lora import check_target_modules
from services.jobs.states import JobState
from services.jobs.store import JobStore
from tests.jobs.helpers import (
    HIGH, LOW, MEDIUM, expect_error, get_job, in_state, job_request, jobs_client, serve, state_name, wait_for,
)
from tests.jobs.fake_trainer import FakeTrainer, build_fake_trainer


async def test_priority_order_then_first_come_first_served(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            blocker = await stub.CreateJob(job_request("blocker"))
            await wait_for(lambda: get_job(stub, blocker.name), in_state("running"), what="blocker running")
            names = {}
            for label, priority in [("low-1", LOW), ("medium-1", MEDIUM), ("high-1", HIGH), ("medium-2", MEDIUM), ("high-2", HIGH)]:
                job = await stub.CreateJob(job_request(label, priority=priority))
                names[job.job_uid] = label
                assert state_name(job.state) == "queued"
            await asyncio.sleep(0.3)  # the queue passes while the trainer is full: nothing jumps
            assert fake.created == [blocker.job_uid]
            for expected in ["high-1", "high-2", "medium-1", "medium-2", "low-1"]:
                fake.finish(fake.created[-1])
                await wait_for(lambda: asyncio.sleep(0, fake.created), lambda c, n=len(fake.created): len(c) > n, what=expected)
                assert names[fake.created[-1]] == expected
            assert len(set(fake.created)) == 6


async def test_jobs_spread_over_trainer_endpoints_as_capacity_allows(jobs_settings, make_settings):
    a, b = FakeTrainer(max_runs=1), FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(a), make_settings("trainer")) as (_, address_a), \
            serve(build_fake_trainer(b), make_settings("trainer")) as (_, address_b):
        async with jobs_client(jobs_settings(address_a, address_b)) as stub:
            jobs = [await stub.CreateJob(job_request(f"j{i}")) for i in range(3)]
            running = await wait_for(lambda: asyncio.gather(*(get_job(stub, j.name) for j in jobs)),
                                     lambda js: sum(state_name(j.state) == "running" for j in js) == 2, what="two running")
            assert {j.trainer for j in running if state_name(j.state) == "running"} == {address_a, address_b}
            assert state_name(running[2].state) == "queued"
            a.finish(a.created[0])
            done = await wait_for(lambda: get_job(stub, jobs[2].name), in_state("running"), what="third job")
            assert done.trainer == address_a and len(a.created) == 2 and len(b.created) == 1


async def test_pause_and_resume_are_idempotent_also_when_the_follower_mirrors_the_run_first(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            job = await stub.CreateJob(job_request("mirrored"))
            await wait_for(lambda: get_job(stub, job.name), in_state("running"))

            async def mirrored_first(command: str) -> None:  # the trainer confirms after the follower saw the run change
                await wait_for(lambda: get_job(stub, job.name), in_state({"pause": "paused", "resume": "running"}[command]))

            fake.before_answer = mirrored_first
            paused = await stub.PauseJob(pb.PauseJobRequest(name=job.name))
            assert state_name(paused.state) == "paused"
            again = await stub.PauseJob(pb.PauseJobRequest(name=job.name))
            assert state_name(again.state) == "paused" and len(again.transitions) == len(paused.transitions)
            resumed = await stub.ResumeJob(pb.ResumeJobRequest(name=job.name))
            assert state_name(resumed.state) == "running"
            assert state_name((await stub.ResumeJob(pb.ResumeJobRequest(name=job.name))).state) == "running"
            assert [t.reason for t in resumed.transitions] == ["SUBMITTED", "ENQUEUED", "DISPATCHED", "RUN_PAUSED", "RUN_RESUMED"]
            assert [c for c, _ in fake.calls if c in ("pause", "resume")] == ["pause", "resume"]  # each sent once


async def test_pause_resume_cancel_and_the_state_stream(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=2)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            job = await stub.CreateJob(job_request("controlled"))
            await wait_for(lambda: get_job(stub, job.name), in_state("running"))
            assert state_name((await stub.ResumeJob(pb.ResumeJobRequest(name=job.name))).state) == "running"  # as it is
            paused = await stub.PauseJob(pb.PauseJobRequest(name=job.name))
            assert state_name(paused.state) == "paused" and fake.runs[job.job_uid].state == "paused"
            resumed = await stub.ResumeJob(pb.ResumeJobRequest(name=job.name))
            assert state_name(resumed.state) == "running" and fake.runs[job.job_uid].state == "running"

            stream = stub.StreamJobStateChanges(pb.StreamJobStateChangesRequest(name=job.name))
            history = [await stream.read() for _ in range(5)]  # created, queued, running, paused, running
            assert [state_name(t.to_state) for t in history] == ["created", "queued", "running", "paused", "running"]
            assert [t.sequence for t in history] == [1, 2, 3, 4, 5]
            assert [t.reason for t in history] == ["SUBMITTED", "ENQUEUED", "DISPATCHED", "PAUSE_REQUESTED", "RESUME_REQUESTED"]
            assert all(t.time.seconds > 0 for t in history)
            cancelled = await stub.CancelJob(pb.CancelJobRequest(name=job.name, reason="not needed any more"))
            live = await stream.read()  # then live, and the stream ends after the final state
            assert state_name(live.to_state) == "cancelled" and live.message == "not needed any more"
            assert await stream.read() == grpc.aio.EOF
            assert state_name(cancelled.state) == "cancelled" and fake.runs[job.job_uid].state == "cancelled"
            await expect_error(stub.CancelJob(pb.CancelJobRequest(name=job.name)), grpc.StatusCode.FAILED_PRECONDITION,
                               "ILLEGAL_TRANSITION", "it has ended")
            await expect_error(stub.PauseJob(pb.PauseJobRequest(name=job.name)), grpc.StatusCode.FAILED_PRECONDITION)

            # a stream asked for after the end answers what came after after_sequence, then ends
            tail = stub.StreamJobStateChanges(pb.StreamJobStateChangesRequest(name=job.name, after_sequence=5))
            assert [state_name(t.to_state) async for t in tail] == ["cancelled"]


async def test_a_queued_job_is_cancelled_without_a_trainer(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            first = await stub.CreateJob(job_request("first"))
            second = await stub.CreateJob(job_request("second"))
            await wait_for(lambda: get_job(stub, first.name), in_state("running"))
            await expect_error(stub.PauseJob(pb.PauseJobRequest(name=second.name)), grpc.StatusCode.FAILED_PRECONDITION,
                               "ILLEGAL_TRANSITION", "it is queued")
            cancelled = await stub.CancelJob(pb.CancelJobRequest(name=second.name))
            assert state_name(cancelled.state) == "cancelled" and second.job_uid not in fake.runs
            fake.finish(first.job_uid, validation_loss=0.75)
            done = await wait_for(lambda: get_job(stub, first.name), in_state("completed"))
            assert done.metrics.final_validation_loss == 0.75 and done.metrics.final_loss == 0.5
            assert done.output_dir.endswith("/artifacts") and [state_name(t.to_state) for t in done.transitions][-1] == "completed"


async def test_a_restart_of_the_jobs_service_loses_nothing_and_runs_nothing_twice(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=2)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        settings = jobs_settings(trainer)
        async with jobs_client(settings) as stub:
            running = await stub.CreateJob(job_request("keeps running", gpu_count=2))
            finishes = await stub.CreateJob(job_request("finishes while we are down"))
            for job in (running, finishes):
                await wait_for(lambda j=job: get_job(stub, j.name), in_state("running"))
        fake.finish(finishes.job_uid, validation_loss=0.5)  # while the jobs service is down
        async with jobs_client(settings) as stub:
            done = await wait_for(lambda: get_job(stub, finishes.name), in_state("completed"), what="settled after restart")
            assert done.metrics.final_validation_loss == 0.5
            again = await get_job(stub, running.name)
            assert state_name(again.state) == "running" and again.attempts == 1
            fake.finish(running.job_uid, validation_loss=0.25)
            done = await wait_for(lambda: get_job(stub, running.name), in_state("completed"))
            assert done.metrics.gpu_hours == 2.0  # one hour of training on two GPUs
        assert [c for c in fake.calls if c[0] == "CreateRun"] == [("CreateRun", running.job_uid), ("CreateRun", finishes.job_uid)]


async def test_a_job_that_may_have_reached_a_trainer_is_adopted_not_sent_again(jobs_settings, make_settings, tmp_path):
    """The crash window: CreateRun reached the trainer but RUNNING was never recorded."""
    fake = FakeTrainer(max_runs=2)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        settings = jobs_settings(trainer)
        async with jobs_client(settings) as stub:
            job = await stub.CreateJob(job_request("adopted"))
            await wait_for(lambda: get_job(stub, job.name), in_state("running"))
        engine = create_engine(settings.effective_database_url)
        store = JobStore(engine)
        await store.transition(job.job_uid, JobState.QUEUED, "TEST", "as if RUNNING had not been stored")
        await engine.dispose()
        async with jobs_client(settings) as stub:
            adopted = await wait_for(lambda: get_job(stub, job.name), in_state("running"))
            assert adopted.transitions[-1].reason == "RUN_ADOPTED" and adopted.trainer == trainer
        assert fake.created == [job.job_uid] and fake.calls.count(("CreateRun", job.job_uid)) == 1


async def test_a_lost_trainer_sends_the_job_back_to_the_queue_and_its_leftover_run_is_cancelled(jobs_settings, make_settings):
    a, b = FakeTrainer(max_runs=1), FakeTrainer(max_runs=1)
    settings_a = make_settings("trainer")
    host_a, port_a = build_fake_trainer(a)(settings_a)
    await host_a.start()
    address_a = f"127.0.0.1:{port_a}"
    async with serve(build_fake_trainer(b), make_settings("trainer")) as (_, address_b):
        async with jobs_client(jobs_settings(address_a, address_b)) as stub:
            b.max_runs = 0  # the job goes to A first
            job = await stub.CreateJob(job_request("survivor"))
            first = await wait_for(lambda: get_job(stub, job.name), in_state("running"))
            assert first.trainer == address_a
            b.max_runs = 1
            await host_a.stop(0)  # A dies
            moved = await wait_for(lambda: get_job(stub, job.name), lambda j: j.trainer == address_b and state_name(j.state) == "running",
                                   timeout=15, what="moved to B")
            reasons = [t.reason for t in moved.transitions]
            assert reasons[-2:] == ["TRAINER_LOST", "DISPATCHED"] and moved.attempts == 2
            assert "did not answer" in moved.transitions[-2].message
            # A comes back (same port) still holding the old run: it is cancelled, B's run goes on
            host_a, _ = build_fake_trainer(a)(dataclasses.replace(settings_a, port=port_a))
            await host_a.start()
            await wait_for(lambda: asyncio.sleep(0, a.runs[job.job_uid].state), lambda s: s == "cancelled", timeout=10,
                           what="leftover run cancelled")
            b.finish(job.job_uid)
            done = await wait_for(lambda: get_job(stub, job.name), in_state("completed"))
            assert done.attempts == 2
            await host_a.stop(0)


async def test_attempts_are_bounded(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    host, port = build_fake_trainer(fake)(make_settings("trainer"))
    await host.start()
    async with jobs_client(jobs_settings(f"127.0.0.1:{port}", max_attempts=1)) as stub:
        job = await stub.CreateJob(job_request("fragile"))
        await wait_for(lambda: get_job(stub, job.name), in_state("running"))
        await host.stop(0)
        failed = await wait_for(lambda: get_job(stub, job.name), in_state("failed"), timeout=15)
        assert failed.state_reason == "ATTEMPTS_EXHAUSTED" and "all 1 attempts are used" in failed.error


async def test_timeouts_refusals_and_failed_runs(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=3)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            slow = await stub.CreateJob(job_request("slow", timeout_s=1))
            assert slow.timeout.seconds == 1
            running = await wait_for(lambda: get_job(stub, slow.name), in_state("running"))
            assert fake.runs[slow.job_uid].hyperparameters["timeout_seconds"] == 1.0  # the trainer enforces it too
            timed_out = await wait_for(lambda: get_job(stub, slow.name), in_state("failed"), timeout=10)
            assert timed_out.state_reason == "TIMEOUT" and "longer than its timeout of 1s" in timed_out.error
            assert ("cancel", slow.job_uid) in fake.calls and running.attempts == 1

            oom = await stub.CreateJob(job_request("oom"))
            await wait_for(lambda: get_job(stub, oom.name), in_state("running"))
            fake.finish(oom.job_uid, state="failed")
            failed = await wait_for(lambda: get_job(stub, oom.name), in_state("failed"))
            assert failed.state_reason == "OUT_OF_MEMORY" and "out of memory" in failed.error

            fake.refuse = InvalidArgument("max_seq_length 512 is more than this model's 256 positions", reason="INVALID_TRAINING_CONFIG")
            refused = await stub.CreateJob(job_request("refused"))
            failed = await wait_for(lambda: get_job(stub, refused.name), in_state("failed"))
            assert failed.state_reason == "INVALID_TRAINING_CONFIG" and "256 positions" in failed.error


def pushing(name: str, token: str = "hf_own_token"):
    request = job_request(name)
    request.model_saving.CopyFrom(run_pb2.ModelSaving(save_model=True, model_name="own-model", push_to_hub=True, hub_token=token))
    return request


async def queued_behind_a_blocker(stub, request):
    """A running job that fills a one-run trainer, then `request`'s job queued behind it: (blocker, job)."""
    blocker = await stub.CreateJob(job_request("blocker"))
    await wait_for(lambda: get_job(stub, blocker.name), in_state("running"))
    return blocker, await stub.CreateJob(request)


async def stored_job(settings, job_id: str):
    engine = create_engine(settings.effective_database_url)
    try:
        return await JobStore(engine).get_job(job_id)
    finally:
        await engine.dispose()


async def test_a_jobs_own_hub_token_is_kept_encrypted_across_a_restart_and_erased_when_the_job_ends(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        settings = jobs_settings(trainer)
        async with jobs_client(settings) as stub:
            blocker, job = await queued_behind_a_blocker(stub, pushing("pushes"))
            assert job.model_saving.push_to_hub and not job.model_saving.hub_token  # never answered
        sealed = (await stored_job(settings, job.job_uid)).sealed_hub_token
        assert sealed and "hf_own_token" not in sealed and "hf_own_token" not in (await stored_job(settings, job.job_uid)).model_saving
        key_file = settings.data_dir / "jobs" / "secrets.key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        fake.finish(blocker.job_uid)
        async with jobs_client(settings) as stub:  # a new process: only the database and the key file remain
            await wait_for(lambda: get_job(stub, job.name), in_state("running"), what="dispatched after the restart")
            assert fake.runs[job.job_uid].request.model_saving.hub_token == "hf_own_token"
            fake.finish(job.job_uid)
            await wait_for(lambda: get_job(stub, job.name), in_state("completed"))
        assert (await stored_job(settings, job.job_uid)).sealed_hub_token == ""


async def test_a_token_sealed_under_another_key_fails_its_job_instead_of_pushing_without_it(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        settings = jobs_settings(trainer)
        async with jobs_client(settings) as stub:
            blocker, job = await queued_behind_a_blocker(stub, pushing("pushes"))
        fake.finish(blocker.job_uid)
        other_key = dataclasses.replace(settings, extra={**settings.extra, "secrets_key": Fernet.generate_key().decode()})
        async with jobs_client(other_key) as stub:
            failed = await wait_for(lambda: get_job(stub, job.name), in_state("failed"))
            assert failed.state_reason == "SECRET_UNREADABLE" and "FINETUNE_JOBS_SECRETS_KEY" in failed.error
        assert job.job_uid not in fake.runs


async def test_what_dispatch_would_refuse_is_refused_at_creation_in_the_trainers_words(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1, gpus=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            _, metadata = await expect_error(stub.CreateJob(job_request("typo", target_modules=["q_proj", "qq_proj"])),
                                             grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB", "qq_proj not found in this model")
            with pytest.raises(InvalidArgument) as trainer_says:  # the trainer's own check of the same model
                check_target_modules(["q_proj", "qq_proj"], build_model(BUILTIN_MODELS[TINY_MODEL_ID], build_tokenizer()))
            assert metadata["configuration.hyperparameters.target_modules"] == trainer_says.value.message
            _, metadata = await expect_error(stub.CreateJob(job_request("big", gpu_count=4)), grpc.StatusCode.INVALID_ARGUMENT,
                                             "INVALID_JOB")
            assert metadata["gpu_count"] == "the run asks for 4 GPU(s) but the largest trainer has 1; use gpu_count 0 to train on the CPU"
            assert (await stub.CreateJob(job_request("fits", gpu_count=1, target_modules=["all-linear"]))).job_uid
        assert not any(c == "CreateRun" and r != fake.created[0] for c, r in fake.calls)


async def test_a_full_trainer_is_waited_for_and_a_request_it_refuses_fails_the_job(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            fake.refuse = ResourceExhausted("the trainer is full", reason="TRAINER_AT_CAPACITY")
            waits = await stub.CreateJob(job_request("waits"))
            await wait_for(lambda: asyncio.sleep(0, fake.calls), lambda c: len(c) >= 3, what="tried, and tried again")
            assert state_name((await get_job(stub, waits.name)).state) == "queued"
            fake.refuse = None
            await wait_for(lambda: get_job(stub, waits.name), in_state("running"))
            fake.finish(waits.job_uid)
            fake.refuse = ResourceExhausted("received message larger than max (10485760 vs. 8388608)", reason="")
            too_big = await stub.CreateJob(job_request("too big"))
            failed = await wait_for(lambda: get_job(stub, too_big.name), in_state("failed"))
            assert failed.state_reason == "RESOURCE_EXHAUSTED" and "larger than max" in failed.error
            assert fake.calls.count(("CreateRun", too_big.job_uid)) == 1  # not retried every pass


async def test_a_gpu_job_waits_in_the_queue_until_a_trainer_has_its_gpus_free_and_says_what_it_waits_for(jobs_settings,
                                                                                                          make_settings):
    cpu_only, with_gpus = FakeTrainer(max_runs=2, gpus=0), FakeTrainer(max_runs=2, gpus=2)
    with_gpus.held_gpus = 2  # another workload (another run, another Ray job) holds both
    async with serve(build_fake_trainer(cpu_only), make_settings("trainer")) as (_, address_a), \
            serve(build_fake_trainer(with_gpus), make_settings("trainer")) as (_, address_b):
        async with jobs_client(jobs_settings(address_a, address_b)) as stub:
            odd = job_request("odd", gpu_count=2)
            odd.workers = 3
            _, metadata = await expect_error(stub.CreateJob(odd), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
            assert "one worker per GPU" in metadata["workers"]
            request = job_request("data-parallel", gpu_count=2)
            request.workers = 2
            job = await stub.CreateJob(request)
            waiting = await wait_for(lambda: get_job(stub, job.name), lambda j: j.waiting_for != "", what="a reason to wait")
            assert state_name(waiting.state) == "queued"
            assert waiting.waiting_for == "2 GPU(s): the trainers have at most 0 free (other runs or workloads hold them)"
            assert not cpu_only.created and not with_gpus.created  # never sent where it cannot start
            with_gpus.held_gpus = 0
            running = await wait_for(lambda: get_job(stub, job.name), in_state("running"), what="dispatched once free")
            assert running.trainer == address_b and running.waiting_for == "" and running.workers == 2
            assert with_gpus.runs[job.job_uid].request.workers == 2
