"""Start a service in process on port 0 and give tests a channel to it."""

from __future__ import annotations

import contextlib

import grpc
import pytest

from services.common.grpc_errors import error_info_from_metadata

from services.common.server import channel_options
from services.common.settings import MB


@contextlib.asynccontextmanager
async def running(build_server, settings):
    """`async with running(build_server, settings) as channel:` — started, SERVING, then stopped."""
    host, port = build_server(settings)
    await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=channel_options(64 * MB))
    try:
        yield channel
    finally:
        await channel.close()
        await host.stop(0)


async def expect_error(awaitable, code: grpc.StatusCode, reason: str | None = None, phrase: str = ""):
    """Await a call that must fail with `code`, the ErrorInfo `reason` and `phrase` in its message;
    returns the error and its ErrorInfo metadata."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await awaitable
    e = err.value
    assert e.code() == code, (e.code(), e.details())
    got_reason, metadata = error_info_from_metadata(e.trailing_metadata())
    if reason:
        assert got_reason == reason, (got_reason, e.details())
    assert phrase.lower() in e.details().lower(), e.details()
    return e, metadata
