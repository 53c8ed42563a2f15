"""Channels to the services and generic calls on them: any RPC by its path, with serializers from descriptors."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import grpc
from starlette.requests import HTTPConnection

from gateway.errors import ApiError, upstream_error
from services.common.errors import InvalidArgument
from services.common.server import channel_options
from services.common.settings import ServiceSettings

_FORWARDED_HEADERS = ("authorization", "x-request-id")
# A service started after the gateway (or restarted) is used again within about a second, not after
# gRPC's default backoff of up to two minutes.
_RECONNECT_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.min_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1000)]


class Upstreams:
    """One channel per service, made on first use in the running event loop (aio channels belong to one
    loop); `close()` at shutdown. Calls raise `ApiError` for any failed status."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.timeout = settings.get("rpc_timeout_s", 30.0, float)
        self.stream_timeout = settings.get("upload_timeout_s", 300.0, float)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._calls: dict[tuple[str, str, str], Any] = {}

    def address(self, service: str) -> str:
        """`<service>_address` from the settings (FINETUNE_GATEWAY_<SERVICE>_ADDRESS for a service they lack)."""
        address = getattr(self.settings, f"{service}_address", None) or self.settings.extra.get(f"{service}_address")
        if not address:
            message = f"no address is configured for the {service} service: set FINETUNE_GATEWAY_{service.upper()}_ADDRESS"
            raise ApiError(503, "UNAVAILABLE", "SERVICE_NOT_CONFIGURED", message, {"service": service})
        return address

    def channel(self, service: str) -> grpc.aio.Channel:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (a test client without lifespan): the old channels are dead
            self._loop, self._channels, self._calls = loop, {}, {}
        if service not in self._channels:
            options = channel_options(self.settings.max_message_bytes) + _RECONNECT_OPTIONS
            self._channels[service] = grpc.aio.insecure_channel(self.address(service), options=options)
        return self._channels[service]

    async def close(self) -> None:
        channels, self._channels, self._calls = list(self._channels.values()), {}, {}
        for channel in channels:
            await channel.close()

    def _callable(self, kind: str, service: str, path: str, request_class, response_class):
        key = (kind, service, path)
        call = self._calls.get(key)
        if call is None:
            factory = getattr(self.channel(service), kind)
            call = factory(path, request_serializer=request_class.SerializeToString, response_deserializer=response_class.FromString)
            self._calls[key] = call
        return call

    async def unary(self, service: str, path: str, request, response_class, conn: HTTPConnection | None = None):
        call = self._callable("unary_unary", service, path, type(request), response_class)
        try:
            return await call(request, timeout=self.timeout, metadata=forwarded_metadata(conn))
        except grpc.RpcError as err:
            raise upstream_error(err, service) from None

    async def client_stream(self, service: str, path: str, requests: AsyncIterator, request_class, response_class, conn=None):
        call = self._callable("stream_unary", service, path, request_class, response_class)
        try:
            return await call(requests, timeout=self.stream_timeout, metadata=forwarded_metadata(conn))
        except grpc.RpcError as err:
            raise upstream_error(err, service) from None

    async def server_stream(self, service: str, path: str, request, response_class, conn=None, timeout: float | None = None):
        """Yields the responses; a failure before or during the stream raises ApiError."""
        call = self._callable("unary_stream", service, path, type(request), response_class)
        stream = call(request, timeout=timeout, metadata=forwarded_metadata(conn))
        try:
            async for item in stream:
                yield item
        except grpc.RpcError as err:
            raise upstream_error(err, service) from None
        finally:
            stream.cancel()


def forwarded_metadata(conn: HTTPConnection | None) -> tuple[tuple[str, str], ...]:
    """The caller's `Authorization` (the services check the same token) and request id, as gRPC metadata."""
    if conn is None:
        return ()
    pairs = tuple((name, conn.headers[name]) for name in _FORWARDED_HEADERS if name in conn.headers)
    if "authorization" not in conn.headers and conn.scope["type"] == "websocket" and conn.query_params.get("access_token"):
        pairs += (("authorization", f"Bearer {conn.query_params['access_token']}"),)
    for name, value in pairs:
        if not (value.isascii() and value.isprintable()):
            raise InvalidArgument(f"header {name!r} must be printable ASCII", reason="INVALID_HEADER", metadata={"header": name})
    return pairs
