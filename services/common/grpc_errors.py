"""Domain errors on the wire: to `google.rpc.Status` + `ErrorInfo` on the server, and back on clients.

A status travels in trailing metadata, which gRPC limits (8 KiB by default, on every client): a longer
trailer is dropped by the client and the caller sees RESOURCE_EXHAUSTED instead of the error. So a
message or metadata value that echoes what the caller sent (an id of thousands of characters) is
shortened to fit (`fit_to_trailer`), never the status code or reason.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common.errors import FinetuneError, error_class_for

ERROR_DOMAIN = "finetune.dev"
_DETAILS_KEY = "grpc-status-details-bin"
# What a status may take of the 8 KiB trailer: the message goes twice (grpc-message, percent-encoded, and
# inside the base64 status details), the metadata once; the rest is headroom for gRPC's own headers.
TRAILER_BUDGET_BYTES = 6000
MAX_METADATA_VALUE_CHARS = 256
MAX_MESSAGE_CHARS = 2000


def to_rpc_status(exc: FinetuneError) -> status_pb2.Status:
    message, metadata = fit_to_trailer(exc)
    return _status(exc, message, metadata)


def _status(exc: FinetuneError, message: str, metadata: dict[str, str]) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason=exc.reason, domain=ERROR_DOMAIN, metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=code_pb2.Code.Value(exc.grpc_code), message=message, details=[detail])


def abort_args(exc: FinetuneError) -> tuple[grpc.StatusCode, str, tuple]:
    """Arguments for `context.abort(code, details, trailing_metadata)`, sized to fit gRPC's trailer limit."""
    status = to_rpc_status(exc)
    return grpc.StatusCode[exc.grpc_code], status.message, ((_DETAILS_KEY, status.SerializeToString()),)


def encodable(text: str) -> str:
    """`text` with lone surrogates (a JSON `"\\ud800"` decodes to one; UTF-8 cannot carry them) as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, saying how much was cut, and `encodable`."""
    text = encodable(text)
    if len(text) <= limit:
        return text
    note = f"... ({len(text) - limit} more characters)"
    return text[: max(limit - len(note), 0)] + note


def fit_to_trailer(exc: FinetuneError) -> tuple[str, dict[str, str]]:
    """The error's message and metadata shortened until its status fits TRAILER_BUDGET_BYTES: each value
    to MAX_METADATA_VALUE_CHARS first, then the message, then metadata entries from the last."""
    message = shorten(exc.message, MAX_MESSAGE_CHARS)
    metadata = {shorten(k, 128): shorten(v, MAX_METADATA_VALUE_CHARS) for k, v in exc.metadata.items()}
    while _trailer_bytes(exc, message, metadata) > TRAILER_BUDGET_BYTES:
        if len(message) > 200:
            message = shorten(message, len(message) // 2)
        elif metadata:
            metadata.pop(next(reversed(metadata)))
        else:
            break
    return message, metadata


def _trailer_bytes(exc: FinetuneError, message: str, metadata: dict[str, str]) -> int:
    percent_encoded = sum(1 if 0x20 <= b < 0x7F and b != 0x25 else 3 for b in message.encode())  # grpc-message
    details = len(_status(exc, message, metadata).SerializeToString())
    return percent_encoded + 4 * -(-details // 3)  # grpc-status-details-bin travels base64-encoded


def error_info_from_metadata(trailing_metadata) -> tuple[str | None, dict[str, str]]:
    for key, value in trailing_metadata or ():
        if key == _DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info.reason, dict(info.metadata)
    return None, {}


def from_rpc_error(err: grpc.RpcError) -> FinetuneError:
    """The domain error a failed call stands for, keeping reason and metadata (used by the gateway and by
    services calling each other). An unreachable peer becomes Unavailable with its address-free message."""
    code = err.code()
    trailing = err.trailing_metadata() if hasattr(err, "trailing_metadata") else ()
    reason, metadata = error_info_from_metadata(trailing)
    cls = error_class_for(code.name, reason)
    return cls(err.details() or code.name, reason=reason or cls.default_reason, metadata=metadata)
