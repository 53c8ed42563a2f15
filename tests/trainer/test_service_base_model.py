"""Generate with `base_model`: the answer of the model a run started from, without its fine-tuning, in any state
once the run has been prepared; before that, FAILED_PRECONDITION naming why."""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio

from finetune.trainer.v1 import run_pb2, trainer_service_pb2 as pb, trainer_service_pb2_grpc
from services.catalog.builtin_models import TINY_MODEL_ID, builtin_model_dir
from services.common.settings import load_settings
from services.trainer.generation import generate_text, load_for_generation
from services.trainer.server import build_server
from tests.grpc_harness import running
from tests.trainer.test_service import ENV, Events, create_request, failed_preparation, is_kind, is_state, rpc_error

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
PROMPT = "alpha bravo charlie"


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings("trainer", {**ENV, "FINETUNE_TRAINER_WARM_WORKERS": "0"}, port=0,
                         data_dir=tmp_path_factory.mktemp("trainer-data"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stub(settings):
    async with running(build_server, settings) as channel:
        yield trainer_service_pb2_grpc.TrainerServiceStub(channel)


async def answer(stub, name: str, base_model: bool) -> str:
    request = pb.GenerateRequest(name=name, prompt=PROMPT, max_new_tokens=12, temperature=0.0, base_model=base_model)
    return "".join([piece.text async for piece in stub.Generate(request)])


async def test_a_running_run_answers_with_its_base_model_and_refuses_its_unfinished_one(stub, settings):
    run = await stub.CreateRun(create_request("training", validation=False, epochs=1000, scheduler="constant"))
    events = Events(stub, run.name)
    await events.wait(is_kind("step"))

    model, tokenizer = load_for_generation(str(builtin_model_dir(settings.data_dir, TINY_MODEL_ID)))
    assert await answer(stub, run.name, base_model=True) == generate_text(model, tokenizer, PROMPT, 12)
    assert await rpc_error(answer(stub, run.name, base_model=False)) == (grpc.StatusCode.FAILED_PRECONDITION, "RUN_NOT_COMPLETED")

    await stub.CancelRun(pb.CancelRunRequest(name=run.name))
    await events.wait(is_state(run_pb2.RUN_STATE_CANCELLED))
    assert await answer(stub, run.name, base_model=True) == generate_text(model, tokenizer, PROMPT, 12)


async def test_a_run_never_prepared_has_no_base_model_to_ask(stub, tmp_path):
    reason, _ = await failed_preparation(stub, create_request("no-model", model=str(tmp_path / "missing")))
    assert reason
    assert await rpc_error(answer(stub, "runs/no-model", base_model=True)) == (grpc.StatusCode.FAILED_PRECONDITION, "RUN_NOT_PREPARED")
