"""The REST routes, read from the `google.api.http` annotations of every `finetune.<service>.v1` service.

Each binding (and additional binding) becomes one `RpcRoute`: its path template is compiled to a regex,
path variables + query parameters + body are bound into the request message, the RPC is called through
a generic channel, and the response is answered as the guide's snake_case JSON.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Iterator
from urllib.parse import quote, unquote

from google.api import annotations_pb2, http_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Match, NoMatchFound

from gateway.errors import ApiError
from gateway.responses import FastJSONResponse
from gateway.messages import deep_merge, merge_json, nest, read_json, strings_to_json, to_json

log = logging.getLogger("finetune.gateway")

VARIABLE = re.compile(r"\{([A-Za-z_][\w.]*)(?:=([^{}]*))?\}")


@dataclass(frozen=True)
class PathTemplate:
    """A compiled `google.api.http` path template: `/v1/{name=datasets/*}:cancel`."""

    template: str
    path: str  # the template without its verb
    verb: str
    fields: tuple[str, ...]  # the field path each variable binds, in order
    regex: re.Pattern
    prefix: str  # the literal text before the first variable or wildcard: a cheap first test

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Field path -> percent-decoded value, or None. Matches the raw path so `%2F` stays in one segment."""
        if not raw_path.startswith(self.prefix):
            return None
        found = self.regex.match(raw_path)
        if found is None:
            return None
        return {field: unquote(value) for field, value in zip(self.fields, found.groups())}


def compile_template(template: str) -> PathTemplate:
    if not template.startswith("/"):
        raise ValueError(f"path template {template!r} must start with '/'")
    path, verb = _split_verb(template)
    parts, fields, pos = [], [], 0
    for var in VARIABLE.finditer(path):
        parts.append(_segments_regex(path[pos : var.start()]))
        parts.append("(" + _segments_regex(var.group(2) or "*") + ")")
        fields.append(var.group(1))
        pos = var.end()
    parts.append(_segments_regex(path[pos:]))
    if verb:
        parts.append(":" + re.escape(verb))
    prefix = re.split(r"[{*]", path, maxsplit=1)[0] if re.search(r"[{*]", path) else template
    return PathTemplate(template, path, verb, tuple(fields), re.compile("^" + "".join(parts) + "$"), prefix)


def _segments_regex(text: str) -> str:
    # `*` is one segment and `**` any number; neither takes a `:`, which starts the custom verb.
    return "/".join("[^/:]+" if s == "*" else "[^:]+?" if s == "**" else re.escape(s) for s in text.split("/"))


def _split_verb(template: str) -> tuple[str, str]:
    depth, colon = 0, -1
    for i, ch in enumerate(template):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0 and ch == "/":
            colon = -1
        elif depth == 0 and ch == ":" and colon < 0:
            colon = i
    return (template[:colon], template[colon + 1 :]) if colon >= 0 else (template, "")


@dataclass(frozen=True)
class RestRoute:
    """One HTTP binding of one RPC."""

    http_method: str
    template: PathTemplate
    body: str  # "" none, "*" the whole request, else the field the body fills
    response_body: str
    service: str  # short name: "dataset" for finetune.dataset.v1 (its address setting is `dataset_address`)
    method: MethodDescriptor

    @property
    def rpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.input_type)

    @property
    def response_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.method.output_type)

    @property
    def streaming(self) -> str:
        return {(False, False): "unary", (True, False): "client", (False, True): "server", (True, True): "bidi"}[
            (self.method.client_streaming, self.method.server_streaming)
        ]


def service_descriptors(package: str = "finetune") -> list[ServiceDescriptor]:
    """Every service in `<package>/<svc>/<version>/*_service_pb2.py`, imported, in path order."""
    root = Path(importlib.import_module(package).__file__).parent
    services = []
    for path in sorted(root.glob("*/v*/*_service_pb2.py")):
        module = importlib.import_module(".".join([package, *path.relative_to(root).with_suffix("").parts]))
        services.extend(module.DESCRIPTOR.services_by_name.values())
    return services


def service_short_name(service: ServiceDescriptor) -> str:
    """`finetune.dataset.v1.DatasetService` -> `dataset`."""
    return service.file.package.split(".")[1]


def load_routes(services: list[ServiceDescriptor] | None = None) -> list[RestRoute]:
    """The route table: one RestRoute per binding, in declaration order. Bidirectional RPCs have no REST form."""
    routes, seen = [], set()
    for service in service_descriptors() if services is None else services:
        for method in service.methods:
            if not method.GetOptions().HasExtension(annotations_pb2.http):
                continue
            for rule in _bindings(method.GetOptions().Extensions[annotations_pb2.http]):
                kind = rule.WhichOneof("pattern")
                verb, template = (rule.custom.kind, rule.custom.path) if kind == "custom" else (kind.upper(), getattr(rule, kind))
                route = RestRoute(verb.upper(), compile_template(template), rule.body, rule.response_body, service_short_name(service), method)
                if route.streaming == "bidi":
                    continue
                if (route.http_method, template) in seen:
                    log.warning("%s %s is bound twice; %s is ignored", route.http_method, template, method.full_name)
                    continue
                seen.add((route.http_method, template))
                routes.append(route)
    return routes


def _bindings(rule: http_pb2.HttpRule) -> Iterator[http_pb2.HttpRule]:
    yield rule
    yield from rule.additional_bindings


# --- serving ----------------------------------------------------------------------------------------

Endpoint = Callable[[Request, RestRoute], Awaitable[Response]]


class RpcRoute(BaseRoute):
    """A Starlette route for one RestRoute: matches the template, answers 405 for the other methods."""

    def __init__(self, rest: RestRoute, endpoint: Endpoint, siblings: list[RpcRoute] | None = None):
        self.rest = rest
        self.endpoint = endpoint
        self.name = rest.method.full_name
        self.methods = {rest.http_method, "HEAD"} if rest.http_method == "GET" else {rest.http_method}
        self.siblings = siblings if siblings is not None else [self]  # for the Allow header of a 405

    def matches(self, scope) -> tuple[Match, dict]:
        if scope["type"] != "http":
            return Match.NONE, {}
        fields = self.rest.template.match(_raw_path(scope))
        if fields is None:
            return Match.NONE, {}
        child = {"endpoint": self.endpoint, "path_params": fields}
        return (Match.FULL if scope["method"] in self.methods else Match.PARTIAL), child

    def url_path_for(self, name: str, /, **path_params):
        raise NoMatchFound(name, path_params)

    async def handle(self, scope, receive, send) -> None:
        if scope["method"] not in self.methods:
            path = _raw_path(scope)
            allowed = set().union(*(r.methods for r in self.siblings if r.rest.template.match(path) is not None))
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        request = Request(scope, receive, send)
        response = await self.endpoint(request, self.rest)
        await response(scope, receive, send)

    def __repr__(self) -> str:
        return f"RpcRoute({self.rest.http_method} {self.rest.template.template} -> {self.rest.rpc_path})"


def _raw_path(scope) -> str:
    """The path as sent, still percent-encoded (so `%2F` stays inside one segment), below any root_path.
    Worked out once per request, not once per route tried."""
    path = scope.get(_RAW_PATH_KEY)
    if path is None:
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(scope["path"])
        root = scope.get("root_path", "")
        path = scope[_RAW_PATH_KEY] = path[len(root) :] if root and path.startswith(root) else path
    return path


_RAW_PATH_KEY = "finetune.raw_path"


async def bind_request(request: Request, rest: RestRoute) -> Message:
    """The request message from body, then query parameters, then path variables (which win)."""
    message = rest.request_class()
    body = None
    if rest.body:
        body = await read_json(request, request.app.state.max_body_bytes)
        if body is not None:
            merge_json(message, body if rest.body == "*" else nest(rest.body, body), where="body")
    if request.query_params:
        merge_json(message, strings_to_json(request.query_params.multi_items(), message.DESCRIPTOR, where="query"), where="query")
    path: dict = {}
    for field, value in request.path_params.items():
        deep_merge(path, nest(field, value))
    if path:
        merge_json(message, path, where="path")
    if rest.http_method == "PATCH" and isinstance(body, dict):
        _default_update_mask(message, rest, body)
    return message


def _default_update_mask(message: Message, rest: RestRoute, body: dict) -> None:
    """PATCH without `update_mask` changes the fields the body names (AIP-134), not every field."""
    mask_field = message.DESCRIPTOR.fields_by_name.get("update_mask")
    if mask_field is None or mask_field.message_type.full_name != "google.protobuf.FieldMask" or message.HasField("update_mask"):
        return
    if rest.body == "*" or "." in rest.body:
        return
    target = message.DESCRIPTOR.fields_by_name[rest.body].message_type
    by_json = {f.json_name: f.name for f in target.fields}
    bound = {f.split(".", 1)[1] for f in rest.template.fields if f.startswith(rest.body + ".")}
    paths = [by_json.get(k, k) for k in body]
    message.update_mask.paths.extend(p for p in paths if p not in bound)


async def call_unary(request: Request, rest: RestRoute) -> Response:
    message = await bind_request(request, rest)
    response = await request.app.state.upstreams.unary(rest.service, rest.rpc_path, message, rest.response_class, request)
    return FastJSONResponse(_pick(to_json(response), rest.response_body))


async def call_server_stream(request: Request, rest: RestRoute) -> Response:
    """Newline-delimited JSON, one response message a line. The first message is awaited before the
    status is sent, so a failing call (NOT_FOUND...) still gets its own status; a later failure ends
    the stream with one `{"error": ...}` line."""
    message = await bind_request(request, rest)
    stream = request.app.state.upstreams.server_stream(rest.service, rest.rpc_path, message, rest.response_class, request)
    first = await anext(stream, None)

    async def lines():
        try:
            if first is not None:
                yield json.dumps(_pick(to_json(first), rest.response_body)) + "\n"
            async for item in stream:
                yield json.dumps(_pick(to_json(item), rest.response_body)) + "\n"
        except ApiError as exc:
            yield json.dumps(exc.body()) + "\n"
        finally:
            await stream.aclose()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


def _pick(value: dict, response_body: str):
    return value.get(response_body) if response_body else value


def is_upload(rest: RestRoute) -> bool:
    """A client-streaming RPC whose request is a `metadata`-then-`chunk` oneof: served from multipart."""
    fields = rest.method.input_type.fields_by_name
    return rest.streaming == "client" and "metadata" in fields and fields.get("chunk") is not None and (
        fields["chunk"].type == FieldDescriptor.TYPE_BYTES
    )


def rpc_routes(table: list[RestRoute], upload_endpoint: Endpoint, download_endpoint: Endpoint | None = None,
               is_download: Callable[[RestRoute], bool] = lambda rest: False) -> list[RpcRoute]:
    routes: list[RpcRoute] = []
    for rest in table:
        if rest.streaming == "unary":
            routes.append(RpcRoute(rest, call_unary, routes))
        elif download_endpoint is not None and is_download(rest):
            routes.append(RpcRoute(rest, download_endpoint, routes))
        elif rest.streaming == "server":
            routes.append(RpcRoute(rest, call_server_stream, routes))
        elif is_upload(rest):
            routes.append(RpcRoute(rest, upload_endpoint, routes))
        else:
            log.info("%s streams from the client in a form the gateway does not know; no REST route", rest.method.full_name)
    return routes
