"""The JobsService API over gRPC on SQLite and PostgreSQL: the guide's job body, every kind of bad input,
configurations and the best one, comparison and statistics."""

from __future__ import annotations

import dataclasses
import functools

import grpc
from google.protobuf import json_format

from finetune.jobs.v1 import configuration_pb2 as cpb, job_pb2, jobs_service_pb2 as pb, jobs_service_pb2_grpc
from finetune.trainer.v1 import run_pb2
from services.common.errors import Unavailable
from services.jobs.clients import DatasetInfo, ModelCheck
from services.jobs.server import build_server
from tests.jobs.helpers import (
    TINY, FakeDatasets, expect_error, get_job, in_state, job_request, jobs_client, serve, state_name, wait_for,
)
from tests.jobs.fake_trainer import FakeTrainer, build_fake_trainer

GUIDE_ID = "dataset_1751023766790_b0zqofldb"
GUIDE_BODY = {
    "name": "Customer Support Fine-tuning",
    "description": "Fine-tune Llama for customer support responses",
    "tags": ["customer-support", "llama", "production"],
    "configuration": {
        "model": {"uid": "meta-llama/Llama-3.1-8B-Instruct", "name": "Llama 3.1 8B Instruct"},
        "dataset": {"uid": GUIDE_ID, "name": "Customer Support Q&A"},
        "hyperparameters": {"uid": "00000005k0008000300100002s", "learning_rate": 0.0002, "batch_size": 8, "epochs": 3},
    },
    "modelSaving": {"saveModel": True, "modelName": "customer-support-llama-v1", "pushToHub": False, "makePublic": False},
}


async def catalog(model_id: str, values: dict) -> ModelCheck:
    """The catalog's verdicts for these tests: the guide's Llama and the built-ins exist, nothing else."""
    if model_id == "meta-llama/Llama-3.1-8B-Instruct":
        return ModelCheck([], 8_030_000_000)
    if model_id == TINY:
        return ModelCheck([], 3_300_000)
    return ModelCheck([f"Model '{model_id}' was not found locally, in the Hugging Face cache, or on the hub"])


def datasets() -> FakeDatasets:
    return FakeDatasets(**{GUIDE_ID: DatasetInfo(GUIDE_ID, "Customer Support Q&A", 1500, 150)})


def loss_by_learning_rate(run):
    """Trials with a higher learning rate end with a lower validation loss (so the best is predictable)."""
    lr = run.hyperparameters.get("learning_rate", 2e-4)
    return [2.0, 1.0 / (lr * 1000)]


async def test_the_guides_job_body_is_accepted_and_answers_a_job_uid(jobs_settings_any_db):
    async with jobs_client(jobs_settings_any_db(), datasets(), catalog) as stub:
        request = json_format.ParseDict(GUIDE_BODY, pb.CreateJobRequest())  # what the gateway does with the body
        job = await stub.CreateJob(request)
        rendered = json_format.MessageToDict(job)
        assert rendered["jobUid"] == job.job_uid and job.job_uid.startswith("job_") and job.name == f"jobs/{job.job_uid}"
        assert job.display_name == "Customer Support Fine-tuning" and list(job.tags) == GUIDE_BODY["tags"]
        assert state_name(job.state) == "queued" and [state_name(t.to_state) for t in job.transitions] == ["created", "queued"]
        assert job.configuration.model.uid == "meta-llama/Llama-3.1-8B-Instruct" and job.configuration.dataset.uid == GUIDE_ID
        assert job.model_saving.save_model and job.model_saving.model_name == "customer-support-llama-v1"
        hp = job.configuration.hyperparameters
        assert hp.uid == "0003000200000000800160320m" and hp.learning_rate == 0.0002 and hp.lora_r == 16  # defaults filled in
        warnings = {w.code for w in job.warnings}
        assert {"CONFIGURATION_UID_CHANGED", "LEARNING_RATE_OUTSIDE_GUIDANCE"} <= warnings  # 2e-4 is high for an 8B model
        assert job.priority == job_pb2.JOB_PRIORITY_MEDIUM and job.metrics.dataset_rows == 1500
        assert job.max_attempts == 3

        # persisted: read back, listed, filtered
        again = await stub.GetJob(pb.GetJobRequest(name=job.name))
        assert again.job_uid == job.job_uid and len(again.transitions) == 2
        other = await stub.CreateJob(job_request("other", dataset=GUIDE_ID, tags=["batch"]))
        listed = await stub.ListJobs(pb.ListJobsRequest(page_size=1))
        assert listed.total_size == 2 and [j.job_uid for j in listed.jobs] == [other.job_uid] and listed.next_page_token
        second = await stub.ListJobs(pb.ListJobsRequest(page_size=1, page_token=listed.next_page_token))
        assert [j.job_uid for j in second.jobs] == [job.job_uid] and not second.next_page_token
        by_tag = await stub.ListJobs(pb.ListJobsRequest(tag="production"))
        assert [j.job_uid for j in by_tag.jobs] == [job.job_uid]
        by_state = await stub.ListJobs(pb.ListJobsRequest(state=job_pb2.JOB_STATE_QUEUED))
        assert by_state.total_size == 2
        assert (await stub.ListJobs(pb.ListJobsRequest(state=job_pb2.JOB_STATE_RUNNING))).total_size == 0

        # the job saved its configuration
        saved = await stub.GetConfiguration(pb.GetConfigurationRequest(name="configurations/0003000200000000800160320m"))
        assert saved.hyperparameters.epochs == 3 and saved.mode == cpb.CONFIGURATION_MODE_MANUAL


async def test_every_problem_of_a_job_is_named_in_one_error(jobs_settings):
    async with jobs_client(jobs_settings(), datasets(), catalog) as stub:
        request = job_request("", model="nobody/no-such-model", dataset="dataset_missing", learning_rate=2.0, batch_size=0,
                              tags=["x" * 100], gpu_count=-1)
        request.job_id = "Bad Id!"
        request.model_saving.push_to_hub = True
        error, metadata = await expect_error(stub.CreateJob(request), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB", "problems")
        assert set(metadata) == {
            "job_id", "tags", "gpu_count", "model_saving.push_to_hub", "model_saving.model_name", "configuration.dataset.uid",
            "configuration.model.uid", "configuration.hyperparameters.learning_rate", "configuration.hyperparameters.batch_size",
        }
        assert "dataset 'dataset_missing' does not exist" in metadata["configuration.dataset.uid"]
        assert "was not found" in metadata["configuration.model.uid"]
        assert "batch_size must be in [1, 4096]" in metadata["configuration.hyperparameters.batch_size"]
        assert "9 problems" in error.details()

        _, metadata = await expect_error(stub.CreateJob(pb.CreateJobRequest(name="empty")), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
        assert set(metadata) == {"configuration.model.uid", "configuration.dataset.uid"}
        bad_uid = job_request("saved uid", dataset="dataset_small")
        bad_uid.configuration.hyperparameters.Clear()
        bad_uid.configuration.hyperparameters.uid = "0005000100000000400080160m"
        _, metadata = await expect_error(stub.CreateJob(bad_uid), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
        assert "is not saved" in metadata["configuration.hyperparameters.uid"]
        assert (await stub.ListJobs(pb.ListJobsRequest())).total_size == 0  # nothing was stored

        only = await stub.CreateJob(pb.CreateJobRequest(**{**_fields(job_request("dry run")), "validate_only": True}))
        assert only.job_uid and not only.transitions
        await expect_error(stub.GetJob(pb.GetJobRequest(name=only.name)), grpc.StatusCode.NOT_FOUND, "JOB_NOT_FOUND")
        named = await stub.CreateJob(pb.CreateJobRequest(**{**_fields(job_request("named")), "job_id": "my-job-1"}))
        assert named.name == "jobs/my-job-1"
        await expect_error(stub.CreateJob(pb.CreateJobRequest(**{**_fields(job_request("again")), "job_id": "my-job-1"})),
                           grpc.StatusCode.ALREADY_EXISTS, "JOB_EXISTS")
        await expect_error(stub.GetJob(pb.GetJobRequest(name="jobs/Not Valid")), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME")
        await expect_error(stub.ListJobs(pb.ListJobsRequest(page_token="!!")), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
        await expect_error(stub.CancelJob(pb.CancelJobRequest(name="jobs/job_nope")), grpc.StatusCode.NOT_FOUND, "JOB_NOT_FOUND")


def _fields(message) -> dict:
    return {f.name: v for f, v in message.ListFields()}


async def test_unreachable_dependencies_are_unavailable(jobs_settings):
    async def down(dataset_id):
        raise Unavailable("the dataset service at 127.0.0.1:1 cannot be reached", reason="DATASET_SERVICE_UNAVAILABLE")

    async with jobs_client(jobs_settings(), down, catalog) as stub:
        await expect_error(stub.CreateJob(job_request("x")), grpc.StatusCode.UNAVAILABLE, "DATASET_SERVICE_UNAVAILABLE")


async def test_configurations_validate_save_get_list_and_best(jobs_settings_any_db, make_settings):
    fake = FakeTrainer(max_runs=4, script=loss_by_learning_rate)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings_any_db(trainer), datasets(), catalog) as stub:
            answer = await stub.ValidateConfiguration(pb.ValidateConfigurationRequest(
                hyperparameters=run_pb2.Hyperparameters(learning_rate=5e-4, epochs=1, batch_size=4096, lora_dropout=2),
                model=TINY, dataset=GUIDE_ID))
            assert not answer.valid and {e.field for e in answer.errors} == {"lora_dropout"}
            answer = await stub.ValidateConfiguration(pb.ValidateConfigurationRequest(
                hyperparameters=run_pb2.Hyperparameters(learning_rate=1e-3, epochs=1), model=TINY, dataset=GUIDE_ID))
            assert answer.valid and answer.normalized.uid == "0001001000000000800160320m"
            assert {w.code for w in answer.warnings} >= {"LEARNING_RATE_OUTSIDE_GUIDANCE", "EPOCHS_OUTSIDE_GUIDANCE"}
            assert answer.suggested.batch_size >= 1 and answer.available_memory_bytes > 0
            await expect_error(stub.ValidateConfiguration(pb.ValidateConfigurationRequest(dataset="dataset_gone")),
                               grpc.StatusCode.NOT_FOUND, "DATASET_NOT_FOUND")

            await expect_error(stub.GetBestConfiguration(pb.GetBestConfigurationRequest(mode="manual")),
                               grpc.StatusCode.NOT_FOUND, "NO_BEST_CONFIGURATION", "no completed manual-mode job")
            config = cpb.Configuration(mode=cpb.CONFIGURATION_MODE_MANUAL, display_name="slow and steady",
                                       hyperparameters=run_pb2.Hyperparameters(learning_rate=1e-4, epochs=5))
            saved = await stub.CreateConfiguration(pb.CreateConfigurationRequest(configuration=config))
            assert saved.uid == "0005000100000000800160320m" and saved.name == f"configurations/{saved.uid}"
            assert saved.display_name == "slow and steady" and not saved.HasField("best_validation_loss")
            again = await stub.CreateConfiguration(pb.CreateConfigurationRequest(configuration=config))
            assert again.uid == saved.uid and again.create_time == saved.create_time  # the same values: the same one
            await expect_error(stub.CreateConfiguration(pb.CreateConfigurationRequest(configuration=cpb.Configuration(
                hyperparameters=run_pb2.Hyperparameters(epochs=0, optimizer="nope")))), grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_HYPERPARAMETERS")
            await expect_error(stub.GetConfiguration(pb.GetConfigurationRequest(name="configurations/banana")),
                               grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CONFIGURATION_UID")
            await expect_error(stub.GetConfiguration(pb.GetConfigurationRequest(name="configurations/0009000100000000800160320m")),
                               grpc.StatusCode.NOT_FOUND, "CONFIGURATION_NOT_FOUND")

            jobs = []
            for lr in (1e-4, 4e-4, 2e-4):  # final validation losses 10, 2.5, 5
                jobs.append(await stub.CreateJob(job_request(f"lr {lr}", dataset=GUIDE_ID, learning_rate=lr)))
            auto = await stub.CreateJob(pb.CreateJobRequest(**{**_fields(job_request("auto", dataset=GUIDE_ID, learning_rate=5e-4)),
                                                              "mode": cpb.CONFIGURATION_MODE_AUTOMATED}))
            for job in [*jobs, auto]:
                await wait_for(lambda j=job: get_job(stub, j.name), in_state("completed"))
            best = await stub.GetBestConfiguration(pb.GetBestConfigurationRequest(mode="manual"))
            assert best.hyperparameters.learning_rate == 4e-4 and best.best_validation_loss == 2.5
            assert best.best_job == jobs[1].name and best.completed_jobs == 1
            best_auto = await stub.GetBestConfiguration(pb.GetBestConfigurationRequest(mode="automated"))
            assert best_auto.uid.endswith("a") and best_auto.best_job == auto.name
            await expect_error(stub.GetBestConfiguration(pb.GetBestConfigurationRequest(mode="sideways")),
                               grpc.StatusCode.INVALID_ARGUMENT, "INVALID_MODE")
            listed = await stub.ListConfigurations(pb.ListConfigurationsRequest(mode=cpb.CONFIGURATION_MODE_MANUAL))
            assert listed.total_size == 4 and all(c.mode == cpb.CONFIGURATION_MODE_MANUAL for c in listed.configurations)
            by_uid = {c.uid: c for c in listed.configurations}
            slow = by_uid[jobs[0].configuration.hyperparameters.uid]
            assert slow.completed_jobs == 1 and slow.best_validation_loss == 10.0 and slow.best_job == jobs[0].name
            assert by_uid[saved.uid].completed_jobs == 0


async def test_compare_and_statistics(jobs_settings, make_settings):
    fake = FakeTrainer(max_runs=4, script=loss_by_learning_rate)
    async with serve(build_fake_trainer(fake), make_settings("trainer")) as (_, trainer):
        async with jobs_client(jobs_settings(trainer), datasets(), catalog) as stub:
            a = await stub.CreateJob(job_request("a", dataset=GUIDE_ID, learning_rate=1e-4, gpu_count=1))
            b = await stub.CreateJob(job_request("b", dataset=GUIDE_ID, learning_rate=5e-4, lora_r=8))
            for job in (a, b):
                await wait_for(lambda j=job: get_job(stub, j.name), in_state("completed"))
            fake.refuse = Unavailable("never mind", reason="X")  # keeps c queued
            c = await stub.CreateJob(job_request("c", dataset="dataset_small", model=TINY))

            compared = await stub.CompareJobs(pb.CompareJobsRequest(job_ids=[a.job_uid, b.name],
                                                                    metrics=["final_loss", "training_time", "gpu_hours"]))
            assert list(compared.metrics) == ["final_loss", "training_time", "gpu_hours"]
            rows = {r.job: r for r in compared.jobs}
            assert rows[a.name].metrics["gpu_hours"] == 1.0 and rows[b.name].metrics["gpu_hours"] == 0.0
            assert rows[a.name].metrics["training_time"] == 3600.0
            diffs = {d.parameter: list(d.values) for d in compared.differences}
            assert diffs == {"learning_rate": ["0.0001", "0.0005"], "lora_r": ["16", "8"]}
            everything = await stub.CompareJobs(pb.CompareJobsRequest(job_ids=[a.job_uid, b.job_uid]))
            winners = {w.metric: w.job for w in everything.best}
            assert winners["final_validation_loss"] == b.name and winners["gpu_hours"] == b.name
            assert "tokens_per_second" in everything.metrics
            await expect_error(stub.CompareJobs(pb.CompareJobsRequest(job_ids=[a.job_uid], metrics=["final_loss"])),
                               grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB_COUNT")
            await expect_error(stub.CompareJobs(pb.CompareJobsRequest(job_ids=[a.job_uid, b.job_uid], metrics=["accuracy"])),
                               grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_METRIC", "final_loss")
            await expect_error(stub.CompareJobs(pb.CompareJobsRequest(job_ids=[a.job_uid, "job_gone"])),
                               grpc.StatusCode.NOT_FOUND, "JOB_NOT_FOUND")

            stats = await stub.GetJobStatistics(pb.GetJobStatisticsRequest())
            assert stats.total_jobs == 3 and stats.queued_now == 1 and stats.success_rate == 1.0
            assert dict(stats.jobs_by_state) == {"JOB_STATE_COMPLETED": 2, "JOB_STATE_QUEUED": 1}
            assert sum(b.created for b in stats.jobs_per_hour) == 3 and sum(b.completed for b in stats.jobs_per_day) == 2
            assert stats.queue_wait_seconds.count == 2 and stats.queue_wait_seconds.max >= 0
            assert stats.popular_models[0].value == "meta-llama/Llama-3.1-8B-Instruct" or stats.popular_models[0].value == TINY
            assert {v.value: v.count for v in stats.popular_models} == {TINY: 3}
            usage = {u.parameter: {v.value: v.count for v in u.values} for u in stats.hyperparameter_choices}
            assert usage["learning_rate"] == {"0.0001": 1, "0.0005": 1, "0.0002": 1} and usage["batch_size"] == {"8": 3}
            assert stats.dataset_rows.count == 3 and stats.dataset_rows.max == 1500
            assert {v.value: v.count for v in stats.dataset_size_classes} == {"medium (1k-10k)": 2, "small (<1k)": 1}
            assert stats.gpu_hours == 1.0 and stats.training_seconds.mean == 3600.0
            window = pb.GetJobStatisticsRequest()
            window.start_time.FromSeconds(2_000_000_000)
            window.end_time.FromSeconds(1_000_000_000)
            await expect_error(stub.GetJobStatistics(window), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TIME_WINDOW")
            assert c.job_uid


async def test_the_model_check_asks_the_catalog(jobs_settings, make_settings, tmp_path):
    from services.catalog.server import build_server as build_catalog

    catalog_settings = make_settings("catalog", {"FINETUNE_CATALOG_OFFLINE": "1", "FINETUNE_CATALOG_BUILD_BUILTIN": "0",
                                                 "FINETUNE_CATALOG_HF_CACHE_DIR": str(tmp_path / "hf")})
    async with serve(build_catalog, catalog_settings) as (_, catalog_address):
        settings = dataclasses.replace(jobs_settings(), catalog_address=catalog_address)
        async with serve(functools.partial(build_server, datasets=datasets()), settings) as (_, address):
            async with grpc.aio.insecure_channel(address) as channel:
                stub = jobs_service_pb2_grpc.JobsServiceStub(channel)
                _, metadata = await expect_error(stub.CreateJob(job_request("x", model="nobody/no-such-model")),
                                                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
                assert "was not found locally or in the Hugging Face cache" in metadata["configuration.model.uid"]
                _, metadata = await expect_error(stub.CreateJob(job_request("x", model="not a model id!")),
                                                 grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
                assert "is not a valid model id" in metadata["configuration.model.uid"]
                assert (await stub.CreateJob(job_request("builtin"))).job_uid  # the catalog answers for built-ins too
                await expect_error(stub.CreateJob(job_request("typo", target_modules=["qq_proj"])), grpc.StatusCode.INVALID_ARGUMENT,
                                   "INVALID_JOB", "qq_proj not found in this model; its Linear modules are: down_proj, gate_proj")


async def test_model_ids_follow_the_one_rule_before_the_catalog_is_asked(jobs_settings):
    """`~nosuchuser` once reached the catalog, which expanded it (a 500 naming no field, and a probe of OS users)."""
    asked = []

    async def recording_catalog(model_id: str, values: dict) -> ModelCheck:
        asked.append(model_id)
        return await catalog(model_id, values)

    async with jobs_client(jobs_settings(), datasets(), recording_catalog) as stub:
        for model, phrase in (("~nosuchuser", "are not expanded"), ("../../etc/passwd", "is not a valid model id"),
                              ("/models/../etc", "must not contain '..'"), ("org/" + "m" * 3000, "has at most 512")):
            _, metadata = await expect_error(stub.CreateJob(job_request("bad model", model=model)), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
            assert phrase in metadata["configuration.model.uid"], metadata
            await expect_error(stub.ValidateConfiguration(pb.ValidateConfigurationRequest(model=model)),
                               grpc.StatusCode.INVALID_ARGUMENT, phrase=phrase)
        assert asked == []
        await expect_error(stub.ValidateConfiguration(pb.ValidateConfigurationRequest(dataset_rows=-5)),
                           grpc.StatusCode.INVALID_ARGUMENT, "INVALID_DATASET_ROWS", "must not be negative")


async def test_a_jobs_metadata_is_kept_and_bounded(jobs_settings):
    async with jobs_client(jobs_settings(), datasets(), catalog) as stub:
        request = job_request("tagged")
        request.metadata.update({"team": "support", "ticket": "x" * 512})
        request.validate_only = True
        assert dict((await stub.CreateJob(request)).metadata) == {"team": "support", "ticket": "x" * 512}
        request.metadata["ticket"] = "x" * 513
        _, metadata = await expect_error(stub.CreateJob(request), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
        assert "longer than 512" in metadata["metadata.ticket"]
        request.metadata.clear()
        request.metadata.update({f"k{i}": "v" for i in range(17)})
        _, metadata = await expect_error(stub.CreateJob(request), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JOB")
        assert "at most 16" in metadata["metadata"]
        request.metadata.clear()
        request.metadata["kept"] = "yes"
        request.validate_only = False
        created = await stub.CreateJob(request)
        assert dict((await stub.GetJob(pb.GetJobRequest(name=created.name))).metadata) == {"kept": "yes"}
