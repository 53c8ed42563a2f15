"""`create_app(settings)`: the gateway's Starlette app, its routes made from the protos' HTTP annotations."""

from __future__ import annotations

import contextlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway import guide
from gateway.auth import BearerTokenMiddleware
from gateway.downloads import call_download, is_download
from gateway.errors import EXCEPTION_HANDLERS
from gateway.health import health_route
from gateway.openai_api import openai_routes
from gateway.openapi import build_spec, openapi_routes
from gateway.static import DEFAULT_WEB_DIR, dashboard_routes
from gateway.routes import load_routes, rpc_routes, service_descriptors, service_short_name
from gateway.uploads import call_upload
from gateway.upstream import Upstreams
from services.common.settings import MB, ServiceSettings

DEFAULT_MAX_UPLOAD_MB = 64  # the dataset service's own limit (50 MB by default) is the one users meet
# The dashboard is served by this app on every port (:3000 is the guide's address for it) and calls the API
# on its own origin; CORS lets a dashboard on :3000 also call :8000/:8001 as the guide's clients do.
DEFAULT_CORS_ORIGINS = "http://localhost:3000,http://127.0.0.1:3000"


def create_app(settings: ServiceSettings, *, adapters=None, streams=None) -> Starlette:
    """`adapters`/`streams` replace the guide's (tests pass their own); by default `gateway.guide`'s."""
    services = service_descriptors()
    table = load_routes(services)
    methods = guide.all_methods(services)
    adapters = [a for a in (guide.ADAPTERS if adapters is None else adapters) if a.rpc in methods]
    streams = [s for s in (guide.STREAMS if streams is None else streams) if s.rpc in methods]
    upstreams = Upstreams(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await upstreams.close()

    routes = [
        health_route({service_short_name(s): s.full_name for s in services}),
        *openapi_routes(build_spec(table, adapters, streams)),
        *guide.guide_routes(methods, adapters, streams),
        *openai_routes(),
        *rpc_routes(table, call_upload, call_download, is_download),
        *dashboard_routes(settings.get("web_dir", DEFAULT_WEB_DIR, Path)),  # last: every other GET is a dashboard page
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            # CORS outermost, so a browser's preflight (which carries no token) is answered.
            Middleware(CORSMiddleware, allow_origins=_origins(settings), allow_methods=["*"], allow_headers=["*"]),
            Middleware(BearerTokenMiddleware, token=settings.api_token),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.upstreams = upstreams
    app.state.route_table = table
    app.state.max_body_bytes = settings.max_message_bytes
    app.state.max_upload_bytes = settings.get("max_upload_mb", DEFAULT_MAX_UPLOAD_MB, int) * MB
    return app


def _origins(settings: ServiceSettings) -> list[str]:
    """FINETUNE_GATEWAY_CORS_ORIGINS: comma-separated origins, `*` for any, empty for none."""
    return [o.strip() for o in settings.get("cors_origins", DEFAULT_CORS_ORIGINS).split(",") if o.strip()]
