"""Errors as JSON: gRPC statuses and domain errors to HTTP through the shared table, one body shape for all.

Every error answers `{"error": {"code": "NOT_FOUND", "reason": "DATASET_NOT_FOUND", "message": ..., "metadata": {...}}}`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import grpc
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from services.common.errors import FinetuneError, http_status_for
from services.common.grpc_errors import encodable, error_info_from_metadata, from_rpc_error

log = logging.getLogger("finetune.gateway")

# For errors the router raises itself (no route, wrong method): the gRPC code a client would have seen.
_CODE_FOR_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    413: "RESOURCE_EXHAUSTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(HTTPException):
    """An HTTP error carrying the gRPC code name, the UPPER_SNAKE reason and metadata of the JSON body."""

    def __init__(self, status_code: int, code: str, reason: str, message: str, metadata: dict[str, str] | None = None, headers=None):
        if status_code >= 500:
            # The connection may be in a state the server cannot vouch for (uvicorn closes it after an
            # exception); saying so makes a keep-alive client open a new one instead of being reset.
            headers = {**(headers or {}), "Connection": "close"}
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code, self.reason, self.message = code, reason, encodable(message)
        self.metadata = {encodable(str(k)): encodable(str(v)) for k, v in (metadata or {}).items()}

    @classmethod
    def from_domain(cls, exc: FinetuneError, headers=None) -> ApiError:
        return cls(http_status_for(exc.grpc_code, exc.reason), exc.grpc_code, exc.reason, exc.message, exc.metadata, headers)

    def body(self) -> dict:
        return {"error": {"code": self.code, "reason": self.reason, "message": self.message, "metadata": self.metadata}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


MAX_CLOSE_REASON_BYTES = 123  # RFC 6455: a close frame's payload is 125 bytes, 2 of them the code


def close_reason(error: ApiError) -> str:
    """A WebSocket close reason for `error`: `REASON: message`, cut to fit a close frame."""
    raw = f"{error.reason}: {error.message}".encode("utf-8")
    if len(raw) <= MAX_CLOSE_REASON_BYTES:
        return raw.decode("utf-8")
    return raw[: MAX_CLOSE_REASON_BYTES - 3].decode("utf-8", "ignore") + "..."


def upstream_error(err: grpc.RpcError, service: str) -> ApiError:
    """A failed call to `service` as HTTP. Reason and metadata come from the server's ErrorInfo; a status
    without one (the channel's own: peer down, deadline) gets a reason and a message naming the service."""
    code = err.code().name
    reason, _ = error_info_from_metadata(err.trailing_metadata() if hasattr(err, "trailing_metadata") else ())
    exc = from_rpc_error(err)
    if reason is None and code == "UNAVAILABLE":
        return ApiError(503, code, "SERVICE_UNAVAILABLE", f"the {service} service is unavailable: {err.details()}", {"service": service})
    if reason is None and code == "DEADLINE_EXCEEDED":
        return ApiError(504, code, "UPSTREAM_TIMEOUT", f"the {service} service did not answer in time", {"service": service})
    return ApiError(http_status_for(code, reason), code, reason or code, exc.message, exc.metadata)


async def api_error_handler(conn: HTTPConnection, exc: Exception):
    """Renders ApiError, domain errors and the router's own HTTPExceptions (404, 405) in the one shape."""
    if isinstance(exc, FinetuneError):
        exc = ApiError.from_domain(exc)
    if not isinstance(exc, ApiError):
        assert isinstance(exc, HTTPException)
        exc = _from_http_exception(conn, exc)
    if exc.status_code >= 500:
        log.warning("%s %s -> %d %s: %s", getattr(conn, "method", "WS"), conn.url.path, exc.status_code, exc.reason, exc.message)
    return exc.response()


def _from_http_exception(conn: HTTPConnection, exc: HTTPException) -> ApiError:
    method = conn.scope.get("method", "GET")
    if exc.status_code == 404:
        message = f"no route for {method} {conn.url.path}; the routes are listed at /docs"
        return ApiError(404, "NOT_FOUND", "ROUTE_NOT_FOUND", message, headers=exc.headers)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{method} is not allowed on {conn.url.path}; allowed: {allowed}"
        return ApiError(405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED", message, headers=exc.headers)
    code = _CODE_FOR_STATUS.get(exc.status_code, "UNKNOWN")
    reason = HTTPStatus(exc.status_code).name if exc.status_code in HTTPStatus._value2member_map_ else code
    return ApiError(exc.status_code, code, reason, str(exc.detail), headers=exc.headers)


async def internal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback by Starlette; the client gets the shape, not the trace."""
    message = "internal error in the gateway; this is a bug, please report it"
    return ApiError(500, "INTERNAL", "INTERNAL", message).response()


EXCEPTION_HANDLERS = {
    FinetuneError: api_error_handler,
    HTTPException: api_error_handler,
    Exception: internal_error_handler,
}
