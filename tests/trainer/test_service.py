"""TrainerService over gRPC, in process on port 0: real runs of the tiny built-in model in worker processes."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from finetune.dataset.v1 import dataset_service_pb2 as dataset_pb, dataset_service_pb2_grpc
from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID
from services.common.db import create_engine
from services.common.errors import Unavailable
from services.common.grpc_errors import from_rpc_error
from services.common.settings import load_settings
from services.dataset.server import build_server as build_dataset_server
from services.trainer.rows import fetch_dataset_rows
from services.trainer.server import build_server
from services.trainer.store import TrainerStore
from tests.grpc_harness import running
from tests.trainer.helpers import TRAIN_ROWS, VALIDATION_ROWS

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

# Small and quick: a short final evaluation, resource samples 4 times a second, a hub that refuses connections.
ENV = {
    "FINETUNE_TRAINER_EVAL_ROWS": "2",
    "FINETUNE_TRAINER_SAMPLE_GENERATIONS": "1",
    "FINETUNE_TRAINER_EVAL_MAX_NEW_TOKENS": "4",
    "FINETUNE_TRAINER_SAMPLE_INTERVAL_SECONDS": "0.25",
    "FINETUNE_TRAINER_HUB_ENDPOINT": "http://127.0.0.1:9",
    "FINETUNE_TRAINER_NUM_THREADS": "1",  # two shared cores: a second torch thread only contends
    "FINETUNE_TRAINER_PREPARE_RETRIES": "0",  # the unreachable hub fails the run at once
}
TIMEOUT = 120


def hyper(**values) -> run_pb2.Hyperparameters:
    base = dict(batch_size=4, max_seq_length=96, learning_rate=1e-3, epochs=1, save_steps=0)
    return run_pb2.Hyperparameters(**{**base, **values})


def rows(items) -> list[pb.TrainingExample]:
    return [pb.TrainingExample(input=r["input"], output=r["output"]) for r in items]


def create_request(run_id: str = "", validation: bool = True, model: str = TINY_MODEL_ID, job_id: str = "",
                   **hyperparameters) -> pb.CreateRunRequest:
    return pb.CreateRunRequest(run_id=run_id, run=run_pb2.Run(model=model, job_id=job_id, hyperparameters=hyper(**hyperparameters)),
                               train_rows=rows(TRAIN_ROWS), validation_rows=rows(VALIDATION_ROWS) if validation else [])


class Events:
    """A run's event stream read in the background, with waits for what a test expects next."""

    def __init__(self, stub, name: str, after: int = 0):
        self.items: list[run_pb2.RunEvent] = []
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._read(stub.StreamRunEvents(pb.StreamRunEventsRequest(name=name, after_sequence=after))))

    async def _read(self, call) -> list[run_pb2.RunEvent]:
        try:
            async for event in call:
                self.items.append(event)
                self._changed.set()
        finally:
            self._changed.set()
        return self.items

    async def wait(self, predicate, start: int = 0) -> run_pb2.RunEvent:
        async def find():
            seen = start
            while True:
                for event in self.items[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.items)
                if self.task.done():
                    raise AssertionError(f"stream ended without the expected event: {[_kind(e) for e in self.items]}")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), TIMEOUT)

    async def done(self) -> list[run_pb2.RunEvent]:
        return await asyncio.wait_for(self.task, TIMEOUT)


def _kind(event) -> str:
    kind = event.WhichOneof("event")
    return f"{kind}:{run_pb2.RunState.Name(event.state.state)}" if kind == "state" else kind


def is_kind(kind: str):
    return lambda e: e.WhichOneof("event") == kind


def is_state(state: int):
    return lambda e: e.WhichOneof("event") == "state" and e.state.state == state


def assert_contiguous(events) -> None:
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))


async def rpc_error(awaitable) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await awaitable
    return info.value.code(), from_rpc_error(info.value).reason


async def worker_pid(settings, run_id: str) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        return (await TrainerStore(engine).get_run(run_id)).worker_pid
    finally:
        await engine.dispose()


async def failed_preparation(stub, request: pb.CreateRunRequest) -> tuple[str, str]:
    """CreateRun answers at once (PENDING, or FAILED already when the preparation failed that fast); the event
    history shows PENDING then FAILED: the run's (error_reason, error)."""
    run = await stub.CreateRun(request)
    assert run.state in (run_pb2.RUN_STATE_PENDING, run_pb2.RUN_STATE_FAILED)
    events = await Events(stub, run.name).done()
    assert [_kind(e) for e in events if e.WhichOneof("event") == "state"] == ["state:RUN_STATE_PENDING", "state:RUN_STATE_FAILED"]
    done = await stub.GetRun(pb.GetRunRequest(name=run.name))
    assert done.state == run_pb2.RUN_STATE_FAILED and done.attempts == 0
    return done.error_reason, done.error


def _csv(items) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["input", "output"])
    writer.writeheader()
    writer.writerows({"input": r["input"], "output": r["output"]} for r in items)
    return out.getvalue().encode()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dataset(tmp_path_factory):
    """A dataset service in process holding TRAIN_ROWS with VALIDATION_ROWS as its validation split."""
    settings = load_settings("dataset", {}, port=0, data_dir=tmp_path_factory.mktemp("dataset-data"))
    host, port = build_dataset_server(settings)
    await host.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)

        def upload():
            yield dataset_pb.UploadDatasetRequest(metadata=dataset_pb.UploadMetadata(filename="rows.csv", validation_filename="val.csv"))
            yield dataset_pb.UploadDatasetRequest(chunk=_csv(TRAIN_ROWS))
            yield dataset_pb.UploadDatasetRequest(validation_chunk=_csv(VALIDATION_ROWS))

        saved = await stub.UploadDataset(upload())
    yield f"127.0.0.1:{port}", saved.name
    await host.stop(0)


@pytest.fixture(scope="module")
def settings(tmp_path_factory, dataset):
    return load_settings("trainer", ENV, port=0, data_dir=tmp_path_factory.mktemp("trainer-data"), dataset_address=dataset[0])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stub(settings):
    async with running(build_server, settings) as channel:
        yield trainer_service_pb2_grpc.TrainerServiceStub(channel)


async def test_a_run_streams_every_event_once_to_each_subscriber_and_answers_the_monitoring_reads(stub, dataset):
    run = await stub.CreateRun(pb.CreateRunRequest(run_id="first", run=run_pb2.Run(
        model=TINY_MODEL_ID, job_id="job-7", dataset=dataset[1], hyperparameters=hyper(max_steps=6, save_steps=3))))
    assert run.name == "runs/first" and run.state in (run_pb2.RUN_STATE_PENDING, run_pb2.RUN_STATE_RUNNING)
    subscribers = [Events(stub, run.name) for _ in range(3)]
    streams = [await s.done() for s in subscribers]

    events = streams[0]
    assert_contiguous(events)
    assert all(list(s) == list(events) for s in streams)
    kinds = [_kind(e) for e in events]
    assert kinds[:3] == ["state:RUN_STATE_PENDING", "log", "state:RUN_STATE_RUNNING"] and kinds[-1] == "state:RUN_STATE_COMPLETED"
    assert events[1].log.message.startswith("prepared: model ") and "48 training and 8 validation rows" in events[1].log.message
    steps = [e.step for e in events if e.WhichOneof("event") == "step"]
    assert [s.step for s in steps] == [1, 2, 3, 4, 5, 6] and steps[-1].percent == 100 and steps[-1].total_steps == 6
    assert all(s.train_loss > 0 and s.learning_rate > 0 and s.tokens_per_second > 0 for s in steps)
    assert [e.checkpoint.step for e in events if e.WhichOneof("event") == "checkpoint"] == [3, 6]
    assert any(e.evaluation.perplexity > 1 for e in events if e.WhichOneof("event") == "evaluation")
    samples = [e.resources for e in events if e.WhichOneof("event") == "resources"]
    assert samples and all(s.memory_total_bytes > 0 for s in samples) and max(s.process_rss_bytes for s in samples) > 0

    # Reconnecting with the last sequence seen gives exactly the later events.
    k = len(events) // 2
    assert list(await Events(stub, run.name, after=k).done()) == list(events[k:])

    done = await stub.GetRun(pb.GetRunRequest(name=run.name))
    assert done.state == run_pb2.RUN_STATE_COMPLETED and done.attempts == 1 and done.last_sequence == len(events)
    assert done.progress.step == 6 and done.progress.checkpoint_step == 6 and done.progress.HasField("best_validation_loss")
    assert Path(done.output_dir, "adapter").is_dir() and done.hyperparameters.max_steps == 6 and done.dataset == dataset[1]

    summary = await stub.GetTrainingSummary(pb.GetTrainingSummaryRequest())
    assert (summary.run, summary.state, summary.progress.step) == ("runs/first", run_pb2.RUN_STATE_COMPLETED, 6)
    status = await stub.GetTrainingStatus(pb.GetTrainingStatusRequest(job_id="job-7"))
    assert status.run == "runs/first" and status.progress.percent == 100
    metrics = await stub.GetRunMetrics(pb.GetRunMetricsRequest(name="runs/first/metrics"))
    assert metrics.name == "runs/first/metrics" and metrics.last_sequence == len(events)
    assert list(metrics.steps.steps) == [1, 2, 3, 4, 5, 6] and list(metrics.steps.train_losses) == [s.train_loss for s in steps]
    assert list(metrics.steps.grad_norms) == [s.grad_norm for s in steps] and len(metrics.steps.times) == 6
    evaluations = [e.evaluation for e in events if e.WhichOneof("event") == "evaluation"]
    assert list(metrics.evaluations.validation_losses) == [e.validation_loss for e in evaluations]
    assert list(metrics.resources.cpu_percents) == [s.cpu_percent for s in samples] and metrics.latest_resources == samples[-1]
    assert list(metrics.notices) == [e for e in events if e.WhichOneof("event") not in ("step", "evaluation", "resources")]
    losses = await stub.GetLossHistory(pb.GetLossHistoryRequest(last_n=4))
    assert [p.step for p in losses.losses] == [3, 4, 5, 6] and losses.losses[-1].HasField("validation_loss")
    resources = await stub.GetCurrentResources(pb.GetCurrentResourcesRequest())
    assert resources.memory_total_bytes > 0 and resources.cpu_count > 0 and all(g.memory_total_bytes > 0 for g in resources.gpus)
    listed = await stub.ListRuns(pb.ListRunsRequest(job_id="job-7"))
    assert [r.name for r in listed.runs] == ["runs/first"]

    listed_files = (await stub.ListRunArtifacts(pb.ListRunArtifactsRequest(parent=run.name))).artifacts
    by_path = {a.path: a for a in listed_files}
    assert {"metrics.json", "adapter/adapter_config.json", "train.log"} <= set(by_path)
    assert by_path["metrics.json"].name == "runs/first/artifacts/metrics.json" and by_path["metrics.json"].media_type == "application/json"
    parts = [r async for r in stub.ReadRunArtifact(pb.ReadRunArtifactRequest(name="runs/first/artifacts/metrics.json"))]
    assert parts[0].artifact.size_bytes == by_path["metrics.json"].size_bytes
    assert b"".join(p.chunk for p in parts[1:]) == Path(done.output_dir, "metrics.json").read_bytes()
    for bad, code in (("runs/first/artifacts/../run.json", grpc.StatusCode.INVALID_ARGUMENT),
                      ("runs/first/artifacts/nothing.txt", grpc.StatusCode.NOT_FOUND)):
        assert (await rpc_error(anext(aiter(stub.ReadRunArtifact(pb.ReadRunArtifactRequest(name=bad))))))[0] == code

    pieces = [r async for r in stub.Generate(pb.GenerateRequest(name=run.name, prompt="alpha bravo", max_new_tokens=5))]
    assert pieces[-1].done and len("".join(p.text for p in pieces)) > 0
    last = pieces[-1]
    assert last.prompt_tokens > len("alpha bravo") and (last.completion_tokens == 5) == (last.finish_reason == "length")
    diagnosis = await stub.DiagnoseRun(pb.DiagnoseRunRequest(name=run.name))
    assert diagnosis.summary and diagnosis.findings[0].code


async def generated(stub, **fields) -> tuple[str, pb.GenerateResponse]:
    pieces = [r async for r in stub.Generate(pb.GenerateRequest(**fields))]
    return "".join(p.text for p in pieces), pieces[-1]


async def test_a_base_model_answers_without_a_run_with_counts_seed_and_top_p(stub):
    """Generate by model id (what the OpenAI layer uses for a base model): counts on the last message, a seed
    that reproduces a sampled answer, nucleus sampling; the one model-id rule for what may be loaded."""
    text, last = await generated(stub, model=TINY_MODEL_ID, prompt="alpha bravo", max_new_tokens=6)
    assert last.done and last.prompt_tokens > 0 and last.completion_tokens <= 6 and last.finish_reason in ("stop", "length")
    assert (last.completion_tokens == 6) == (last.finish_reason == "length")
    sampled = [await generated(stub, model=TINY_MODEL_ID, prompt="alpha", max_new_tokens=8, temperature=1.0, seed=7, top_p=0.9)
               for _ in range(2)]
    assert sampled[0][0] == sampled[1][0]
    for fields, reason in (({"model": "../../etc", "prompt": "x"}, "INVALID_MODEL_ID"),
                           ({"model": "/etc", "prompt": "x"}, "MODEL_PATH_NOT_ALLOWED"),
                           ({"model": TINY_MODEL_ID, "name": "runs/first", "prompt": "x"}, "NAME_AND_MODEL"),
                           ({"model": TINY_MODEL_ID, "prompt": "x", "top_p": 1.5}, "INVALID_TOP_P")):
        code, got = await rpc_error(stub.Generate(pb.GenerateRequest(**fields)).read())
        assert code == grpc.StatusCode.INVALID_ARGUMENT and got == reason, (fields, got)


async def test_control_pause_resume_learning_rate_checkpoint_cancel_and_capacity(stub):
    run = await stub.CreateRun(create_request("controlled", validation=False, epochs=1000, scheduler="constant"))
    events = Events(stub, run.name)
    await events.wait(is_kind("step"))

    paused = await stub.PauseRun(pb.PauseRunRequest(name=run.name))
    assert paused.state == run_pb2.RUN_STATE_PAUSED
    assert (await stub.PauseRun(pb.PauseRunRequest(name=run.name))).state == run_pb2.RUN_STATE_PAUSED  # idempotent
    capacity = await stub.GetCapacity(pb.GetCapacityRequest())
    assert (capacity.active_runs, capacity.max_concurrent_runs) == (1, 1)
    assert await rpc_error(stub.CreateRun(create_request(max_steps=2))) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TRAINER_AT_CAPACITY")

    step = (await stub.GetRun(pb.GetRunRequest(name=run.name))).progress.step
    await asyncio.sleep(0.3)
    assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).progress.step == step  # no steps while paused

    await stub.SetLearningRate(pb.SetLearningRateRequest(name=run.name, learning_rate=0.000777))
    mark = len(events.items)
    resumed = await stub.ResumeRun(pb.ResumeRunRequest(name=run.name))
    assert resumed.state == run_pb2.RUN_STATE_RUNNING
    assert (await stub.ResumeRun(pb.ResumeRunRequest(name=run.name))).state == run_pb2.RUN_STATE_RUNNING
    after = await events.wait(is_kind("step"), start=mark)
    assert after.step.learning_rate == pytest.approx(0.000777)

    await stub.SaveCheckpoint(pb.SaveCheckpointRequest(name=run.name))
    await events.wait(is_kind("checkpoint"), start=mark)
    await stub.CancelRun(pb.CancelRunRequest(name=run.name))
    final = (await events.done())[-1]
    assert final.state.state == run_pb2.RUN_STATE_CANCELLED
    assert_contiguous(events.items)
    assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).state == run_pb2.RUN_STATE_CANCELLED
    assert await rpc_error(stub.ResumeRun(pb.ResumeRunRequest(name=run.name))) == (grpc.StatusCode.FAILED_PRECONDITION, "RUN_STATE_CONFLICT")
    assert (await stub.GetCapacity(pb.GetCapacityRequest())).active_runs == 0


async def test_bad_requests_get_the_right_codes_never_internal(stub):
    INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
    assert await rpc_error(stub.GetRun(pb.GetRunRequest(name="runs/nope"))) == (NOT_FOUND, "RUN_NOT_FOUND")
    assert await rpc_error(stub.GetRun(pb.GetRunRequest(name="runs/Bad Name"))) == (INVALID, "INVALID_NAME")
    assert await rpc_error(stub.PauseRun(pb.PauseRunRequest(name="runs/nope"))) == (NOT_FOUND, "RUN_NOT_FOUND")
    assert (await rpc_error(Events(stub, "runs/nope").task))[0] == NOT_FOUND
    assert await rpc_error(stub.CreateRun(create_request(learning_rate=5.0))) == (INVALID, "INVALID_TRAINING_CONFIG")
    assert await rpc_error(stub.CreateRun(create_request(model=" "))) == (INVALID, "MODEL_REQUIRED")
    no_rows = pb.CreateRunRequest(run=run_pb2.Run(model=TINY_MODEL_ID))
    assert await rpc_error(stub.CreateRun(no_rows)) == (INVALID, "ROWS_REQUIRED")
    # What only the preparation finds ends the run FAILED with the reason, after CreateRun has answered PENDING.
    assert (await failed_preparation(stub, create_request(target_modules=["qq_proj"])))[0] == "INVALID_TRAINING_CONFIG"
    assert (await failed_preparation(stub, create_request(model="/no/such/model")))[0] == "MODEL_NOT_FOUND"
    reason, error = await failed_preparation(stub, create_request(model="someone/some-model"))
    assert reason == "HUB_UNAVAILABLE" and "hub cannot be reached" in error
    missing = pb.CreateRunRequest(run=run_pb2.Run(model=TINY_MODEL_ID, dataset="datasets/nope"))
    assert (await failed_preparation(stub, missing))[0] == "DATASET_NOT_FOUND"
    with pytest.raises(Unavailable):
        await fetch_dataset_rows("127.0.0.1:9", "datasets/nope")
    assert await rpc_error(stub.CreateRun(create_request("first"))) == (grpc.StatusCode.ALREADY_EXISTS, "RUN_EXISTS")
    assert await rpc_error(stub.GetLossHistory(pb.GetLossHistoryRequest(last_n=-1))) == (INVALID, "INVALID_LAST_N")
    assert await rpc_error(stub.GetLossHistory(pb.GetLossHistoryRequest(last_n=10_001))) == (INVALID, "INVALID_LAST_N")
    assert await rpc_error(stub.GetTrainingStatus(pb.GetTrainingStatusRequest(job_id="job-unknown"))) == (NOT_FOUND, "RUN_NOT_FOUND")
    cancelled = "runs/controlled"
    assert await rpc_error(stub.Generate(pb.GenerateRequest(name=cancelled, prompt="hi")).read()) == (
        grpc.StatusCode.FAILED_PRECONDITION, "RUN_NOT_COMPLETED")
    assert await rpc_error(stub.StopRunEarly(pb.StopRunEarlyRequest(name=cancelled))) == (
        grpc.StatusCode.FAILED_PRECONDITION, "RUN_STATE_CONFLICT")
    assert (await stub.GetCapacity(pb.GetCapacityRequest())).active_runs == 0  # failed runs hold no slot


async def test_a_worker_killed_with_sigkill_is_relaunched_and_resumes_from_its_checkpoint(stub, settings):
    run = await stub.CreateRun(create_request("crashy", validation=False, max_steps=12, save_steps=2))
    events = Events(stub, run.name)
    checkpoint = await events.wait(is_kind("checkpoint"))
    await stub.PauseRun(pb.PauseRunRequest(name=run.name))  # holds the run mid-way, deterministically
    os.kill(await worker_pid(settings, "crashy"), signal.SIGKILL)

    relaunched = await events.wait(lambda e: is_state(run_pb2.RUN_STATE_RUNNING)(e) and e.state.attempt == 2)
    assert "resuming from checkpoint-" in relaunched.state.message
    await events.wait(is_state(run_pb2.RUN_STATE_PAUSED), start=events.items.index(relaunched))  # the pause is kept
    await stub.ResumeRun(pb.ResumeRunRequest(name=run.name))
    items = await events.done()

    assert_contiguous(items)
    assert items[-1].state.state == run_pb2.RUN_STATE_COMPLETED
    after = [e.step.step for e in items[items.index(relaunched):] if e.WhichOneof("event") == "step"]
    resumed_from = int(relaunched.state.message.rsplit("-", 1)[1])
    assert resumed_from >= checkpoint.checkpoint.step and after == list(range(resumed_from + 1, 13))
    metrics = await stub.GetRunMetrics(pb.GetRunMetricsRequest(name=f"{run.name}/metrics"))
    assert list(metrics.steps.steps) == list(range(1, 13))  # the steps trained twice appear once, as retrained
    assert (await stub.GetRun(pb.GetRunRequest(name=run.name))).attempts == 2
