"""The guide's own JSON shapes, for paths that a pure annotation mapping cannot produce.

An adapter names one RPC and two small functions: `to_request(call) -> dict` builds the request as proto
JSON (snake_case or camelCase keys) from the guide's path, query and body, and `to_json(response) -> JSON`
turns the response (already `to_json`-ed, snake_case) into the guide's shape. Guide routes are matched
before the annotation routes, so an adapter may take over an annotated path (`/api/models/search`).

A WebSocket adapter is fed by a server-streaming RPC; its `to_json(event, state)` may fold events into a
per-connection `state` and return None to send nothing. Each event has a sequence number, so a client
resumes with `?after=<seq>` (or by sending `{"after": <seq>}`) and a refreshed page loses no point.

Adapters are registered only when their RPC exists in the compiled protos (see `ADAPTERS`, `STREAMS`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.errors import ApiError, close_reason
from gateway.messages import merge_json, read_json, to_json
from gateway.routes import service_short_name
from services.common.errors import FinetuneError, InvalidArgument
from services.common.ids import parse_name

log = logging.getLogger("finetune.gateway")

RESUME_RETRIES = 3  # a stream cut by an unavailable service is resumed after its last event this often
RESUME_DELAY_S = 0.5


@dataclass(frozen=True)
class GuideCall:
    """What a guide request carried: path parameters, query parameters, JSON body (None when empty)."""

    path: Mapping[str, str]
    query: Mapping[str, str]
    body: Any = None

    def int_query(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise InvalidArgument(f"{name} must be an integer from {low} to {high}, not {raw!r}", reason="INVALID_FIELD", metadata={"field": name, "location": "query"})
        return value


@dataclass(frozen=True)
class GuideRoute:
    """`method path` answered by one unary RPC."""

    method: str
    path: str  # Starlette syntax: "/api/models/search", "/api/models/check/{model_id:path}"
    rpc: str  # full method name, "finetune.catalog.v1.CatalogService.SearchModels"
    to_request: Callable[[GuideCall], dict]
    to_json: Callable[[dict], Any]
    summary: str
    query: tuple[str, ...] = ()  # documented query parameters


@dataclass(frozen=True)
class Waiting:
    """While a stream's resource does not exist yet (NOT_FOUND), ask `rpc` whether it is coming."""

    rpc: str
    to_request: Callable[[GuideCall], dict]
    is_pending: Callable[[dict], bool]  # from the to_json-ed response: keep waiting?
    poll_s: float = 1.0


@dataclass(frozen=True)
class GuideStream:
    """A WebSocket fed by one server-streaming RPC, resumable after a sequence number."""

    path: str
    rpc: str
    to_request: Callable[[GuideCall, int | None], dict]  # the call and the last seq the client has (None: all)
    to_json: Callable[[dict, dict], Any]  # (event, per-connection state) -> message, or None to send nothing
    seq_of: Callable[[dict], int]  # the event's sequence number, from the to_json-ed response
    summary: str
    wait_while: Waiting | None = None
    query: tuple[str, ...] = field(default=("after",))


def all_methods(services) -> dict[str, MethodDescriptor]:
    return {m.full_name: m for s in services for m in s.methods}


def guide_routes(methods: Mapping[str, MethodDescriptor], adapters=None, streams=None) -> list[BaseRoute]:
    """Starlette routes for every adapter whose RPC is in `methods`; the others are logged and skipped."""
    routes: list[BaseRoute] = []
    for adapter in ADAPTERS if adapters is None else adapters:
        if adapter.rpc in methods:
            routes.append(Route(adapter.path, _unary_endpoint(adapter, methods[adapter.rpc]), methods=[adapter.method]))
        else:
            log.info("guide route %s %s waits for RPC %s", adapter.method, adapter.path, adapter.rpc)
    for stream in STREAMS if streams is None else streams:
        if stream.rpc in methods:
            routes.append(WebSocketRoute(stream.path, _stream_endpoint(stream, methods)))
        else:
            log.info("guide WebSocket %s waits for RPC %s", stream.path, stream.rpc)
    routes.append(WebSocketRoute("/{path:path}", no_such_websocket))  # last: WebSocket routes match WebSockets only
    return routes


def _rpc(method: MethodDescriptor) -> tuple[str, str, type, type]:
    service = method.containing_service
    return (
        service_short_name(service),
        f"/{service.full_name}/{method.name}",
        message_factory.GetMessageClass(method.input_type),
        message_factory.GetMessageClass(method.output_type),
    )


async def _call(conn: HTTPConnection, method: MethodDescriptor, request: dict) -> dict:
    """Calls the unary `method` with a proto-JSON request; answers the to_json-ed response."""
    service, path, request_class, response_class = _rpc(method)
    message = merge_json(request_class(), request, where="request")
    return to_json(await conn.app.state.upstreams.unary(service, path, message, response_class, conn))


def _unary_endpoint(adapter: GuideRoute, method: MethodDescriptor):
    async def endpoint(request: Request) -> JSONResponse:
        body = await read_json(request, request.app.state.max_body_bytes) if request.method in ("POST", "PUT", "PATCH") else None
        call = GuideCall(request.path_params, request.query_params, body)
        return JSONResponse(adapter.to_json(await _call(request, method, adapter.to_request(call))))

    return endpoint


def _stream_endpoint(stream: GuideStream, methods: Mapping[str, MethodDescriptor]):
    service, path, request_class, response_class = _rpc(methods[stream.rpc])
    waiting = stream.wait_while if stream.wait_while and stream.wait_while.rpc in methods else None

    async def still_pending(websocket: WebSocket, call: GuideCall) -> bool:
        if waiting is None:
            return False
        try:
            return waiting.is_pending(await _call(websocket, methods[waiting.rpc], waiting.to_request(call)))
        except (ApiError, FinetuneError):
            return False

    async def pump(websocket: WebSocket, after: int | None, state: dict) -> tuple[int, str]:
        """Relays events after `after` until the stream ends; returns the close code and reason."""
        retries = RESUME_RETRIES
        while True:
            try:
                call = GuideCall(websocket.path_params, websocket.query_params)
                message = merge_json(request_class(), stream.to_request(call, after), where="request")
                events = websocket.app.state.upstreams.server_stream(service, path, message, response_class, websocket)
                async for event in events:
                    data = to_json(event)
                    seq = stream.seq_of(data)
                    if after is not None and seq <= after:
                        continue  # already sent before a resume
                    out = stream.to_json(data, state)
                    if out is not None:
                        await websocket.send_json(out)
                    after, retries = seq, RESUME_RETRIES
                return 1000, "the stream ended"
            except ApiError as exc:
                if exc.reason == "SERVICE_UNAVAILABLE" and retries > 0:
                    retries -= 1
                    await asyncio.sleep(RESUME_DELAY_S)
                    continue
                if exc.status_code == 404 and await still_pending(websocket, call):
                    await asyncio.sleep(waiting.poll_s)  # e.g. a queued job whose run has not started yet
                    continue
                return await send_error(websocket, exc)
            except FinetuneError as exc:
                return await send_error(websocket, ApiError.from_domain(exc))

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            after = _after(websocket.query_params.get("after"))
        except InvalidArgument as exc:
            await websocket.close(*await send_error(websocket, ApiError.from_domain(exc)))
            return
        state: dict = {}
        relay = asyncio.create_task(pump(websocket, after, state))
        listen = asyncio.create_task(_next_after(websocket))
        try:
            while True:
                done, _ = await asyncio.wait({relay, listen}, return_when=asyncio.FIRST_COMPLETED)
                if relay in done:
                    await websocket.close(*relay.result())
                    return
                after = listen.result()
                if after is _GONE:
                    return
                relay.cancel()  # the client asked to (re)start after a given point
                relay = asyncio.create_task(pump(websocket, after, state))
                listen = asyncio.create_task(_next_after(websocket))
        except (WebSocketDisconnect, RuntimeError):
            return  # the client left while we were sending
        finally:
            relay.cancel()
            listen.cancel()

    return endpoint


_GONE = object()


async def send_error(websocket: WebSocket, error: ApiError) -> tuple[int, str]:
    """Sends the error's JSON body; returns the close code (the HTTP status in the app's range: 4400, 4404,
    4503...) and a close reason that says what was wrong, so even a client that reads no message sees it."""
    await websocket.send_json(error.body())
    return 4000 + error.status_code, close_reason(error)


async def no_such_websocket(websocket: WebSocket) -> None:
    """Any other WebSocket path: accepted, then closed with 4404 and a reason (refused before the handshake,
    a client would only see an HTTP 403 without one)."""
    await websocket.accept()
    message = f"no WebSocket at {websocket.url.path}; they are {', '.join(s.path for s in STREAMS)}"
    await websocket.close(*await send_error(websocket, ApiError(404, "NOT_FOUND", "ROUTE_NOT_FOUND", message)))


async def _next_after(websocket: WebSocket):
    """Waits for a client message `{"after": <seq>}`; other messages are answered with an error and ignored."""
    while True:
        try:
            message = await websocket.receive()
        except RuntimeError:
            return _GONE
        if message["type"] == "websocket.disconnect":
            return _GONE
        try:
            payload = json.loads(message.get("text") or message.get("bytes") or b"")
            return _after(payload.get("after") if isinstance(payload, dict) else None, required=True)
        except (ValueError, RecursionError, InvalidArgument):
            error = InvalidArgument('send {"after": <seq>} to resume after an event', reason="INVALID_MESSAGE")
            await websocket.send_json(ApiError.from_domain(error).body())


def _after(raw, required: bool = False) -> int | None:
    if raw is None or raw == "":
        if required:
            raise InvalidArgument("after is required", reason="INVALID_FIELD")
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = -2
    if value < -1 or isinstance(raw, bool):
        raise InvalidArgument(f"after must be an event sequence number (an integer), not {raw!r}", reason="INVALID_FIELD", metadata={"field": "after"})
    return value


# --- the guide's adapters, per service --------------------------------------------------------------
# The rest of the guide's paths (`/api/preview-csv`, `/api/datasets`, `/api/jobs/compare`,
# `/api/configurations/best`, `/api/training/*`, `/api/models/check/...`) are additional_bindings in the
# protos and need no adapter.


def _object(body: Any) -> dict:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidArgument(f"the body must be a JSON object, not {type(body).__name__}", reason="INVALID_BODY")
    return dict(body)


# catalog: the guide's model objects call the display name `name`, and search answers a bare list.
GUIDE_MODEL_KEYS = ("id", "name", "provider", "category", "parameters", "downloads", "likes", "description")


def guide_model(model: dict) -> dict:
    """A catalog Model in the guide's shape, its keys first; the resource name moves to `resource_name`."""
    out = {"id": model.get("id", ""), "name": model.get("display_name") or model.get("id", "")}
    out.update({k: model.get(k) for k in GUIDE_MODEL_KEYS[2:]})
    out.update({k: v for k, v in model.items() if k not in out and k not in ("name", "display_name")})
    out["resource_name"] = model.get("name", "")
    return out


def search_models_request(call: GuideCall) -> dict:
    request = {k: call.query[k] for k in ("query", "category", "sort") if call.query.get(k)}
    return request | {"limit": call.int_query("limit", 0, 0, 1000)}


def search_models_json(response: dict) -> list[dict]:
    return [guide_model(m) for m in response.get("models", [])]


def create_model_request(call: GuideCall) -> dict:
    """The guide posts `{"id", "name", "provider", "category"}` where `name` is the display name."""
    body = _object(call.body)
    if "name" in body and "display_name" not in body and "displayName" not in body:
        body["display_name"] = body.pop("name")
    return {"model": body}


# jobs: the guide's job body may name the model by a search result (`id`, `provider`, ...) and the guide
# reads the answer's `jobUid`; the rest of the body (camelCase `modelSaving`...) parses as it is.
def _reference(value: Any) -> Any:
    if isinstance(value, str):
        return {"uid": value}
    if isinstance(value, dict):
        return {"uid": value.get("uid") or value.get("id", ""), "name": value.get("name") or value.get("display_name", "")}
    return value  # ParseDict names the problem


def create_job_request(call: GuideCall) -> dict:
    body = _object(call.body)
    configuration = body.get("configuration")
    if isinstance(configuration, dict):
        refs = {k: _reference(configuration[k]) for k in ("model", "dataset") if k in configuration}
        body["configuration"] = configuration | refs
    return body


def create_job_json(job: dict) -> dict:
    return {"jobUid": job.get("job_uid", ""), **job}


# trainer: the guide's monitor WebSocket. A job's runs are named after the job: `runs/{job_id}`.
def _job_id(call: GuideCall) -> str:
    return parse_name(call.path["job_id"], "jobs", field="job_id")


def training_events_request(call: GuideCall, after: int | None) -> dict:
    return {"name": f"runs/{_job_id(call)}", "after_sequence": max(after or 0, 0)}


FINAL_JOB_STATES = ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")
# A queued job has no run yet: the WebSocket waits for it instead of closing with NOT_FOUND.
WAIT_FOR_QUEUED_JOB = Waiting(
    "finetune.jobs.v1.JobsService.GetJob",
    lambda call: {"name": f"jobs/{_job_id(call)}"},
    lambda job: job.get("state") not in FINAL_JOB_STATES,
)


def training_message(event: dict, state: dict) -> dict | None:
    """`{"training": {"epoch", "train_loss", "validation_loss"}, "iteration", "total", "resources"}` per step
    and per evaluation (and per state change once training has started). Resource samples are kept and go
    out with the next message; nothing is sent before the first step, so `train_loss` is always a number."""
    kind = next((k for k in ("step", "evaluation", "resources", "state") if k in event), None)
    if kind == "resources":
        state["resources"] = event["resources"]
        return None
    if kind == "step":
        step = event["step"]
        state.update(epoch=step.get("epoch", 0.0), train_loss=step.get("train_loss", 0.0), learning_rate=step.get("learning_rate", 0.0))
        state.update(iteration=step.get("step", 0), total=step.get("total_steps", 0))
    elif kind == "evaluation":
        state["validation_loss"] = event["evaluation"].get("validation_loss")
    elif kind == "state":
        state["run_state"] = event["state"].get("state", "")
    if kind is None or "train_loss" not in state:
        return None
    return {
        "seq": event.get("sequence", 0),
        "event": kind,
        "training": {
            "epoch": state["epoch"],
            "train_loss": state["train_loss"],
            "validation_loss": state.get("validation_loss"),
            "learning_rate": state["learning_rate"],
        },
        "iteration": state["iteration"],
        "total": state["total"],
        "resources": state.get("resources", {}),
        "state": state.get("run_state", "RUN_STATE_RUNNING"),
    }


ADAPTERS: list[GuideRoute] = [
    GuideRoute(
        "GET", "/api/models/search", "finetune.catalog.v1.CatalogService.SearchModels",
        search_models_request, search_models_json, "Search models (the guide's bare list)", ("query", "limit", "category", "sort"),
    ),
    GuideRoute(
        "POST", "/api/models", "finetune.catalog.v1.CatalogService.CreateModel",
        create_model_request, guide_model, "Add a model to the collection (the guide's body: id, name, provider, category)",
    ),
    GuideRoute(
        "POST", "/api/jobs", "finetune.jobs.v1.JobsService.CreateJob",
        create_job_request, create_job_json, "Create a job from the guide's body; answers the job with `jobUid`",
    ),
]
STREAMS: list[GuideStream] = [
    GuideStream(
        "/ws/training/{job_id}", "finetune.trainer.v1.TrainerService.StreamRunEvents",
        training_events_request, training_message, lambda event: int(event.get("sequence", 0)), "Live training metrics of a job's run",
        wait_while=WAIT_FOR_QUEUED_JOB,
    ),
    GuideStream(
        "/ws/jobs/{job_id}/events", "finetune.trainer.v1.TrainerService.StreamRunEvents",
        training_events_request, lambda event, state: event, lambda event: int(event.get("sequence", 0)),
        "Every event of a job's run (steps, evaluations, resources, states, alerts, logs), as RunEvent JSON",
        wait_while=WAIT_FOR_QUEUED_JOB,
    ),
]
