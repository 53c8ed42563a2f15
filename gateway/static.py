"""The web dashboard: the static files of `web/dist` (built by `make web`), served at `/` on every gateway port.

Files are read once at start and kept in memory with their gzip form, so a page costs no disk read and no
compression per request. Content-hashed files under `/assets/` are cached for a year; `index.html` is
revalidated on every load (its ETag), so a rebuilt dashboard is seen on the next reload. Any other GET
that is not an API path answers `index.html`: the dashboard's own router owns those paths
(`/jobs/job_123` after a reload). API paths never fall back: an unknown one stays a JSON 404.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound

from gateway.errors import ApiError

log = logging.getLogger("finetune.gateway")

DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "dist"
# Paths that belong to the API (REST, WebSocket, docs): never answered with the dashboard.
API_PREFIXES = ("/api/", "/v1/", "/ws/", "/openai/")
API_PATHS = frozenset({"/api", "/v1", "/ws", "/health", "/openapi.json", "/docs"})
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".svg", ".json", ".map", ".txt", ".ico")
MIN_GZIP_BYTES = 512
NOT_BUILT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard not built</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>The dashboard is not built</h1>
<p>The API is running, but <code>{where}</code> holds no <code>index.html</code>. Build the dashboard with
<code>make web</code> (or run everything with <code>make run</code>, which builds it first), then reload.</p>
<p>The API itself: <a href="/docs">/docs</a>, <a href="/health">/health</a>.</p></body></html>"""


def is_api_path(path: str) -> bool:
    return path in API_PATHS or path.startswith(API_PREFIXES)


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str
    cache_control: str

    def response(self, request: Request) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": self.cache_control, "Vary": "Accept-Encoding",
                   "X-Content-Type-Options": "nosniff"}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = self.body
        if self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body, headers["Content-Encoding"] = self.gzipped, "gzip"
        if request.method == "HEAD":
            return Response(status_code=200, headers={**headers, "Content-Length": str(len(body))}, media_type=self.media_type)
        return Response(body, headers=headers, media_type=self.media_type)


def load_files(root: Path) -> dict[str, StaticFile]:
    """URL path -> file, for every file under `root`; empty when there is no `index.html`."""
    if not (root / "index.html").is_file():
        return {}
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(root).as_posix()
        body = path.read_bytes()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type in ("application/javascript", "image/svg+xml"):
            media_type += "; charset=utf-8"
        gzipped = gzip.compress(body, 9, mtime=0) if path.suffix in COMPRESSIBLE and len(body) >= MIN_GZIP_BYTES else None
        immutable = rel.startswith("assets/")  # Vite puts a content hash in every name there
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files["/" + rel] = StaticFile(body, gzipped if gzipped and len(gzipped) < len(body) else None, media_type, etag, cache)
    return files


class DashboardRoute(BaseRoute):
    """Matches GET and HEAD of every path outside the API (other methods and API paths fall through to the
    app's JSON 404/405), so it can sit after the API routes without changing what they answer."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def matches(self, scope) -> tuple[Match, dict]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or is_api_path(scope["path"]):
            return Match.NONE, {}
        return Match.FULL, {"endpoint": self.endpoint}

    def url_path_for(self, name: str, /, **path_params):
        raise NoMatchFound(name, path_params)

    async def handle(self, scope, receive, send) -> None:
        response = await self.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


def dashboard_routes(root: Path) -> list[BaseRoute]:
    """The catch-all route serving the dashboard; place it after every API route."""
    files = load_files(root)
    if files:
        log.info("dashboard: %d files from %s", len(files), root)
    else:
        log.warning("dashboard not built: %s has no index.html (run `make web`)", root)

    async def serve(request: Request) -> Response:
        path = request.url.path
        if not files:
            return HTMLResponse(NOT_BUILT_PAGE.format(where=root), status_code=503)
        found = files.get(path) or (files.get(path + "index.html") if path.endswith("/") else None)
        if found is None:
            if path.startswith("/assets/"):
                raise ApiError(404, "NOT_FOUND", "NOT_FOUND", f"no dashboard file {path}; reload the page")
            found = files["/index.html"]  # a dashboard route: its router draws the page
        return found.response(request)

    return [DashboardRoute(serve)]
