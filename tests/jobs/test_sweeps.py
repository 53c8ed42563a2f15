"""Sweeps against fake trainers: Optuna's pruner stopping poor trials, grid search and promotion, bad input,
cancelling, and a restart of the jobs service in the middle of a sweep (Optuna's study is in our database)."""

from __future__ import annotations

import time

import grpc

from finetune.jobs.v1 import configuration_pb2 as cpb, job_pb2, jobs_service_pb2 as pb, sweep_pb2 as spb
from tests.jobs.helpers import expect_error, get_job, jobs_client, serve, sweep_request, sweep_state, wait_for
from tests.jobs.fake_trainer import FakeTrainer, build_fake_trainer


async def get_sweep(stub, name):
    return await stub.GetSweep(pb.GetSweepRequest(name=name))


async def test_optuna_prunes_trials_worse_than_the_first(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=1, step_seconds=0.4)  # slow enough for a prune to land before the run ends
    fake.script = lambda run: [1.0, 0.8, 0.6, 0.5] if len(fake.created) == 1 else [3.0, 2.9, 2.8, 2.7]
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            sweep = await stub.CreateSweep(sweep_request([{"parameter": "learning_rate", "min": 1e-4, "max": 1e-3, "log_scale": True}],
                                                         pruning=True, max_trials=3))
            assert sweep.name.startswith("sweeps/sweep_") and sweep_state(sweep) == "running"
            done = await wait_for(lambda: get_sweep(stub, sweep.name), lambda s: sweep_state(s) != "running", timeout=30)
            assert sweep_state(done) == "completed", done
            assert (done.completed_trials, done.pruned_trials, done.failed_trials) == (1, 2, 0)
            assert done.best_trial.number == 0 and done.best_trial.validation_loss == 0.5
            trials = (await stub.ListSweepTrials(pb.ListSweepTrialsRequest(parent=sweep.name))).trials
            assert [spb.TrialState.Name(t.state) for t in trials] == ["TRIAL_STATE_COMPLETED", "TRIAL_STATE_PRUNED", "TRIAL_STATE_PRUNED"]
            assert len({t.parameters.learning_rate for t in trials}) == 3
            for trial in trials[1:]:
                job = await get_job(stub, trial.job)
                assert job.state == job_pb2.JOB_STATE_CANCELLED and job.state_reason == "PRUNED"
                assert job.metrics.step < 4 and ("cancel", job.job_uid) in fake.calls  # stopped early
                assert job.sweep == sweep.name and job.configuration.hyperparameters.uid.endswith("a")


async def test_grid_search_runs_every_point_and_promotes_the_best(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=2, script=lambda run: [1.0, 1e-4 / run.hyperparameters["learning_rate"] + run.hyperparameters["lora_r"] / 100])
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            ranges = [{"parameter": "learning_rate", "values": [1e-4, 4e-4]}, {"parameter": "lora_r", "values": [8, 16]}]
            sweep = await stub.CreateSweep(sweep_request(ranges, algorithm=spb.SEARCH_ALGORITHM_GRID, max_trials=10, parallel=2, epochs=1))
            await expect_error(stub.PromoteSweepTrial(pb.PromoteSweepTrialRequest(name=sweep.name, trial_number=0)),
                               grpc.StatusCode.FAILED_PRECONDITION)
            done = await wait_for(lambda: get_sweep(stub, sweep.name), lambda s: sweep_state(s) != "running", timeout=30)
            assert sweep_state(done) == "completed" and done.completed_trials == 4  # the grid's size, not max_trials
            trials = (await stub.ListSweepTrials(pb.ListSweepTrialsRequest(parent=sweep.name))).trials
            points = {(t.parameters.learning_rate, t.parameters.lora_r) for t in trials}
            assert points == {(1e-4, 8), (1e-4, 16), (4e-4, 8), (4e-4, 16)}
            best = done.best_trial
            assert (best.parameters.learning_rate, best.parameters.lora_r) == (4e-4, 8)
            listed = await stub.ListJobs(pb.ListJobsRequest(sweep=sweep.name))
            assert listed.total_size == 4 and all(j.configuration.hyperparameters.epochs == 1 for j in listed.jobs)

            promoted = await stub.PromoteSweepTrial(pb.PromoteSweepTrialRequest(name=sweep.name))
            assert promoted.mode == cpb.CONFIGURATION_MODE_AUTOMATED and promoted.source_sweep == sweep.name
            assert promoted.hyperparameters.learning_rate == 4e-4 and promoted.hyperparameters.lora_r == 8
            assert promoted.uid == best.configuration_uid
            best_config = await stub.GetBestConfiguration(pb.GetBestConfigurationRequest(mode="automated"))
            assert best_config.uid == promoted.uid
            await expect_error(stub.PromoteSweepTrial(pb.PromoteSweepTrialRequest(name=sweep.name, trial_number=9)),
                               grpc.StatusCode.NOT_FOUND, "TRIAL_NOT_FOUND")
            await expect_error(stub.CancelSweep(pb.CancelSweepRequest(name=sweep.name)), grpc.StatusCode.FAILED_PRECONDITION,
                               "SWEEP_ENDED")


async def test_bad_sweeps_name_every_problem(jobs_settings):
    async with jobs_client(jobs_settings()) as stub:
        request = sweep_request([{"parameter": "learning_rate", "min": 1e-2, "max": 1e-4}, {"parameter": "optimizer", "values": [1]},
                                 {"parameter": "epochs", "values": [1, 2]}], dataset="dataset_noval", max_trials=500, epochs=2)
        request.sweep.configuration.model.uid = "nobody/nothing"
        _, metadata = await expect_error(stub.CreateSweep(request), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SWEEP")
        assert set(metadata) == {"search_space.learning_rate", "search_space.optimizer", "search_space.epochs", "max_trials",
                                 "configuration.model.uid"}
        request = sweep_request([{"parameter": "lora_r", "values": [4, 8]}], dataset="dataset_noval")
        _, metadata = await expect_error(stub.CreateSweep(request), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SWEEP")
        assert "needs a validation split" in metadata["configuration.dataset.uid"]
        await expect_error(stub.GetSweep(pb.GetSweepRequest(name="sweeps/sweep_nope")), grpc.StatusCode.NOT_FOUND, "SWEEP_NOT_FOUND")


async def test_cancel_a_sweep_and_its_running_trials(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=2)  # runs hold until finished
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer)) as stub:
            sweep = await stub.CreateSweep(sweep_request([{"parameter": "lora_r", "values": [4, 8, 16]}], parallel=2))
            await wait_for(lambda: stub.ListJobs(pb.ListJobsRequest(sweep=sweep.name, state=job_pb2.JOB_STATE_RUNNING)),
                           lambda r: r.total_size == 2)
            await expect_error(stub.PromoteSweepTrial(pb.PromoteSweepTrialRequest(name=sweep.name)), grpc.StatusCode.FAILED_PRECONDITION,
                               "NO_COMPLETED_TRIAL")
            cancelled = await stub.CancelSweep(pb.CancelSweepRequest(name=sweep.name))
            assert sweep_state(cancelled) == "cancelled" and cancelled.failed_trials == 2
            jobs = (await stub.ListJobs(pb.ListJobsRequest(sweep=sweep.name))).jobs
            assert len(jobs) == 2 and all(j.state == job_pb2.JOB_STATE_CANCELLED for j in jobs)
            assert sorted(fake.active()) == []


async def test_a_sweep_survives_a_restart_of_the_jobs_service(jobs_settings_any_db, make_settings):
    fake = FakeTrainer(max_runs=1)  # runs hold until finished
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        settings = jobs_settings_any_db(trainer)
        async with jobs_client(settings) as stub:
            sweep = await stub.CreateSweep(sweep_request([{"parameter": "learning_rate", "min": 1e-4, "max": 5e-4}], max_trials=2))
            await wait_for(lambda: stub.ListJobs(pb.ListJobsRequest(sweep=sweep.name, state=job_pb2.JOB_STATE_RUNNING)),
                           lambda r: r.total_size == 1)
        fake.finish(fake.created[0], validation_loss=0.9)  # finishes while the jobs service is down
        async with jobs_client(settings) as stub:
            await wait_for(lambda: stub.ListJobs(pb.ListJobsRequest(sweep=sweep.name)), lambda r: r.total_size == 2, timeout=15)
            await wait_for(lambda: stub.ListJobs(pb.ListJobsRequest(sweep=sweep.name, state=job_pb2.JOB_STATE_RUNNING)),
                           lambda r: r.total_size == 1)
            fake.finish(fake.created[1], validation_loss=0.4)
            done = await wait_for(lambda: get_sweep(stub, sweep.name), lambda s: sweep_state(s) != "running", timeout=15)
            assert sweep_state(done) == "completed" and done.completed_trials == 2 and done.best_trial.number == 1
        assert len(fake.created) == 2 and len(set(fake.created)) == 2


async def test_a_grid_of_ten_million_points_is_refused_at_once(jobs_settings):
    """The grid's size is counted from min, max and step: it once took 11 s and 940 MB to enumerate first."""
    async with jobs_client(jobs_settings()) as stub:
        for step in (1e-9, 1e-300, 5e-324):  # 10 million points, then more than a float counts
            request = sweep_request([{"parameter": "learning_rate", "min": 1e-5, "max": 1e-2, "step": step}],
                                    algorithm=spb.SEARCH_ALGORITHM_GRID, max_trials=10)
            started = time.monotonic()
            _, metadata = await expect_error(stub.CreateSweep(request), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SWEEP", "points; at most")
            assert time.monotonic() - started < 2 and "search_space" in metadata
