"""`/models`, `/chat/completions` and `/completions` over the catalog and the trainer's Generate.

A model is a catalog model (a base model, answered as it is) or `ft:...:<job id>` (a completed job's trained
model). Chat messages become the prompt by `gateway.openai_api.chat.prompt_from_messages`, the rule its
training files follow, and the trainer applies the training template around it. `stream: true` answers
server-sent events ending in `data: [DONE]`. Defaults follow the official API (temperature 1, top_p 1;
`max_tokens` 16 for completions), except that a chat answer without `max_tokens` stops at 256 tokens.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from finetune.catalog.v1 import catalog_service_pb2 as cpb
from finetune.jobs.v1 import job_pb2, jobs_service_pb2 as jpb
from finetune.trainer.v1 import trainer_service_pb2 as tpb
from gateway.errors import ApiError
from gateway.openai_api.calls import json_body, number, obj, server_stream, string, unary
from gateway.openai_api.chat import prompt_from_messages
from gateway.openai_api.errors import OpenAIError, endpoint, from_exception
from gateway.openai_api.fine_tuning import OWNER, fine_tuned_model_name, job_id_of_model
from services.catalog.builtin_models import BUILTIN_MODELS

CHAT_MAX_TOKENS, COMPLETION_MAX_TOKENS, MOST_TOKENS = 256, 16, 4096


def _model_object(model_id: str, created: int, owned_by: str) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


async def _models(request: Request) -> list[dict]:
    catalog = await unary(request, "catalog", "ListModels", cpb.ListModelsRequest(page_size=1000), cpb.ListModelsResponse)
    models = [_model_object(model_id, 0, "finetune") for model_id in BUILTIN_MODELS]  # always here, built offline
    models += [_model_object(m.id, 0, m.provider or "unknown") for m in catalog.models if m.id not in BUILTIN_MODELS]
    done = await unary(request, "jobs", "ListJobs", jpb.ListJobsRequest(page_size=1000, state=job_pb2.JOB_STATE_COMPLETED),
                       jpb.ListJobsResponse)
    models += [_model_object(fine_tuned_model_name(j), j.end_time.seconds, OWNER) for j in done.jobs]
    return models


@endpoint
async def list_models(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": await _models(request)})


@endpoint
async def retrieve_model(request: Request) -> JSONResponse:
    model = request.path_params["model"]
    found = next((m for m in await _models(request) if m["id"] == model), None)
    if found is None:
        raise OpenAIError(404, f"The model '{model}' does not exist", param="model", code="model_not_found")
    return JSONResponse(found)


def _generate_request(body: dict, prompt: str, default_max_tokens: int) -> tpb.GenerateRequest:
    model = string(body, "model", required=True)
    if number(body, "n", 1, 1, integer=True, default=1) != 1:
        raise OpenAIError(400, "n must be 1", param="n", code="invalid_value")
    max_tokens = number(body, "max_completion_tokens", 1, MOST_TOKENS, integer=True) or number(
        body, "max_tokens", 1, MOST_TOKENS, integer=True, default=default_max_tokens)
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop):
        raise OpenAIError(400, "stop must be a string or a list of at most 4 strings", param="stop", code="invalid_value")
    request = tpb.GenerateRequest(prompt=prompt, max_new_tokens=max_tokens, stop=stop,
                                  temperature=number(body, "temperature", 0, 2, default=1.0),
                                  top_p=number(body, "top_p", 0, 1, default=1.0))
    seed = number(body, "seed", -(2**63), 2**63 - 1, integer=True)
    if seed is not None:
        request.seed = seed
    fine_tuned = job_id_of_model(model)
    if fine_tuned:
        request.name, request.checkpoint_step = f"runs/{fine_tuned[0]}", fine_tuned[1]
    else:
        request.model = model
    return request


async def _pieces(request: Request, generate: tpb.GenerateRequest, model: str) -> AsyncIterator[tpb.GenerateResponse]:
    """Generate's messages, with a missing model in OpenAI's words."""
    try:
        async for piece in server_stream(request, "trainer", "Generate", generate, tpb.GenerateResponse):
            yield piece
    except ApiError as exc:
        if exc.status_code == 404 or exc.reason in ("INVALID_MODEL_ID", "MODEL_NOT_FOUND", "HUB_REPO_NOT_FOUND", "RUN_NOT_COMPLETED"):
            raise OpenAIError(404, f"The model '{model}' does not exist or is not ready: {exc.message}", param="model",
                              code="model_not_found") from None
        raise


def _usage(last: tpb.GenerateResponse) -> dict:
    return {"prompt_tokens": last.prompt_tokens, "completion_tokens": last.completion_tokens,
            "total_tokens": last.prompt_tokens + last.completion_tokens}


async def _answer(request: Request, body: dict, generate: tpb.GenerateRequest, *, chat: bool) -> Response:
    model = body["model"]
    answer_id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
    created = int(time.time())
    pieces = _pieces(request, generate, model)
    if body.get("stream") not in (None, True, False):
        raise OpenAIError(400, "stream must be true or false", param="stream", code="invalid_type")
    obj(body, "stream_options")
    if not body.get("stream"):
        text, last = [], tpb.GenerateResponse()
        async for piece in pieces:
            text.append(piece.text)
            last = piece
        choice = ({"index": 0, "message": {"role": "assistant", "content": "".join(text), "refusal": None}, "logprobs": None}
                  if chat else {"index": 0, "text": "".join(text), "logprobs": None})
        return JSONResponse({"id": answer_id, "object": "chat.completion" if chat else "text_completion", "created": created,
                             "model": model, "choices": [choice | {"finish_reason": last.finish_reason or "stop"}],
                             "usage": _usage(last)})
    first = await anext(pieces)  # a refusal (no such model, busy) is still an HTTP status, before the stream starts
    include_usage = obj(body, "stream_options").get("include_usage") is True
    kind = "chat.completion.chunk" if chat else "text_completion"

    def event(choices: list, usage: dict | None = None) -> bytes:
        chunk = {"id": answer_id, "object": kind, "created": created, "model": model, "choices": choices}
        if include_usage:
            chunk["usage"] = usage
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"

    def choice(text: str | None, finish: str | None, role: bool = False) -> dict:
        if not chat:
            return {"index": 0, "text": text or "", "finish_reason": finish, "logprobs": None}
        delta = ({"role": "assistant"} if role else {}) | ({"content": text} if text is not None else {})
        return {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}

    async def events() -> AsyncIterator[bytes]:
        if chat:
            yield event([choice("", None, role=True)])
        piece = first
        try:
            while True:
                if piece.done:
                    yield event([choice(None if chat else "", piece.finish_reason or "stop")])
                    if include_usage:
                        yield event([], _usage(piece))
                    break
                if piece.text:
                    yield event([choice(piece.text, None)])
                piece = await anext(pieces)
        except Exception as exc:  # noqa: BLE001 - mid-stream, the status is sent: the error goes as an event
            yield b"data: " + from_exception(exc).body + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@endpoint
async def chat_completions(request: Request) -> Response:
    body = await json_body(request)
    string(body, "model", required=True)
    if "messages" not in body:
        raise OpenAIError(400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    prompt = prompt_from_messages(body["messages"])
    return await _answer(request, body, _generate_request(body, prompt, CHAT_MAX_TOKENS), chat=True)


@endpoint
async def completions(request: Request) -> Response:
    body = await json_body(request)
    string(body, "model", required=True)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise OpenAIError(400, "prompt must be a non-empty string (one prompt per request)", param="prompt", code="invalid_value")
    return await _answer(request, body, _generate_request(body, prompt, COMPLETION_MAX_TOKENS), chat=False)


ROUTES = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{model:path}", retrieve_model, methods=["GET"]),
    Route("/chat/completions", chat_completions, methods=["POST"]),
    Route("/completions", completions, methods=["POST"]),
]
