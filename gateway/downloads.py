"""Downloads from server-streaming RPCs whose response is a `oneof` of a description then `chunk` bytes
(ReadRunArtifact): answered as the file itself, not as NDJSON, so a browser or curl saves it unchanged.

The first message is awaited before the status is sent, so a missing file is still a JSON 404; its
`media_type`, `size_bytes` and `path` give the response's Content-Type, Content-Length and file name.
"""

from __future__ import annotations

from urllib.parse import quote

from google.protobuf.descriptor import FieldDescriptor
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gateway.routes import RestRoute, bind_request


def is_download(rest: RestRoute) -> bool:
    fields = rest.method.output_type.fields_by_name
    chunk = fields.get("chunk")
    return rest.streaming == "server" and chunk is not None and chunk.type == FieldDescriptor.TYPE_BYTES and (
        chunk.containing_oneof is not None)


async def call_download(request: Request, rest: RestRoute) -> Response:
    message = await bind_request(request, rest)
    stream = request.app.state.upstreams.server_stream(rest.service, rest.rpc_path, message, rest.response_class, request)
    first = await anext(stream, None)
    described = getattr(first, first.WhichOneof(first.DESCRIPTOR.oneofs[0].name) or "", None) if first is not None else None
    headers = {"X-Content-Type-Options": "nosniff"}
    media_type = "application/octet-stream"
    if described is not None and not isinstance(described, bytes):
        name = getattr(described, "path", "").rsplit("/", 1)[-1] or "download"
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        if getattr(described, "size_bytes", 0):
            headers["Content-Length"] = str(described.size_bytes)
        media_type = getattr(described, "media_type", "") or media_type

    async def body():
        try:
            if isinstance(described, bytes):
                yield described
            async for item in stream:
                yield item.chunk
        finally:
            await stream.aclose()

    return StreamingResponse(body(), media_type=media_type, headers=headers)
