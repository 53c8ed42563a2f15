"""The official `openai` package against the whole suite (an API token set, as a team would run it): upload a
chat file, fine-tune with `method` and `suffix`, page the events while it runs, list checkpoints, wait for
`succeeded`, then stream a chat completion from `job.fine_tuned_model`; pause, resume and cancel another job;
and every error the SDK has a typed exception for. The answers are compared with the Generate RPC's."""

from __future__ import annotations

import io
import json
import time

import grpc
import openai
import pytest
from openai import OpenAI

from finetune.trainer.v1 import trainer_service_pb2 as tpb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID
from tests.suite import running_suite

pytestmark = pytest.mark.slow
TOKEN = "sdk-secret"


def chat_lines(n: int) -> bytes:
    lines = []
    for i in range(n):
        lines.append({"messages": [{"role": "system", "content": "You answer support questions."},
                                   {"role": "user", "content": f"Question {i}: how do I reset my password?"},
                                   {"role": "assistant", "content": f"Answer {i}: use the reset link."}]})
    return "\n".join(json.dumps(line) for line in lines).encode() + b"\n"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    data = tmp_path_factory.mktemp("openai-suite")
    with running_suite(data, gateway_ports=1, FINETUNE_API_TOKEN=TOKEN) as suite:
        yield suite


@pytest.fixture(scope="module")
def client(suite) -> OpenAI:
    return OpenAI(base_url=f"{suite.url}/openai/v1", api_key=TOKEN, max_retries=0, timeout=120)


def wait(client: OpenAI, job_id: str, statuses: tuple[str, ...], timeout: float = 300):
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        assert time.monotonic() < deadline, f"{job_id} is {job.status}, not {statuses}"
        time.sleep(0.5)


def test_fine_tune_through_the_sdk_then_chat_with_the_model(client, suite):
    training = client.files.create(file=("support.jsonl", io.BytesIO(chat_lines(24))), purpose="fine-tune")
    assert training.object == "file" and training.purpose == "fine-tune" and training.status == "processed"
    assert training.id in [f.id for f in client.files.list()]
    content = client.files.content(training.id).text.splitlines()
    assert json.loads(content[0]) == {"input": "You answer support questions.\n\nQuestion 0: how do I reset my password?",
                                      "output": "Answer 0: use the reset link."}
    validation = client.files.create(file=("held.jsonl", io.BytesIO(chat_lines(6))), purpose="fine-tune")

    job = client.fine_tuning.jobs.create(
        model=TINY_MODEL_ID, training_file=training.id, validation_file=validation.id, suffix="support", seed=7,
        metadata={"team": "support"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4,
                                                                         "learning_rate_multiplier": 5}}})
    assert job.object == "fine_tuning.job" and job.status in ("validating_files", "queued", "running")
    assert job.hyperparameters.n_epochs == 2 and job.hyperparameters.batch_size == 4
    assert job.hyperparameters.learning_rate_multiplier == 5 and job.seed == 7
    assert (job.training_file, job.validation_file, job.metadata) == (training.id, validation.id, {"team": "support"})
    assert client.fine_tuning.jobs.list(limit=5).data[0].id == job.id
    assert [j.id for j in client.fine_tuning.jobs.list(metadata={"team": "support"})] == [job.id]
    assert client.fine_tuning.jobs.list(metadata={"team": "other"}).data == []

    # The events while it runs: the newest page, then older ones by `after`.
    deadline = time.monotonic() + 120
    while not any(e.type == "metrics" for e in client.fine_tuning.jobs.list_events(job.id, limit=50).data):
        assert time.monotonic() < deadline, "no metrics event while the job runs"
        time.sleep(0.5)
    done = wait(client, job.id, ("succeeded", "failed"))
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model == f"ft:{TINY_MODEL_ID}:local:support:{job.id}" and done.finished_at

    first = client.fine_tuning.jobs.list_events(job.id, limit=3)
    second = client.fine_tuning.jobs.list_events(job.id, limit=3, after=first.data[-1].id)
    every = list(client.fine_tuning.jobs.list_events(job.id, limit=7))  # the SDK pages through all by `after`
    ids = [e.id for e in every]
    assert len(ids) == len(set(ids)) and ids[:6] == [e.id for e in first.data + second.data]
    steps = [e.data["step"] for e in every if e.type == "metrics"]
    assert steps == sorted(steps, reverse=True) and steps[-1] == 1 and len(steps) == len(set(steps))
    assert any(e.type == "metrics" and "valid_loss" in e.data for e in every)

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert checkpoints and checkpoints[0].step_number >= checkpoints[-1].step_number
    assert checkpoints[0].fine_tuned_model_checkpoint.startswith(done.fine_tuned_model + ":ckpt-step-")
    from_checkpoint = client.chat.completions.create(model=checkpoints[0].fine_tuned_model_checkpoint, max_tokens=8, temperature=0,
                                                     messages=[{"role": "user", "content": "Question 1: how do I reset my password?"}])
    assert from_checkpoint.choices[0].finish_reason in ("stop", "length")
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model=done.fine_tuned_model + ":ckpt-step-99999", messages=[{"role": "user", "content": "hi"}])
    assert "steps kept" in info.value.message

    assert done.fine_tuned_model in [m.id for m in client.models.list()]
    assert TINY_MODEL_ID in [m.id for m in client.models.list()]
    messages = [{"role": "system", "content": "You answer support questions."},
                {"role": "user", "content": "Question 3: how do I reset my password?"}]
    stream = client.chat.completions.create(model=done.fine_tuned_model, messages=messages, stream=True, temperature=0,
                                            max_tokens=24, stream_options={"include_usage": True})
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage.completion_tokens > 0 and chunks[-2].choices[0].finish_reason in ("stop", "length")
    whole = client.chat.completions.create(model=done.fine_tuned_model, messages=messages, temperature=0, max_tokens=24)
    assert whole.choices[0].message.content == streamed and whole.usage.total_tokens > whole.usage.completion_tokens

    # The same answer as the Generate RPC gives for the same prompt (what the chat messages become).
    with grpc.insecure_channel(f"127.0.0.1:{suite.service_ports['trainer']}") as channel:
        stub = trainer_service_pb2_grpc.TrainerServiceStub(channel)
        pieces = stub.Generate(tpb.GenerateRequest(name=f"runs/{job.id}", max_new_tokens=24,
                                                   prompt="You answer support questions.\n\nQuestion 3: how do I reset my password?"),
                               metadata=[("authorization", f"Bearer {TOKEN}")])
        assert "".join(p.text for p in pieces) == streamed

    base = client.completions.create(model=TINY_MODEL_ID, prompt="alpha", max_tokens=5, temperature=0, stop=["zz"])
    assert base.object == "text_completion" and base.usage.completion_tokens <= 5


def test_pause_resume_and_cancel_through_the_sdk(client):
    training = client.files.create(file=("long.jsonl", io.BytesIO(chat_lines(40))), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=TINY_MODEL_ID, training_file=training.id,
                                         hyperparameters={"n_epochs": 50, "batch_size": 2})
    wait(client, job.id, ("running",))
    assert client.fine_tuning.jobs.pause(job.id).status in ("paused", "running")
    assert wait(client, job.id, ("paused",)).status == "paused"
    assert client.fine_tuning.jobs.resume(job.id).status in ("running", "queued", "paused")
    wait(client, job.id, ("running",))
    client.fine_tuning.jobs.cancel(job.id)
    assert wait(client, job.id, ("cancelled",)).fine_tuned_model is None
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.pause(job.id)  # a cancelled job cannot pause


def test_every_error_is_the_sdks_typed_exception(client, suite):
    with pytest.raises(openai.AuthenticationError) as info:
        OpenAI(base_url=f"{suite.url}/openai/v1", api_key="wrong", max_retries=0).models.list()
    assert info.value.code == "invalid_api_key"
    with pytest.raises(openai.NotFoundError) as info:
        client.fine_tuning.jobs.retrieve("ftjob-nosuchjob")
    assert info.value.code == "fine_tuning_job_not_found"
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-nope")
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model=f"ft:{TINY_MODEL_ID}:local::ftjob-nosuchjob", messages=[{"role": "user", "content": "hi"}])
    assert info.value.param == "model"
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("bad.jsonl", io.BytesIO(b'{"messages": [{"role": "user", "content": "no answer"}]}\n')),
                            purpose="fine-tune")
    assert "line 1" in info.value.message and "assistant" in info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("x.jsonl", io.BytesIO(chat_lines(3))), purpose="assistants")
    assert info.value.param == "purpose"
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(model=TINY_MODEL_ID, training_file="dataset_nope")
    assert info.value.param == "training_file" and "dataset_nope" in info.value.message
    training = client.files.create(file=("e.jsonl", io.BytesIO(chat_lines(8))), purpose="fine-tune")
    for bad, param in (({"model": "../../etc/passwd"}, "model"),
                       ({"hyperparameters": {"n_epochs": 0}}, "n_epochs"),
                       ({"method": {"type": "dpo"}}, "method.type")):
        with pytest.raises(openai.BadRequestError) as info:
            client.fine_tuning.jobs.create(**({"model": TINY_MODEL_ID, "training_file": training.id} | bad))
        assert info.value.param == param, info.value.message
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=TINY_MODEL_ID, messages=[{"role": "assistant", "content": "hi"}])
    assert info.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=TINY_MODEL_ID, messages=[{"role": "user", "content": "hi"}], temperature=3)
    assert info.value.param == "temperature"
    deleted = client.files.delete(training.id)
    assert deleted.deleted and deleted.id == training.id
