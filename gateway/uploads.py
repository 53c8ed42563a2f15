"""Multipart uploads to client-streaming RPCs: form fields become the `metadata` message, files go in chunks.

The mapping is by convention from the request's oneof: a bytes field `chunk` is fed by the form file
`file`, `validation_chunk` by `validation_file`; the metadata's `filename` / `validation_filename` come from
those files' names, and every other text field names a metadata field (`name` is the guide's word for
`display_name`). So `POST /api/preview-csv -F file=@x.csv` and `POST /api/datasets -F file=@x.csv -F name=...`
need no code of their own.
"""

from __future__ import annotations

from typing import AsyncIterator

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.messages import merge_json, strings_to_json, to_json
from gateway.routes import RestRoute
from services.common.errors import InvalidArgument, PayloadTooLarge
from services.common.settings import MB

CHUNK_BYTES = 1 * MB  # well under the 8 MB message limit, large enough that per-message cost is noise
ALIASES = {"name": "display_name"}


async def call_upload(request: Request, rest: RestRoute) -> Response:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidArgument(
            f"{rest.template.template} takes multipart/form-data with the file in the field 'file' "
            f"(curl -F file=@data.csv), not {content_type or 'an empty body'}",
            reason="MULTIPART_REQUIRED",
        )
    limit = request.app.state.max_upload_bytes
    check_content_length(request, limit)
    limited = Request(request.scope, limit_body(request.receive, limit))
    try:
        form = await limited.form(max_files=4, max_fields=64)
    except HTTPException as exc:  # the multipart parser's own complaints
        raise InvalidArgument(f"malformed multipart body: {exc.detail}", reason="MALFORMED_MULTIPART") from None
    try:
        chunk_fields = _chunk_fields(rest)
        metadata = _metadata(rest, form, chunk_fields)
        requests = _requests(rest.request_class, metadata, [(f, form[_file_field(f)]) for f in chunk_fields if _file_field(f) in form])
        upstreams = request.app.state.upstreams
        response = await upstreams.client_stream(rest.service, rest.rpc_path, requests, rest.request_class, rest.response_class, request)
    finally:
        await form.close()
    return JSONResponse(to_json(response))


def _chunk_fields(rest: RestRoute) -> list[str]:
    return [f.name for f in rest.method.input_type.fields if f.type == FieldDescriptor.TYPE_BYTES]


def _file_field(chunk_field: str) -> str:
    return chunk_field[: -len("chunk")] + "file"


def _metadata(rest: RestRoute, form: FormData, chunk_fields: list[str]) -> Message:
    meta_type = rest.method.input_type.fields_by_name["metadata"].message_type
    metadata = message_factory.GetMessageClass(meta_type)()
    names = {f.name for f in meta_type.fields}
    file_fields = {_file_field(f) for f in chunk_fields}
    texts: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key not in file_fields:
                raise _form_error(f"unexpected file field {key!r}; send the files as {', '.join(sorted(file_fields))}", key)
            continue
        if key in file_fields:
            raise _form_error(f"field {key!r} must be a file upload (curl -F {key}=@path)", key)
        if key not in names and ALIASES.get(key) in names:
            key = ALIASES[key]
        texts.append((key, value))
    if "file" not in form or not isinstance(form["file"], UploadFile):
        raise InvalidArgument("no file uploaded: send it as the multipart field 'file' (curl -F file=@data.csv)", reason="MISSING_FILE", metadata={"field": "file"})
    for file_field in sorted(file_fields):
        upload = form.get(file_field)
        name_field = file_field[: -len("file")] + "filename"
        if isinstance(upload, UploadFile) and name_field in names:
            texts.append((name_field, upload.filename or "upload.csv"))
    return merge_json(metadata, strings_to_json(texts, metadata.DESCRIPTOR, where="form"), where="form")


def _form_error(message: str, field: str) -> InvalidArgument:
    return InvalidArgument(message, reason="INVALID_FIELD", metadata={"field": field, "location": "form"})


async def _requests(request_class, metadata: Message, files: list[tuple[str, UploadFile]]) -> AsyncIterator[Message]:
    yield request_class(metadata=metadata)
    for chunk_field, upload in files:
        while chunk := await upload.read(CHUNK_BYTES):
            yield request_class(**{chunk_field: chunk})


def limit_body(receive, limit: int):
    """`receive` that refuses a body over `limit` bytes before reading (Content-Length) or while reading."""
    seen = 0

    async def limited():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit)
        return message

    return limited


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"upload exceeds the gateway's {limit // MB} MB limit; raise FINETUNE_GATEWAY_MAX_UPLOAD_MB to accept it",
        metadata={"limit_bytes": limit},
    )


def check_content_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)
