"""Optional API token: when set, every API path but /health, /openapi.json and /docs needs `Authorization: Bearer <token>`
(the scheme in any case, the token compared in constant time: `services.common.tokens`).

The dashboard's static files (every GET outside the API paths, see `gateway.static`) are public: they hold
no data, and the page asks for the token before it calls the API.

The header is forwarded to the services as `authorization` metadata (see `gateway.upstream`), so they
check the same token themselves.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from gateway.errors import ApiError
from gateway.openai_api import PREFIX as OPENAI_PREFIX, unauthenticated as openai_unauthenticated
from gateway.static import is_api_path
from services.common.tokens import bearer_matches

PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs"})
AUTHENTICATED = "authenticated"  # in the request's state: the caller sent the token (or none is needed)


def is_authenticated(conn) -> bool:
    return getattr(conn.state, AUTHENTICATED, True)


class BearerTokenMiddleware:
    """Pure ASGI, so it guards HTTP and WebSocket alike; a no-op when `token` is empty."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.token or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not given and scope["type"] == "websocket":
            # Browsers cannot set headers on a WebSocket: `?access_token=<token>` stands in for the header.
            token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("access_token", [""])[0]
            given = f"Bearer {token}".encode() if token else b""
        authenticated = bearer_matches(given, self.token)
        scope.setdefault("state", {})[AUTHENTICATED] = authenticated  # /health shows more to a caller with the token
        if authenticated or scope["path"] in PUBLIC_PATHS or (
                scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and not is_api_path(scope["path"])):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # 1008: policy violation. After the handshake: closed before it, a client sees an HTTP 403 and no reason.
            websocket = WebSocket(scope, receive, send)
            await websocket.accept()
            await websocket.close(1008, "missing or wrong API token: send ?access_token=<token> or the Authorization header")
            return
        if scope["path"].startswith(OPENAI_PREFIX + "/"):  # the OpenAI SDK reads OpenAI's error shape
            await openai_unauthenticated()(scope, receive, send)
            return
        message = "missing or wrong API token: send the header 'Authorization: Bearer <token>'"
        error = ApiError(401, "UNAUTHENTICATED", "UNAUTHENTICATED", message, headers={"WWW-Authenticate": "Bearer"})
        await error.response()(scope, receive, send)
