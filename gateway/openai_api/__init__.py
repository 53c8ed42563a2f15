"""The OpenAI-compatible API, mounted at `/openai/v1`: a team moves from the hosted API to its own machines by
changing `base_url` (`OpenAI(base_url="http://127.0.0.1:8000/openai/v1", api_key=<the API token or anything>)`).

Same paths, fields, status values, pagination and error shape as the official API, over the platform's gRPC
services: files are datasets (`files`), fine-tuning jobs are jobs (`fine_tuning`), and the models answer
through the trainer's Generate (`inference`). Errors: `errors`; chat messages as rows and prompts: `chat`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Mount, Route

from gateway.openai_api import files, fine_tuning, inference
from gateway.openai_api.errors import endpoint, error_response, unauthenticated

PREFIX = "/openai/v1"
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH"]

__all__ = ["PREFIX", "openai_routes", "unauthenticated"]


@endpoint
async def not_found(request: Request):
    return error_response(404, f"Invalid URL ({request.method} {request.url.path}): this API serves files, fine_tuning/jobs, "
                               "models, chat/completions and completions", code="unknown_url")


def openai_routes() -> list[Mount]:
    routes = [*files.ROUTES, *fine_tuning.ROUTES, *inference.ROUTES, Route("/{path:path}", not_found, methods=METHODS)]
    return [Mount(PREFIX, routes=routes)]
