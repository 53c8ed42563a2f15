"""The services as this layer calls them: one function per RPC kind, by service and method name, with the
caller's credentials forwarded (`gateway.upstream`), and small readers of what OpenAI's requests carry."""

from __future__ import annotations

from typing import Any, AsyncIterator

from google.protobuf.message import Message
from starlette.requests import Request

from gateway.messages import read_json
from gateway.openai_api.errors import OpenAIError
from gateway.upstream import Upstreams

PACKAGES = {"dataset": "finetune.dataset.v1.DatasetService", "catalog": "finetune.catalog.v1.CatalogService",
            "jobs": "finetune.jobs.v1.JobsService", "trainer": "finetune.trainer.v1.TrainerService"}


def _upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams


async def unary(request: Request, service: str, method: str, message: Message, response_class) -> Any:
    return await _upstreams(request).unary(service, f"/{PACKAGES[service]}/{method}", message, response_class, request)


def server_stream(request: Request, service: str, method: str, message: Message, response_class,
                  timeout: float | None = None) -> AsyncIterator:
    return _upstreams(request).server_stream(service, f"/{PACKAGES[service]}/{method}", message, response_class, request, timeout)


async def client_stream(request: Request, service: str, method: str, messages: AsyncIterator, request_class, response_class):
    return await _upstreams(request).client_stream(service, f"/{PACKAGES[service]}/{method}", messages, request_class,
                                                   response_class, request)


async def json_body(request: Request) -> dict:
    """The request's JSON object, read as every gateway body is (`gateway.messages.read_json`: size, encoding,
    depth, surrogates); anything but an object is OpenAI's 400."""
    body = await read_json(request, request.app.state.max_body_bytes)
    if not isinstance(body, dict):
        raise OpenAIError(400, "the request body must be a JSON object", code="invalid_json")
    return body


def obj(body: dict, key: str, where: str | None = None) -> dict:
    """`body[key]` when it is an object, {} when absent or null; anything else is a 400 naming `where`."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        where = where or key
        raise OpenAIError(400, f"'{where}' must be an object, not {type(value).__name__}", param=where, code="invalid_type")
    return value


def string(body: dict, key: str, *, required: bool = False, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise OpenAIError(400, f"Missing required parameter: '{key}'.", param=key, code="missing_required_parameter")
        return default
    if not isinstance(value, str):
        raise OpenAIError(400, f"'{key}' must be a string, not {type(value).__name__}", param=key, code="invalid_type")
    return value


def number(body: dict, key: str, low: float, high: float, *, integer: bool = False, default=None):
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise OpenAIError(400, f"'{key}' must be {kind} from {low:g} to {high:g}, got {value!r}", param=key, code="invalid_value")
    return value


def page_limit(request: Request, default: int = 20, most: int = 100) -> int:
    raw = request.query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise OpenAIError(400, f"limit must be an integer from 1 to {most}, got {raw!r}", param="limit", code="invalid_value")
    return int(raw)


def after_cursor(items: list[dict], after: str | None, limit: int) -> dict:
    """OpenAI's cursor page of `items` (in the order they are listed): those after the one with id `after`."""
    start = 0
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise OpenAIError(400, f"after {after!r} is not an id in this list", param="after", code="invalid_value")
        start = ids.index(after) + 1
    page = items[start:start + limit]
    return {"object": "list", "data": page, "has_more": start + limit < len(items)}
