"""The gateway's process: `python -m gateway.server` serves one app on every port of FINETUNE_GATEWAY_PORTS.

The guide talks to 8000 (main API) and 8001 (training API); both are this one app, served by one
uvicorn server listening on two sockets.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

from gateway.app import create_app
from services.common.server import configure_logging
from services.common.settings import GATEWAY_PORTS, ServiceSettings, load_settings

log = logging.getLogger("finetune.gateway")


def parse_ports(raw: str) -> tuple[int, ...]:
    """`"8000,8001"` -> (8000, 8001); raises ValueError (named by the settings loader) for anything else."""
    ports = tuple(int(p) for p in raw.split(",") if p.strip())
    if not ports or any(not 0 < p < 65536 for p in ports):
        raise ValueError(raw)
    return ports


def gateway_ports(settings: ServiceSettings) -> tuple[int, ...]:
    return settings.get("ports", GATEWAY_PORTS, parse_ports)


def bind_sockets(host: str, ports: tuple[int, ...]) -> list[socket.socket]:
    sockets = []
    for port in ports:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
        # without it every small response waits ~40 ms for the client's delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


async def serve(settings: ServiceSettings, sockets: list[socket.socket]) -> None:
    """Serves until SIGINT/SIGTERM (uvicorn's handlers), then finishes open requests and closes channels."""
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level.lower(),
        access_log=settings.get("access_log", False, bool),
        timeout_graceful_shutdown=int(settings.grace_seconds),
        lifespan="on",
    )
    await uvicorn.Server(config).serve(sockets=sockets)


def main() -> None:
    settings = load_settings("gateway")
    configure_logging(settings.log_level, settings.service)
    ports = gateway_ports(settings)
    sockets = bind_sockets(settings.host, ports)
    log.info("gateway listening on %s", ", ".join(f"http://{settings.host}:{p}" for p in ports))
    asyncio.run(serve(settings, sockets))


if __name__ == "__main__":
    main()
