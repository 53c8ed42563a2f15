"""The one table of domain errors: each carries its gRPC status code name, HTTP status and reason.

Domain code raises these and imports no grpc; the server maps them to `google.rpc.Status` with an
`ErrorInfo` (see `services.common.grpc_errors`), and the gateway maps them back to HTTP by reason.
"""

from __future__ import annotations

from typing import ClassVar


class FinetuneError(Exception):
    """Base of every error a person can act on. `message` tells them what to fix."""

    grpc_code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500
    default_reason: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = {k: str(v) for k, v in (metadata or {}).items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason}: {self.message})"


class InvalidArgument(FinetuneError):
    grpc_code, http_status, default_reason = "INVALID_ARGUMENT", 400, "INVALID_ARGUMENT"


class NotFound(FinetuneError):
    grpc_code, http_status, default_reason = "NOT_FOUND", 404, "NOT_FOUND"


class AlreadyExists(FinetuneError):
    grpc_code, http_status, default_reason = "ALREADY_EXISTS", 409, "ALREADY_EXISTS"


class Aborted(FinetuneError):
    """A concurrent change won; retrying may succeed."""

    grpc_code, http_status, default_reason = "ABORTED", 409, "ABORTED"


class FailedPrecondition(FinetuneError):
    """The request is valid but the resource is not in a state that allows it (e.g. cancel a finished job)."""

    grpc_code, http_status, default_reason = "FAILED_PRECONDITION", 412, "FAILED_PRECONDITION"


class PayloadTooLarge(FinetuneError):
    grpc_code, http_status, default_reason = "RESOURCE_EXHAUSTED", 413, "PAYLOAD_TOO_LARGE"


class ResourceExhausted(FinetuneError):
    """Capacity or quota: try again later."""

    grpc_code, http_status, default_reason = "RESOURCE_EXHAUSTED", 429, "RESOURCE_EXHAUSTED"


class Unauthenticated(FinetuneError):
    grpc_code, http_status, default_reason = "UNAUTHENTICATED", 401, "UNAUTHENTICATED"


class PermissionDenied(FinetuneError):
    grpc_code, http_status, default_reason = "PERMISSION_DENIED", 403, "PERMISSION_DENIED"


class Unavailable(FinetuneError):
    """A dependency (another service, the hub, the database) cannot be reached right now."""

    grpc_code, http_status, default_reason = "UNAVAILABLE", 503, "UNAVAILABLE"


class DeadlineExceeded(FinetuneError):
    grpc_code, http_status, default_reason = "DEADLINE_EXCEEDED", 504, "DEADLINE_EXCEEDED"


class Cancelled(FinetuneError):
    grpc_code, http_status, default_reason = "CANCELLED", 499, "CANCELLED"


class Internal(FinetuneError):
    """A bug: never raised for bad input."""


ERROR_CLASSES: tuple[type[FinetuneError], ...] = (
    InvalidArgument,
    NotFound,
    AlreadyExists,
    Aborted,
    FailedPrecondition,
    PayloadTooLarge,
    ResourceExhausted,
    Unauthenticated,
    PermissionDenied,
    Unavailable,
    DeadlineExceeded,
    Cancelled,
    Internal,
)

_BY_REASON = {cls.default_reason: cls for cls in ERROR_CLASSES}
# Where classes share a code, the generic one (reason == code) stands for unknown reasons.
_BY_CODE: dict[str, type[FinetuneError]] = {c.grpc_code: c for c in ERROR_CLASSES if c.default_reason == c.grpc_code}


def error_class_for(grpc_code: str, reason: str | None = None) -> type[FinetuneError]:
    """The domain class for a status seen on the wire: by reason first (PAYLOAD_TOO_LARGE), then by code."""
    if reason and reason in _BY_REASON:
        return _BY_REASON[reason]
    return _BY_CODE.get(grpc_code, Internal)


def http_status_for(grpc_code: str, reason: str | None = None) -> int:
    """HTTP status for a gRPC code name and ErrorInfo reason; specific reasons may pin their own status."""
    cls = error_class_for(grpc_code, reason)
    if cls is Internal and grpc_code != "INTERNAL":
        return {"UNKNOWN": 500, "UNIMPLEMENTED": 501, "OUT_OF_RANGE": 400, "DATA_LOSS": 500}.get(grpc_code, 500)
    return cls.http_status
