"""Channels to the services and generic calls on them: any RPC by its path, with serializers from descriptors.

With several trainers (`FINETUNE_GATEWAY_TRAINER_ADDRESSES`, the list the jobs service dispatches to), a call about
one run (`runs/{id}`: its events, metrics, controls, generations) goes to the trainer the jobs service says holds
that job, so the dashboard follows every job wherever it runs. Only trainers on that configured list are ever
called: a job's record never sends the caller's token anywhere else.
"""

from __future__ import annotations

import asyncio
import time
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
_HOME_SECONDS = 5.0  # how long a run's trainer is remembered (a job moves only when its trainer is lost)
_GET_JOB = "/finetune.jobs.v1.JobsService/GetJob"
# Unary calls that compute for as long as their input asks, with `evaluate_timeout_s` (600 s) instead of
# `rpc_timeout_s` (30 s): an ensemble's evaluation generates an answer per member for up to 200 rows, one
# after another (16 rows and 2 members of the tiny model took 32 s on a 2-core AMD EPYC).
_LONG_RPCS = frozenset({"/finetune.jobs.v1.JobsService/EvaluateEnsemble"})


class Upstreams:
    """One channel per service, made on first use in the running event loop (aio channels belong to one
    loop); `close()` at shutdown. Calls raise `ApiError` for any failed status."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.timeout = settings.get("rpc_timeout_s", 30.0, float)
        self.evaluate_timeout = settings.get("evaluate_timeout_s", 600.0, float)
        self.stream_timeout = settings.get("upload_timeout_s", 300.0, float)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channels: dict[str, grpc.aio.Channel] = {}  # by address
        self._calls: dict[tuple[str, str, str], Any] = {}
        self._homes: dict[str, tuple[str, float]] = {}  # run id -> (its trainer, until when that is trusted)

    def address(self, service: str) -> str:
        """`<service>_address` from the settings (FINETUNE_GATEWAY_<SERVICE>_ADDRESS for a service they lack)."""
        address = getattr(self.settings, f"{service}_address", None) or self.settings.extra.get(f"{service}_address")
        if not address:
            message = f"no address is configured for the {service} service: set FINETUNE_GATEWAY_{service.upper()}_ADDRESS"
            raise ApiError(503, "UNAVAILABLE", "SERVICE_NOT_CONFIGURED", message, {"service": service})
        return address

    def trainer_addresses(self) -> list[str]:
        """The trainers this gateway may call: FINETUNE_GATEWAY_TRAINER_ADDRESSES, else the one trainer address."""
        raw = str(self.settings.extra.get("trainer_addresses", "") or "")
        return [a.strip() for a in raw.split(",") if a.strip()] or [self.address("trainer")]

    def channel(self, service: str) -> grpc.aio.Channel:
        return self.channel_at(self.address(service))

    def channel_at(self, address: str) -> grpc.aio.Channel:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (a test client without lifespan): the old channels are dead
            self._loop, self._channels, self._calls = loop, {}, {}
        if address not in self._channels:
            options = channel_options(self.settings.max_message_bytes) + _RECONNECT_OPTIONS
            self._channels[address] = grpc.aio.insecure_channel(address, options=options)
        return self._channels[address]

    async def route(self, service: str, request, conn: HTTPConnection | None = None) -> str:
        """The address for a call: the service's, except a call about one run with several trainers configured,
        which goes to the trainer holding the job of that id (when it is on the configured list)."""
        default = self.address(service)
        if service != "trainer":
            return default
        trainers = self.trainer_addresses()
        run_id = _run_id(request)
        if len(trainers) < 2 or not run_id:
            return default
        home = self._homes.get(run_id)
        if home and home[1] > time.monotonic():
            return home[0]
        from finetune.jobs.v1 import job_pb2, jobs_service_pb2

        try:
            job = await self.unary("jobs", _GET_JOB, jobs_service_pb2.GetJobRequest(name=f"jobs/{run_id}"), job_pb2.Job, conn)
            address = job.trainer if job.trainer in trainers else default
        except ApiError:  # not a job's run (started on a trainer directly), or the jobs service is away
            address = default
        now = time.monotonic()
        if len(self._homes) >= 1024:  # a long-lived gateway sees many runs: forget the expired ones
            self._homes = {r: h for r, h in self._homes.items() if h[1] > now}
        self._homes[run_id] = (address, now + _HOME_SECONDS)
        return address

    async def close(self) -> None:
        channels, self._channels, self._calls = list(self._channels.values()), {}, {}
        for channel in channels:
            await channel.close()

    def _callable(self, kind: str, address: str, path: str, request_class, response_class):
        key = (kind, address, path)
        call = self._calls.get(key)
        if call is None:
            factory = getattr(self.channel_at(address), kind)
            call = factory(path, request_serializer=request_class.SerializeToString, response_deserializer=response_class.FromString)
            self._calls[key] = call
        return call

    async def unary(self, service: str, path: str, request, response_class, conn: HTTPConnection | None = None):
        call = self._callable("unary_unary", await self.route(service, request, conn), path, type(request), response_class)
        try:
            timeout = self.evaluate_timeout if path in _LONG_RPCS else self.timeout
            return await call(request, timeout=timeout, metadata=forwarded_metadata(conn))
        except grpc.RpcError as err:
            raise upstream_error(err, service) from None

    async def client_stream(self, service: str, path: str, requests: AsyncIterator, request_class, response_class, conn=None):
        call = self._callable("stream_unary", self.address(service), path, request_class, response_class)
        try:
            return await call(requests, timeout=self.stream_timeout, metadata=forwarded_metadata(conn))
        except grpc.RpcError as err:
            raise upstream_error(err, service) from None

    async def server_stream(self, service: str, path: str, request, response_class, conn=None, timeout: float | None = None):
        """Yields the responses; a failure before or during the stream raises ApiError."""
        call = self._callable("unary_stream", await self.route(service, request, conn), path, type(request), response_class)
        stream = call(request, timeout=timeout, metadata=forwarded_metadata(conn))
        try:
            async for item in stream:
                yield item
        except grpc.RpcError as err:
            raise upstream_error(err, service) from None
        finally:
            stream.cancel()


def _run_id(request) -> str:
    """The run a request is about (`name` or `parent` of `runs/{id}`...), or ''."""
    for field in ("name", "parent"):
        value = getattr(request, field, "") if field in request.DESCRIPTOR.fields_by_name else ""
        if isinstance(value, str) and value.startswith("runs/"):
            return value.split("/")[1]
    return ""


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
