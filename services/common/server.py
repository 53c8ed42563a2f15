"""Server start-up shared by every service: interceptors, health, reflection, sizes, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
import time
import uuid
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.common.errors import FinetuneError, InvalidArgument, Unauthenticated
from services.common.grpc_errors import abort_args
from services.common.request_checks import undefined_enum_error
from services.common.settings import ServiceSettings
from services.common.tokens import bearer_matches

log = logging.getLogger("finetune.server")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_UNAUTHENTICATED_OK = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def channel_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ]


class _ErrorsAndLogging(grpc.aio.ServerInterceptor):
    """Maps domain errors to statuses with ErrorInfo, gives each call a request id, logs each call once,
    and checks the optional API token. One place, so handlers hold none of this."""

    def __init__(self, api_token: str):
        self._api_token = api_token

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None:
            return None
        method = details.method
        metadata = dict(details.invocation_metadata or ())
        rid = metadata.get("x-request-id") or uuid.uuid4().hex[:16]
        needs_auth = bool(self._api_token) and not method.startswith(_UNAUTHENTICATED_OK)
        authorised = not needs_auth or bearer_matches(metadata.get("authorization", ""), self._api_token)

        async def guard(context, request=None):
            request_id_var.set(rid)
            if not authorised:
                raise Unauthenticated("missing or wrong API token: send metadata 'authorization: Bearer <token>'")
            if isinstance(request, _Unreadable):
                raise request.error

        async def fail(context, exc: BaseException, started: float):
            if isinstance(exc, FinetuneError):
                log.info("%s rid=%s -> %s %s (%.1f ms)", method, rid, exc.grpc_code, exc.reason, _ms(started))
                await context.abort(*abort_args(exc))
            log.exception("%s rid=%s -> INTERNAL (%.1f ms)", method, rid, _ms(started))
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {rid}); this is a bug, please report it")

        def unary_result(behaviour):
            async def wrapper(request, context):
                started = time.perf_counter()
                try:
                    await guard(context, request)
                    result = await behaviour(_checked_stream(request) if streaming_in else request, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except BaseException as exc:  # noqa: BLE001 - mapped to a status, never leaked
                    await fail(context, exc, started)
                log.debug("%s rid=%s -> OK (%.1f ms)", method, rid, _ms(started))
                return result

            return wrapper

        def stream_result(behaviour):
            async def wrapper(request, context):
                started = time.perf_counter()
                try:
                    await guard(context, request)
                    async for item in behaviour(_checked_stream(request) if streaming_in else request, context):
                        yield item
                except (asyncio.CancelledError, grpc.aio.AbortError, GeneratorExit):
                    raise
                except BaseException as exc:  # noqa: BLE001
                    await fail(context, exc, started)

            return wrapper

        streaming_in = handler.request_streaming
        read = _checked_deserializer(handler.request_deserializer, method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(unary_result(handler.unary_unary), read, handler.response_serializer)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(unary_result(handler.stream_unary), read, handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(stream_result(handler.unary_stream), read, handler.response_serializer)
        return grpc.stream_stream_rpc_method_handler(stream_result(handler.stream_stream), read, handler.response_serializer)


class _Unreadable:
    """What the deserializer hands on for a request it cannot accept: the handler's wrapper raises `error`.
    (A deserializer that raises makes gRPC answer UNKNOWN, which tells the caller nothing.)"""

    __slots__ = ("error",)

    def __init__(self, error: InvalidArgument):
        self.error = error


def _checked_deserializer(deserialize, method: str):
    if deserialize is None:
        return None

    def read(data: bytes):
        try:
            message = deserialize(data)
        except Exception as exc:  # noqa: BLE001 - DecodeError and anything else a parser raises
            return _Unreadable(InvalidArgument(f"the request to {method} is not a protobuf message of its type: {exc}",
                                               reason="MALFORMED_REQUEST"))
        error = undefined_enum_error(message)
        return message if error is None else _Unreadable(error)

    return read


async def _checked_stream(requests):
    """A client stream whose unreadable messages raise their error where the handler reads them."""
    async for request in requests:
        if isinstance(request, _Unreadable):
            raise request.error
        yield request


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@dataclass
class ServiceHost:
    """A built server plus what it needs at start and stop."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: list[str]
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Start listening (health NOT_SERVING), run start hooks (database ready...), then SERVING."""
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        for hook in self.on_start:
            await hook()
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        for hook in self.on_stop:
            await hook()


def create_host(
    settings: ServiceSettings,
    register: Iterable[tuple[Callable, object]],
    service_names: list[str],
) -> ServiceHost:
    """A server with our interceptor, explicit message sizes, health and reflection, bound to settings'
    host:port (0 picks a free port). `register` holds (add_XServicer_to_server, servicer) pairs."""
    server = grpc.aio.server(
        interceptors=[_ErrorsAndLogging(settings.api_token)],
        options=channel_options(settings.max_message_bytes),
    )
    for add, servicer in register:
        add(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(f"{settings.host}:{settings.port}")
    return ServiceHost(server=server, port=port, health=health_servicer, service_names=list(service_names))


async def serve_forever(host: ServiceHost, settings: ServiceSettings) -> None:
    """Start, then stop gracefully on SIGTERM or SIGINT."""
    await host.start()
    log.info("%s listening on %s:%d", settings.service, settings.host, host.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("%s shutting down (grace %.1fs)", settings.service, settings.grace_seconds)
    await host.stop(settings.grace_seconds)


def run_service(service: str, build_server: Callable[[ServiceSettings], tuple[ServiceHost, int]]) -> None:
    """A service process's main: settings from the environment, then serve until SIGTERM/SIGINT.

    The server is built inside the event loop (grpc.aio binds to the loop it is created in). A bad
    setting or a database that cannot be reached ends the process with a one-line reason, exit 2.
    """
    from services.common.settings import load_settings

    try:
        settings = load_settings(service)
    except FinetuneError as exc:
        raise SystemExit(f"{service}: {exc.message}") from None
    configure_logging(settings.log_level, settings.service)

    async def serve() -> None:
        host, _ = build_server(settings)
        if host.port == 0:
            raise SystemExit(f"{service}: cannot listen on {settings.host}:{settings.port} (in use?); set FINETUNE_{service.upper()}_PORT")
        await serve_forever(host, settings)

    try:
        asyncio.run(serve())
    except FinetuneError as exc:
        log.error("%s cannot start: %s", service, exc.message)
        raise SystemExit(2) from None


def configure_logging(level: str, service: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s {service:<8} %(levelname)-5s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
