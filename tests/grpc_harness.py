"""Start a service in process on port 0 and give tests a channel to it."""

from __future__ import annotations

import contextlib

import grpc

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
