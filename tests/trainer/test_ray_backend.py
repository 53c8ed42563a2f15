"""The Ray backend on a real three-node Ray cluster: a job, dispatched by the jobs service, runs on the node its
resources name (not the trainer's own), streams exactly once through the worker link, trains the same losses as the local backend, sends resource
samples of its own node, takes its commands, resumes from its last checkpoint after a kill -9 of its worker or of
its actor's process and, on the other node, after its node stops (the nodes then sharing nothing with the trainer
or each other but an S3 object store); a restarted trainer re-attaches to a run that trained on meanwhile. A two-worker run is a Ray Train TorchTrainer over gloo, its ranks on two nodes, and trains
what one process does with the same global batch. The trainer's capacity is what the cluster has free: another
workload holding a node or the GPU leaves no room, and a run is refused until it is released.

The cluster and the trainer service run inside a network namespace the test makes (`tools/netns_ray.py`): node
B at 10.77.0.2 is not the trainer's own node, and the test reaches the trainer's gRPC port through a second veth
pair. Needs root, `ip` and the `ray` extra (`make test` installs it); elsewhere the tests skip, and in CI
(FINETUNE_REQUIRE_RAY) they fail.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import sys
import time
from pathlib import Path

import grpc
import psutil
import pytest

from finetune.dataset.v1 import dataset_service_pb2 as dataset_pb, dataset_service_pb2_grpc
from finetune.jobs.v1 import jobs_service_pb2_grpc
from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID
from services.common.settings import load_settings
from services.dataset.server import build_server as build_dataset_server
from services.jobs.server import build_server as build_jobs_server
from tests.jobs.helpers import FAST_ENV, builtin_only_checker, get_job, in_state, job_request, state_name, wait_for
from tests.trainer.helpers import TRAIN_ROWS, make_recipe, small_config, step_losses, tiny_model_dir
from tests.trainer.test_service import Events, assert_contiguous, create_request, is_kind, is_state, worker_pid
from tests.trainer.test_service_restart import _connect, _service_env, _serving, _start, _stop
from tools.netns_ray import HEAD, INSIDE, NODE_B, NODE_C, OUTSIDE, NetnsRayCluster, missing

pytestmark = [pytest.mark.ray, pytest.mark.slow]

STEPS = dict(max_steps=10, save_steps=2, lora_dropout=0.0, seed=7)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = missing()
    if why:
        if os.environ.get("FINETUNE_REQUIRE_RAY"):
            pytest.fail(f"the ray tests are required in CI: {why}")
        pytest.skip(why)
    with NetnsRayCluster(scratch=tmp_path_factory.mktemp("nodes")) as result:
        yield result


def _start_inside(cluster: NetnsRayCluster, env: dict, log_path: Path):
    return cluster.popen([sys.executable, "-m", "services.trainer.server"], env, log_path)


def _ray_env(cluster: NetnsRayCluster, tmp_path, **extra) -> dict:
    return {**_service_env(tmp_path), "FINETUNE_TRAINER_HOST": INSIDE, "FINETUNE_TRAINER_BACKEND": "ray",
            "FINETUNE_TRAINER_RAY_ADDRESS": cluster.address, "FINETUNE_TRAINER_LINK_HOST": HEAD,
            "FINETUNE_TRAINER_RAY_RESOURCES": json.dumps({"node_b": 1}), **extra}


async def _connect_inside(env: dict):
    channel = await _serving(f"{INSIDE}:{env['FINETUNE_TRAINER_PORT']}")
    return channel, trainer_service_pb2_grpc.TrainerServiceStub(channel)


def _losses(items) -> dict[int, float]:
    return {e.step.step: e.step.train_loss for e in items if e.WhichOneof("event") == "step"}


def _steps(items) -> list[int]:
    return [e.step.step for e in items if e.WhichOneof("event") == "step"]


@pytest.fixture(scope="module")
def local_losses(tmp_path_factory):
    """The same run on the local backend: the losses every Ray run must train."""
    import asyncio

    async def run() -> dict[int, float]:
        tmp_path = tmp_path_factory.mktemp("local")
        env = _service_env(tmp_path)
        service = _start(env, tmp_path / "service.log")
        try:
            channel, stub = await _connect(env)
            model = str(tiny_model_dir(tmp_path_factory))
            run_ = await stub.CreateRun(create_request("reference", validation=False, model=model, **STEPS))
            items = await Events(stub, run_.name).done()
            assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED
            await channel.close()
            return _losses(items)
        finally:
            _stop(service)

    return asyncio.run(run())


async def _ray_run(cluster, tmp_path_factory, tmp_path, run_id: str, **values):
    env = _ray_env(cluster, tmp_path)
    service = _start_inside(cluster, env, tmp_path / "service.log")
    channel, stub = await _connect_inside(env)
    model = str(tiny_model_dir(tmp_path_factory))
    run = await stub.CreateRun(create_request(run_id, validation=False, model=model, **{**STEPS, **values}))
    return env, service, channel, stub, run, Events(stub, run.name)


async def _upload(dataset_address: str, rows: list[dict]) -> str:
    """The rows as a dataset with no validation split (the training split keeps their order): its id."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["input", "output"])
    writer.writeheader()
    writer.writerows(rows)

    def chunks():
        yield dataset_pb.UploadDatasetRequest(metadata=dataset_pb.UploadMetadata(filename="rows.csv"))
        yield dataset_pb.UploadDatasetRequest(chunk=buffer.getvalue().encode())

    async with grpc.aio.insecure_channel(dataset_address) as channel:
        uploaded = await dataset_service_pb2_grpc.DatasetServiceStub(channel).UploadDataset(chunks())
    return uploaded.name.removeprefix("datasets/")


async def test_a_job_runs_on_the_node_it_asks_for_and_trains_the_local_backends_losses(cluster, local_losses, tmp_path):
    """The whole path: the jobs service (outside the namespace) dispatches to the trainer on Ray, whose worker on node
    B fetches the rows from the dataset service (also outside, at OUTSIDE) and trains what the local backend trains."""
    dataset_host, dataset_port = build_dataset_server(load_settings("dataset", {}, host=OUTSIDE, port=0, jobs_address="",
                                                                    data_dir=tmp_path / "dataset"))
    await dataset_host.start()
    dataset_address = f"{OUTSIDE}:{dataset_port}"
    env = _ray_env(cluster, tmp_path, FINETUNE_TRAINER_DATASET_ADDRESS=dataset_address)
    service = _start_inside(cluster, env, tmp_path / "service.log")
    jobs_host = None
    try:
        channel, stub = await _connect_inside(env)
        trainer_address = f"{INSIDE}:{env['FINETUNE_TRAINER_PORT']}"
        jobs_host, jobs_port = build_jobs_server(load_settings(
            "jobs", {**FAST_ENV, "FINETUNE_JOBS_TRAINER_ADDRESSES": trainer_address}, port=0, data_dir=tmp_path / "jobs",
            dataset_address=dataset_address), models=builtin_only_checker())
        await jobs_host.start()
        jobs_channel = grpc.aio.insecure_channel(f"127.0.0.1:{jobs_port}")
        jobs = jobs_service_pb2_grpc.JobsServiceStub(jobs_channel)
        dataset_id = await _upload(dataset_address, TRAIN_ROWS)
        job = await jobs.CreateJob(job_request("on ray", dataset=dataset_id, model=TINY_MODEL_ID, batch_size=4,
                                               max_seq_length=96, learning_rate=1e-3, epochs=1, **STEPS))
        done = await wait_for(lambda: get_job(jobs, job.name), in_state("completed", "failed"), timeout=180, what="the job's end")
        assert state_name(done.state) == "completed", done.error or (tmp_path / "service.log").read_text()[-3000:]
        assert done.trainer == trainer_address and done.placement == f"ray node {NODE_B}" and done.attempts == 1
        assert done.metrics.step == STEPS["max_steps"]

        items = await Events(stub, f"runs/{job.job_uid}").done()
        assert_contiguous(items)
        started = next(e for e in items if is_state(run_pb2.RUN_STATE_RUNNING)(e))
        assert started.state.message.endswith(f"(Ray node {NODE_B})")  # not the trainer's own node
        # The worker samples its own node (the trainer's samples cannot see it) and sends them over the link.
        samples = [e.resources for e in items if e.WhichOneof("event") == "resources"]
        assert samples and {s.node for s in samples} == {NODE_B}
        assert min(s.process_rss_bytes for s in samples) > 50 * 2**20  # the worker's own process: torch and the model
        assert _steps(items) == list(range(1, STEPS["max_steps"] + 1))  # each step once
        ours = _losses(items)
        assert ours.keys() == local_losses.keys()
        assert max(abs(ours[s] - local_losses[s]) for s in ours) <= 1e-6
        # The GPUs a run may ask for are the cluster's (node C declares one), not the trainer machine's.
        assert (await stub.GetCapacity(pb.GetCapacityRequest())).gpu_count == 1
        too_many = create_request("too-many-gpus", validation=False)
        too_many.run.gpu_count = 2
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateRun(too_many)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "asks for 2 GPU(s) but this trainer has 1" in refused.value.details()
        await jobs_channel.close()
        await channel.close()
    finally:
        if jobs_host is not None:
            await jobs_host.stop(0)
        _stop(service)
        await dataset_host.stop(0)


async def test_commands_reach_a_ray_run_pause_resume_learning_rate_checkpoint_cancel(cluster, tmp_path_factory, tmp_path):
    env, service, channel, stub, run, events = await _ray_run(cluster, tmp_path_factory, tmp_path, "steered",
                                                              max_steps=100000, save_steps=0)
    try:
        await events.wait(is_kind("step"))
        await stub.PauseRun(pb.PauseRunRequest(name=run.name))
        paused = await events.wait(is_state(run_pb2.RUN_STATE_PAUSED))
        await stub.SetLearningRate(pb.SetLearningRateRequest(name=run.name, learning_rate=3e-4))
        await stub.ResumeRun(pb.ResumeRunRequest(name=run.name))
        resumed = await events.wait(is_state(run_pb2.RUN_STATE_RUNNING), start=events.items.index(paused))
        await stub.SaveCheckpoint(pb.SaveCheckpointRequest(name=run.name))
        await events.wait(is_kind("checkpoint"), start=events.items.index(resumed))
        later = await events.wait(lambda e: e.WhichOneof("event") == "step" and e.step.learning_rate == pytest.approx(3e-4),
                                  start=events.items.index(resumed))
        assert later.step.step > 0
        await stub.CancelRun(pb.CancelRunRequest(name=run.name))
        items = await events.done()
        assert items[-1].state.state == run_pb2.RUN_STATE_CANCELLED
        assert_contiguous(items)
        await channel.close()
    finally:
        _stop(service)


async def _resumed_like_an_uninterrupted_run(events: Events, relaunched, checkpoint, local_losses) -> None:
    """The run completes, every event once; the relaunched worker trains each step after the checkpoint it resumed
    from (at least the one seen before the kill) once, with the uninterrupted local run's losses."""
    items = await events.done()
    assert_contiguous(items)
    assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED
    resumed_from = int(relaunched.state.message.split("checkpoint-")[1].split()[0])
    assert resumed_from >= checkpoint.checkpoint.step
    after = [e.step for e in items[items.index(relaunched):] if e.WhichOneof("event") == "step"]
    assert [s.step for s in after] == list(range(resumed_from + 1, STEPS["max_steps"] + 1))
    assert max(abs(s.train_loss - local_losses[s.step]) for s in after) <= 1e-6


@pytest.mark.parametrize("victim", ["worker", "actor"])
async def test_kill_9_of_the_worker_or_its_actor_resumes_from_the_last_checkpoint(cluster, local_losses, tmp_path_factory,
                                                                                   tmp_path, victim):
    env, service, channel, stub, run, events = await _ray_run(cluster, tmp_path_factory, tmp_path, f"killed-{victim}")
    try:
        checkpoint = await events.wait(is_kind("checkpoint"))
        pid = await worker_pid(load_settings("trainer", env), run.name.split("/")[1])
        process = psutil.Process(pid)
        target = process if victim == "worker" else process.parent()  # the actor's process is the worker's parent
        target.send_signal(signal.SIGKILL)
        relaunched = await events.wait(lambda e: is_state(run_pb2.RUN_STATE_RUNNING)(e) and e.state.attempt == 2)
        assert "the worker died; resuming from checkpoint-" in relaunched.state.message
        await _resumed_like_an_uninterrupted_run(events, relaunched, checkpoint, local_losses)
        await channel.close()
    finally:
        _stop(service)
        time.sleep(0.5)


async def test_a_restarted_trainer_reattaches_to_the_ray_run_which_trained_on_and_the_stream_has_no_gap(
        cluster, local_losses, tmp_path_factory, tmp_path):
    env, first, channel, stub, run, events = await _ray_run(cluster, tmp_path_factory, tmp_path, "reattached",
                                                            max_steps=36, epochs=3)
    try:
        await events.wait(is_kind("step"))
        worker = psutil.Process(await worker_pid(load_settings("trainer", env), "reattached"))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        events.task.cancel()
        await channel.close()
    finally:
        first.kill()
    assert worker.is_running(), "the worker died with the trainer"

    second = _start_inside(cluster, env, tmp_path / "second.log")
    try:
        channel, stub = await _connect_inside(env)
        items = await Events(stub, run.name).done()
        assert_contiguous(items)
        assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED
        assert _steps(items) == list(range(1, 37))  # every step once, those trained while no trainer listened too
        assert any(e.WhichOneof("event") == "log" and "re-attached to the run's worker" in e.log.message for e in items)
        assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).attempts == 1  # never relaunched
        await channel.close()
    finally:
        _stop(second)


async def _capacity(stub) -> tuple:
    capacity = await stub.GetCapacity(pb.GetCapacityRequest())
    return capacity.backend, capacity.gpu_count, capacity.free_gpus, capacity.free_runs


async def test_a_two_worker_run_waits_for_room_on_the_cluster_then_trains_on_gloo_what_one_process_does(
        cluster, tmp_path_factory, tmp_path):
    """Each rank asks for a CPU and a `worker_node` (one on node B, one on node C). While other Ray workloads hold
    those nodes and the GPU, the trainer's capacity says so and the run is refused; once they are released, its
    ranks train on two nodes, each with its shard of every step's batch of 2 x 2, and take the steps one process
    takes with batches of 4."""
    common = dict(max_steps=4, save_steps=2, lora_dropout=0.0, seed=7)
    env = {**_ray_env(cluster, tmp_path, FINETUNE_TRAINER_MAX_CONCURRENT_RUNS="4"),
           "FINETUNE_TRAINER_RAY_RESOURCES": json.dumps({"worker_node": 1})}
    service = _start_inside(cluster, env, tmp_path / "service.log")
    try:
        channel, stub = await _connect_inside(env)
        model = tiny_model_dir(tmp_path_factory)
        request = create_request("ddp", validation=False, model=str(model), batch_size=2, **common)
        request.run.workers = 2
        assert await _capacity(stub) == ("ray", 1, 1, 2)  # node C's GPU; a run's worker fits on node B and on node C
        cluster.hold({"on-b": {"CPU": 1, "node_b": 1}, "on-gpu": {"GPU": 1}})  # other workloads take node B and the GPU
        try:
            assert await _capacity(stub) == ("ray", 1, 0, 1)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CreateRun(request)  # one node has room, the run needs two
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "the Ray cluster cannot place the run now" in refused.value.details()
            assert "room for 1 such worker(s)" in refused.value.details()
        finally:
            cluster.release("on-b", "on-gpu")
        deadline = time.monotonic() + 20
        while await _capacity(stub) != ("ray", 1, 1, 2):  # Ray frees a killed actor's resources shortly after
            assert time.monotonic() < deadline, await _capacity(stub)
            await asyncio.sleep(0.2)

        run = await stub.CreateRun(request)
        items = await Events(stub, run.name).done()
        assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED, (tmp_path / "service.log").read_text()[-3000:]
        assert_contiguous(items)
        started = next(e for e in items if is_state(run_pb2.RUN_STATE_RUNNING)(e))
        assert "driving 2 Ray Train workers" in started.state.message
        assert any(e.WhichOneof("event") == "log" and "(world size 2)" in e.log.message for e in items)
        assert [e.checkpoint.step for e in items if e.WhichOneof("event") == "checkpoint"] == [2, 4]
        await channel.close()
    finally:
        _stop(service)
    single: list[dict] = []
    recipe = make_recipe(model, tmp_path / "single", small_config(batch_size=4, **common), single, validation=False)
    recipe.setup()
    recipe.train()
    ours, reference = _losses(items), step_losses(single)
    assert ours.keys() == reference.keys() == {1, 2, 3, 4}
    assert max(abs(ours[s] - reference[s]) for s in ours) <= 1e-5


async def test_a_run_whose_node_stops_resumes_on_another_node_from_the_object_store(cluster, local_losses,
                                                                                    tmp_path_factory, tmp_path):
    """Last in this module: it stops one of the two worker nodes for good. The nodes share no folder with the
    trainer or with each other, only an S3 object store: each worker stages the run from it into a folder of its
    node, uploads its checkpoints there, and the worker on the other node resumes from the one uploaded last."""
    env = {**_ray_env(cluster, tmp_path), "FINETUNE_TRAINER_RAY_RESOURCES": json.dumps({"worker_node": 1}),
           "FINETUNE_TRAINER_STORAGE_URL": cluster.object_store()}
    service = _start_inside(cluster, env, tmp_path / "service.log")
    try:
        channel, stub = await _connect_inside(env)
        model = str(tiny_model_dir(tmp_path_factory))
        run = await stub.CreateRun(create_request("node-lost", validation=False, model=model, **STEPS))
        events = Events(stub, run.name)
        started = await events.wait(is_state(run_pb2.RUN_STATE_RUNNING))
        first_node = started.state.message.rsplit("Ray node ", 1)[1].rstrip(")")
        assert first_node in (NODE_B, NODE_C)
        checkpoint = await events.wait(is_kind("checkpoint"))
        assert checkpoint.checkpoint.path.startswith(str(cluster.node_scratch(first_node)))  # the node's own folder
        assert cluster.stop_node(first_node) == 1
        relaunched = await events.wait(lambda e: is_state(run_pb2.RUN_STATE_RUNNING)(e) and e.state.attempt == 2)
        second_node = ({NODE_B, NODE_C} - {first_node}).pop()
        assert relaunched.state.message.endswith(f"(Ray node {second_node})")
        await _resumed_like_an_uninterrupted_run(events, relaunched, checkpoint, local_losses)
        resumed = [e for e in events.items if e.WhichOneof("event") == "checkpoint"][-1]
        assert resumed.checkpoint.path.startswith(str(cluster.node_scratch(second_node)))
        # The trainer fetched what the workers made into its own run folder: the artifacts, the last checkpoint.
        run_dir = tmp_path / "trainer" / "runs" / "node-lost"
        assert (run_dir / "artifacts" / "adapter" / "adapter_model.safetensors").is_file()
        assert (run_dir / "checkpoints" / f"checkpoint-{STEPS['max_steps']}" / "trainer_state.json").is_file()
        assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).placement == f"ray node {second_node}"
        await channel.close()
    finally:
        _stop(service)
