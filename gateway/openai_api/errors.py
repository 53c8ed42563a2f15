"""Errors in the OpenAI API's shape: `{"error": {"message", "type", "param", "code"}}` with its statuses.

Every failure of the platform (a gRPC status through `gateway.errors`, a domain error raised here) keeps its
message, which names what to fix; the status is the one the official API uses for that kind of failure,
so the `openai` SDK raises the exception a user of it expects (BadRequestError, NotFoundError...).
"""

from __future__ import annotations

import functools
import logging
from typing import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.errors import ApiError
from services.common.errors import FinetuneError

log = logging.getLogger("finetune.gateway.openai")

# The official API answers a request it cannot act on with 400 (also where we would say 412 or 413).
_STATUS = {412: 400, 413: 400, 422: 400, 405: 404, 501: 404}
_TYPE = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "invalid_request_error", 409: "invalid_request_error", 429: "rate_limit_error"}


class OpenAIError(Exception):
    """A failure with OpenAI's own fields, for what only this layer checks."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    status = _STATUS.get(status, status)
    body = {"error": {"message": message, "type": _TYPE.get(status, "server_error" if status >= 500 else "invalid_request_error"),
                      "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def from_exception(exc: Exception) -> JSONResponse:
    if isinstance(exc, OpenAIError):
        return error_response(exc.status, exc.message, param=exc.param, code=exc.code)
    if isinstance(exc, FinetuneError):
        exc = ApiError.from_domain(exc)
    if isinstance(exc, ApiError):
        if exc.status_code >= 500:
            log.warning("openai api -> %d %s: %s", exc.status_code, exc.reason, exc.message)
        param = exc.metadata.get("field") or exc.metadata.get("param") or next(iter(exc.metadata), None)
        return error_response(exc.status_code, exc.message, param=param, code=exc.reason.lower(), headers=exc.headers)
    if isinstance(exc, HTTPException):
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)
    log.exception("openai api: unexpected error")
    return error_response(500, "internal error in the gateway's OpenAI API; this is a bug, please report it", code="internal")


def unauthenticated() -> JSONResponse:
    return error_response(401, "Incorrect or missing API key: send the platform's API token as the key "
                               "(Authorization: Bearer <token>)", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A route handler whose every failure answers in OpenAI's shape."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:  # noqa: BLE001 - each kind is rendered by from_exception; a bug is logged there
            return from_exception(exc)

    return wrapped
