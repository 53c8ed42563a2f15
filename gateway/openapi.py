"""`/openapi.json` built from the same route table the gateway serves, and `/docs`: that spec as plain HTML.

/docs loads nothing from outside (no CDN): it is rendered on the server as lists of paths, methods,
parameters and fields.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from gateway.downloads import is_download
from gateway.guide import GuideRoute, GuideStream
from gateway.messages import settable_names
from gateway.routes import VARIABLE, RestRoute, is_upload
from gateway.uploads import ALIASES

F = FieldDescriptor
_SCALARS: dict[int, dict[str, str]] = {
    F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    F.TYPE_FLOAT: {"type": "number", "format": "float"},
    F.TYPE_INT64: {"type": "integer", "format": "int64"},
    F.TYPE_UINT64: {"type": "integer", "format": "uint64"},
    F.TYPE_INT32: {"type": "integer", "format": "int32"},
    F.TYPE_FIXED64: {"type": "integer", "format": "uint64"},
    F.TYPE_FIXED32: {"type": "integer", "format": "uint32"},
    F.TYPE_BOOL: {"type": "boolean"},
    F.TYPE_STRING: {"type": "string"},
    F.TYPE_BYTES: {"type": "string", "format": "byte"},
    F.TYPE_UINT32: {"type": "integer", "format": "uint32"},
    F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    F.TYPE_SFIXED64: {"type": "integer", "format": "int64"},
    F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    F.TYPE_SINT64: {"type": "integer", "format": "int64"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "example": "1.5s"},
    "google.protobuf.FieldMask": {"type": "string", "example": "display_name,tags"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {"type": "object"},
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "example": "NOT_FOUND"},
                "reason": {"type": "string", "example": "DATASET_NOT_FOUND"},
                "message": {"type": "string"},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def openapi_path(rest: RestRoute) -> tuple[str, list[dict]]:
    """`/v1/{name=datasets/*}:cancel` -> `/v1/datasets/{dataset_id}:cancel` and its path parameters."""
    path, params, pos = "", [], 0
    template = rest.template
    for var in VARIABLE.finditer(template.path):
        path += template.path[pos : var.start()]
        segments, out = (var.group(2) or "*").split("/"), []
        for i, seg in enumerate(segments):
            if seg in ("*", "**"):
                name = segments[i - 1].rstrip("s") + "_id" if i > 0 else var.group(1).split(".")[-1]
                out.append("{" + name + "}")
                described = f"binds `{var.group(1)}` = `{var.group(2) or '*'}`"
                params.append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": described})
            else:
                out.append(seg)
        path += "/".join(out)
        pos = var.end()
    path += template.path[pos:] + (":" + template.verb if template.verb else "")
    return path, params


class _Schemas:
    """Component schemas for messages, made on first reference."""

    def __init__(self):
        self.components: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def ref(self, message: Descriptor) -> dict[str, Any]:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if message.full_name not in self.components:
            self.components[message.full_name] = {}  # placeholder: recursive messages stop here
            props = {f.name: self.field(f) for f in message.fields}
            self.components[message.full_name] = {"type": "object", "properties": props}
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def field(self, f: FieldDescriptor) -> dict[str, Any]:
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            return {"type": "object", "additionalProperties": self.field(f.message_type.fields_by_name["value"])}
        if f.enum_type is not None:
            single: dict[str, Any] = {"type": "string", "enum": [v.name for v in f.enum_type.values]}
        elif f.message_type is not None:
            single = self.ref(f.message_type)
        else:
            single = dict(_SCALARS[f.type])
        return {"type": "array", "items": single} if f.is_repeated else single


def _operation(rest: RestRoute, schemas: _Schemas, index: int) -> tuple[str, dict]:
    path, params = openapi_path(rest)
    request = rest.method.input_type
    op: dict[str, Any] = {
        "operationId": f"{rest.method.containing_service.name}_{rest.method.name}" + (f"_{index}" if index else ""),
        "summary": rest.method.name,
        "tags": [rest.service],
        "description": f"gRPC `{rest.rpc_path}`",
    }
    bound = set(rest.template.fields)
    if is_upload(rest):
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": _upload_schema(rest, schemas)}}}
    elif rest.body == "*":
        op["requestBody"] = {"content": {"application/json": {"schema": schemas.ref(request)}}}
    elif rest.body:
        op["requestBody"] = {"content": {"application/json": {"schema": schemas.field(request.fields_by_name[rest.body])}}}
    if rest.body != "*" and not is_upload(rest):
        for name in settable_names(request):
            if name not in bound and name.split(".")[0] != rest.body:
                params.append({"name": name, "in": "query", "required": False, "schema": _query_schema(request, name, schemas)})
    if is_download(rest):
        ok = {"description": "The file's bytes", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    else:
        media = "application/x-ndjson" if rest.streaming == "server" else "application/json"
        ok = {"description": "OK" + (", one JSON message a line" if media != "application/json" else ""),
              "content": {media: {"schema": schemas.ref(rest.method.output_type)}}}
    op["parameters"] = params
    op["responses"] = {
        "200": ok,
        "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    }
    return path, op


def _query_schema(message: Descriptor, name: str, schemas: _Schemas) -> dict[str, Any]:
    for part in name.split(".")[:-1]:
        message = message.fields_by_name[part].message_type
    return schemas.field(message.fields_by_name[name.split(".")[-1]])


def _upload_schema(rest: RestRoute, schemas: _Schemas) -> dict[str, Any]:
    metadata = rest.method.input_type.fields_by_name["metadata"].message_type
    renamed = {v: k for k, v in ALIASES.items()}
    props: dict[str, Any] = {}
    for f in rest.method.input_type.fields:
        if f.type == F.TYPE_BYTES:
            props[f.name[: -len("chunk")] + "file"] = {"type": "string", "format": "binary"}
    for f in metadata.fields:
        if not f.name.endswith("filename"):
            props[renamed.get(f.name, f.name)] = schemas.field(f)
    return {"type": "object", "required": ["file"], "properties": props}


def build_spec(table: Iterable[RestRoute], adapters: Iterable[GuideRoute] = (), streams: Iterable[GuideStream] = ()) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for rest in table:
        key = rest.method.full_name
        path, op = _operation(rest, schemas, counts.get(key, 0))
        counts[key] = counts.get(key, 0) + 1
        paths.setdefault(path, {})[rest.http_method.lower()] = op
    for adapter in adapters:
        paths.setdefault(_plain(adapter.path), {})[adapter.method.lower()] = {
            "operationId": "guide_" + adapter.rpc.rsplit(".", 1)[-1] + "_" + adapter.method.lower(),
            "summary": adapter.summary,
            "tags": ["guide"],
            "description": f"The guide's JSON shape, served by `{adapter.rpc}`",
            "parameters": _guide_params(adapter.path, adapter.query),
            "responses": {"200": {"description": "OK"}, "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        }
    for stream in streams:
        paths.setdefault(_plain(stream.path), {})["get"] = {
            "operationId": "guide_ws_" + re.sub(r"\W+", "_", _plain(stream.path)).strip("_"),
            "summary": stream.summary + " (WebSocket)",
            "tags": ["guide"],
            "description": f"WebSocket fed by `{stream.rpc}`; resume with `?after=<seq>` or by sending `{{\"after\": <seq>}}`",
            "parameters": _guide_params(stream.path, stream.query),
            "responses": {"101": {"description": "Switching Protocols"}},
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fine-tuning platform REST gateway", "version": "v1", "description": "Generated from the google.api.http annotations in protos/."},
        "paths": paths,
        "components": {"schemas": schemas.components},
    }


_STARLETTE_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _plain(path: str) -> str:
    """Starlette's `{model_id:path}` is `{model_id}` in OpenAPI."""
    return _STARLETTE_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def _guide_params(path: str, query: Iterable[str]) -> list[dict[str, Any]]:
    string = {"type": "string"}
    params = [{"name": name, "in": "path", "required": True, "schema": string} for name in _STARLETTE_PARAM.findall(path)]
    return params + [{"name": name, "in": "query", "required": False, "schema": string} for name in query]


def openapi_routes(spec: dict[str, Any]) -> list[Route]:
    page = render_docs(spec)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    return [Route("/openapi.json", openapi_json, methods=["GET"]), Route("/docs", docs, methods=["GET"])]


def render_docs(spec: dict[str, Any]) -> str:
    """The spec as HTML lists: every path and method, its parameters, request and response fields."""
    schemas = spec["components"]["schemas"]
    e = html.escape
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>API docs</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee;padding:0 .2em}"
        "h3{margin-bottom:.2em}.m{font-weight:bold;text-transform:uppercase}</style></head><body>",
        f"<h1>{e(spec['info']['title'])}</h1><p>{e(spec['info']['description'])} Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            out.append(f"<h3><span class='m'>{e(method)}</span> <code>{e(path)}</code></h3><p>{e(op.get('summary', ''))}: {e(op.get('description', ''))}</p><ul>")
            for p in op.get("parameters", []):
                out.append(f"<li>{e(p['in'])} <code>{e(p['name'])}</code> {e(_type(p.get('schema', {})))} {e(p.get('description', ''))}</li>")
            for media, body in op.get("requestBody", {}).get("content", {}).items():
                out.append(f"<li>request body ({e(media)}): {_fields(body['schema'], schemas)}</li>")
            for media, body in op.get("responses", {}).get("200", {}).get("content", {}).items():
                out.append(f"<li>response ({e(media)}): {_fields(body['schema'], schemas)}</li>")
            out.append("</ul>")
    out.append("</body></html>")
    return "".join(out)


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    if schema.get("type") == "array":
        return _type(schema.get("items", {})) + "[]"
    return str(schema.get("format") or schema.get("type") or "any")


def _fields(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    props = _resolve(schema, schemas).get("properties")
    if not props:
        return f"<code>{html.escape(_type(schema))}</code>"
    return ", ".join(f"<code>{html.escape(name)}</code> {html.escape(_type(s))}" for name, s in props.items())
