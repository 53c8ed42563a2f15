"""Domain errors on the wire: to `google.rpc.Status` + `ErrorInfo` on the server, and back on clients."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from services.common.errors import FinetuneError, error_class_for

ERROR_DOMAIN = "finetune.dev"
_DETAILS_KEY = "grpc-status-details-bin"


def to_rpc_status(exc: FinetuneError) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(reason=exc.reason, domain=ERROR_DOMAIN, metadata=exc.metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    return status_pb2.Status(code=code_pb2.Code.Value(exc.grpc_code), message=exc.message, details=[detail])


def abort_args(exc: FinetuneError) -> tuple[grpc.StatusCode, str, tuple]:
    """Arguments for `context.abort(code, details, trailing_metadata)`."""
    status = to_rpc_status(exc)
    return grpc.StatusCode[exc.grpc_code], exc.message, ((_DETAILS_KEY, status.SerializeToString()),)


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
