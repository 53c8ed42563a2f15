"""gRPC channels and stubs for clients (the CLI): service addresses from the environment, optional API token."""

from __future__ import annotations

import collections
import importlib
import os
from dataclasses import dataclass, field
from typing import Mapping

import grpc

from services.common.errors import FinetuneError
from services.common.grpc_errors import error_info_from_metadata, from_rpc_error
from services.common.server import channel_options
from services.common.settings import DEFAULT_PORTS, MB

TOKEN_ENV = "FINETUNE_API_TOKEN"
# A service started (or restarted) while a client waits is used again within about a second.
_RECONNECT_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1000)]


def address_env(service: str) -> str:
    """The variable naming a service's address, the same one the services read: FINETUNE_DATASET_ADDRESS."""
    return f"FINETUNE_{service.upper()}_ADDRESS"


class ApiNotBuilt(LookupError):
    """The service's generated stubs are not in this build (its proto has not landed yet)."""


class ServiceError(Exception):
    """A failed call, with the service and address it went to, the status code, reason and a message a person
    can act on. A peer that cannot be reached (no ErrorInfo) gets SERVICE_UNAVAILABLE and says how to start it."""

    def __init__(self, service: str, address: str, err: grpc.RpcError):
        self.service, self.address = service, address
        self.code = err.code().name if err.code() else "UNKNOWN"
        reason, metadata = error_info_from_metadata(err.trailing_metadata() if hasattr(err, "trailing_metadata") else ())
        details = err.details() or self.code
        if reason is None and self.code == "UNAVAILABLE":
            self.reason = "SERVICE_UNAVAILABLE"
            self.message = (
                f"cannot reach the {service} service at {address}; start the services with `make run` "
                f"(or `python -m services.launcher {service}`), or set {address_env(service)} to where it listens"
            )
        elif reason is None and self.code == "DEADLINE_EXCEEDED":
            self.reason, self.message = "UPSTREAM_TIMEOUT", f"the {service} service at {address} did not answer in time"
        elif reason is None and self.code == "UNIMPLEMENTED":
            self.reason, self.message = "UNIMPLEMENTED", f"the {service} service at {address} does not implement this call ({details})"
        else:
            domain: FinetuneError = from_rpc_error(err)
            self.reason, self.message = reason or domain.reason, domain.message
        self.metadata = dict(metadata)
        super().__init__(f"{self.message} ({self.reason})")


@dataclass(frozen=True)
class Endpoints:
    """Where each service listens, and the API token to send (empty: none)."""

    addresses: Mapping[str, str]
    token: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, token: str | None = None, **addresses: str | None) -> Endpoints:
        """Defaults, then `FINETUNE_<SERVICE>_ADDRESS` / `FINETUNE_API_TOKEN`, then the non-empty arguments."""
        env = os.environ if env is None else env
        found = {s: env.get(address_env(s)) or f"127.0.0.1:{port}" for s, port in DEFAULT_PORTS.items()}
        found.update({s: a for s, a in addresses.items() if a})
        return cls(found, token if token is not None else env.get(TOKEN_ENV, ""))

    def address(self, service: str) -> str:
        return self.addresses[service]


class _Metadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor, grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds fixed metadata (the token) to every call, whatever its shape."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]):
        self._metadata = metadata

    def _details(self, details):
        fields = {name: getattr(details, name, None) for name in _CallDetails._fields}
        fields["metadata"] = tuple(details.metadata or ()) + self._metadata
        return _CallDetails(**fields)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


def stub_class(service: str) -> type:
    """`finetune.<service>.v1.<service>_service_pb2_grpc.<X>Stub`; ApiNotBuilt when the stubs are missing."""
    module_name = f"finetune.{service}.v1.{service}_service_pb2_grpc"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ApiNotBuilt(f"the {service} service's API ({module_name}) is not part of this build") from exc
    stubs = [getattr(module, n) for n in dir(module) if n.endswith("ServiceStub")]
    if not stubs:
        raise ApiNotBuilt(f"{module_name} defines no service stub")
    return stubs[0]


@dataclass
class Clients:
    """Lazily opened channels, one per address; `stub("dataset")` gives that service's stub. Close when done."""

    endpoints: Endpoints
    max_message_bytes: int = 64 * MB
    timeout: float = 120.0  # seconds for each unary call; streams run as long as they last
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)

    def channel(self, service: str) -> grpc.Channel:
        return self.channel_at(self.endpoints.address(service))

    def channel_at(self, address: str) -> grpc.Channel:
        if address not in self._channels:
            options = channel_options(self.max_message_bytes) + _RECONNECT_OPTIONS
            channel = grpc.insecure_channel(address, options=options)
            if self.endpoints.token:
                channel = grpc.intercept_channel(channel, _Metadata((("authorization", f"Bearer {self.endpoints.token}"),)))
            self._channels[address] = channel
        return self._channels[address]

    def stub(self, service: str, address: str = "") -> _GuardedStub:
        """The service's stub (at `address` instead of its configured one, when given); failed calls raise
        ServiceError, unary calls get `timeout` unless given one."""
        address = address or self.endpoints.address(service)
        return _GuardedStub(stub_class(service)(self.channel_at(address)), service, address, self.timeout)

    def has_api(self, service: str) -> bool:
        try:
            stub_class(service)
        except ApiNotBuilt:
            return False
        return True

    def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _GuardedStub:
    """A stub whose calls raise ServiceError instead of grpc.RpcError, also while a response stream is read."""

    def __init__(self, stub, service: str, address: str, timeout: float):
        self._stub, self._service, self._address, self._timeout = stub, service, address, timeout

    def __getattr__(self, name: str):
        multicallable = getattr(self._stub, name)
        kind = type(multicallable).__name__  # _UnaryUnaryMultiCallable, _UnaryStreamMultiCallable, ...
        server_streaming = "UnaryStream" in kind or "StreamStream" in kind

        def call(*args, **kwargs):
            if "UnaryUnary" in kind:
                kwargs.setdefault("timeout", self._timeout)
            try:
                result = multicallable(*args, **kwargs)
            except grpc.RpcError as err:
                raise ServiceError(self._service, self._address, err) from None
            return _GuardedStream(result, self) if server_streaming else result

        return call


class _GuardedStream:
    """A response stream that raises ServiceError; `cancel()` ends the call."""

    def __init__(self, call, owner: _GuardedStub):
        self._call, self._owner = call, owner

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._call)
        except grpc.RpcError as err:
            raise ServiceError(self._owner._service, self._owner._address, err) from None

    def cancel(self) -> None:
        self._call.cancel()
