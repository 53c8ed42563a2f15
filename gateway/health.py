"""`GET /health`: each service's grpc.health.v1 status; 200 when every one is SERVING, else 503.

Public even when an API token is set (load balancers ask it); a caller without the token then sees each
service's name and status only, not its address or error message.
"""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.auth import is_authenticated
from gateway.errors import ApiError
from gateway.upstream import Upstreams

CHECK_TIMEOUT_S = 2.0
PUBLIC_FIELDS = ("service", "grpc_service", "status")  # what a caller without the token sees of each service
_STATUS_FOR_CODE = {"UNAVAILABLE": "UNREACHABLE", "DEADLINE_EXCEEDED": "TIMEOUT", "NOT_FOUND": "SERVICE_UNKNOWN", "UNIMPLEMENTED": "NO_HEALTH_SERVICE"}


async def check(upstreams: Upstreams, service: str, grpc_service: str) -> dict[str, str]:
    """One service's health as `{"service", "grpc_service", "address", "status"}`; never raises."""
    entry = {"service": service, "grpc_service": grpc_service}
    try:
        entry["address"] = upstreams.address(service)
    except ApiError as exc:
        return entry | {"address": "", "status": "NOT_CONFIGURED", "message": exc.message}
    stub = health_pb2_grpc.HealthStub(upstreams.channel(service))
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=grpc_service), timeout=CHECK_TIMEOUT_S)
        entry["status"] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    except grpc.RpcError as err:
        entry["status"] = _STATUS_FOR_CODE.get(err.code().name, err.code().name)
        entry["message"] = err.details() or ""
    return entry


def health_route(targets: dict[str, str]) -> Route:
    """`targets`: short service name -> full gRPC service name, e.g. {"dataset": "finetune.dataset.v1.DatasetService"}."""

    async def health(request: Request) -> JSONResponse:
        upstreams = request.app.state.upstreams
        entries = await asyncio.gather(*(check(upstreams, name, full) for name, full in targets.items()))
        healthy = all(e["status"] == "SERVING" for e in entries)
        if not is_authenticated(request):  # a token is set and the caller did not send it: statuses only
            entries = [{k: e[k] for k in PUBLIC_FIELDS} for e in entries]
        body = {"status": "SERVING" if healthy else "NOT_SERVING", "services": list(entries)}
        return JSONResponse(body, status_code=200 if healthy else 503)

    return Route("/health", health, methods=["GET"])
