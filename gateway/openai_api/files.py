"""`/files`: OpenAI's Files API over the dataset service. A file is a dataset; its id is the dataset's id.

Upload (`purpose=fine-tune`) takes OpenAI's chat JSONL (`messages`, converted by `gateway.openai_api.chat`)
or any file the dataset service takes (CSV, TSV, JSONL of input/output). A problem with the file is a 400
naming the line or rows. `GET /files/{id}/content` answers the rows the platform trains on, as
input/output JSONL (the training split, then the validation split).
"""

from __future__ import annotations

import json
from typing import AsyncIterator

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from finetune.dataset.v1 import dataset_pb2, dataset_service_pb2 as dpb
from gateway.errors import ApiError
from gateway.openai_api.calls import after_cursor, client_stream, page_limit, server_stream, unary
from gateway.openai_api.chat import chat_file_to_rows, is_chat_file
from gateway.openai_api.errors import OpenAIError, endpoint
from gateway.uploads import CHUNK_BYTES, check_content_length, limit_body

PURPOSE = "fine-tune"
FILE_TAG = "openai-file"  # datasets made through this API carry it (list shows every dataset, though)


def file_object(dataset: dataset_pb2.Dataset) -> dict:
    return {"id": dataset.uid, "object": "file", "bytes": dataset.size_bytes, "created_at": dataset.create_time.seconds,
            "filename": dataset.filename, "purpose": PURPOSE, "status": "processed", "expires_at": None, "status_details": None}


async def get_dataset(request: Request, file_id: str, param: str = "file_id", status: int = 404) -> dataset_pb2.Dataset:
    """The dataset behind a file id; a missing one is a 404 (a 400 where a request names it as a parameter)."""
    try:
        return await unary(request, "dataset", "GetDataset", dpb.GetDatasetRequest(name=f"datasets/{file_id}"), dataset_pb2.Dataset)
    except ApiError as exc:
        if exc.status_code in (400, 404):
            raise OpenAIError(status, f"No such File object: {file_id}", param=param, code="file_not_found") from None
        raise


@endpoint
async def create_file(request: Request) -> JSONResponse:
    limit = request.app.state.max_upload_bytes
    check_content_length(request, limit)  # the gateway's upload limit, before and while reading (gateway.uploads)
    try:
        form = await Request(request.scope, limit_body(request.receive, limit)).form(max_files=1, max_fields=8)
    except HTTPException as exc:
        raise OpenAIError(400, f"send multipart/form-data with 'file' and 'purpose': {exc.detail}", code="invalid_multipart") from None
    try:
        purpose, upload = form.get("purpose"), form.get("file")
        if purpose != PURPOSE:
            raise OpenAIError(400, f"purpose must be 'fine-tune' (the only files this platform takes), got {purpose!r}",
                              param="purpose", code="invalid_value")
        if not isinstance(upload, UploadFile):
            raise OpenAIError(400, "Missing required parameter: 'file' (a multipart file)", param="file", code="missing_required_parameter")
        data = await upload.read()
        filename = upload.filename or "upload.jsonl"
    finally:
        await form.close()
    if is_chat_file(data):
        data = chat_file_to_rows(data)
        stored_name = filename if filename.endswith(".jsonl") else filename + ".jsonl"
    else:
        stored_name = filename
    metadata = dpb.UploadMetadata(filename=stored_name, display_name=filename, tags=[FILE_TAG])
    try:
        dataset = await client_stream(request, "dataset", "UploadDataset", _chunks(metadata, data), dpb.UploadDatasetRequest, dataset_pb2.Dataset)
    except ApiError as exc:
        if exc.status_code == 400:  # the dataset service's words name the rows and what to fix
            raise OpenAIError(400, f"the file was not accepted: {exc.message}", param="file", code="invalid_file") from None
        raise
    return JSONResponse(file_object(dataset) | {"bytes": len(data)})


async def _chunks(metadata: dpb.UploadMetadata, data: bytes) -> AsyncIterator[dpb.UploadDatasetRequest]:
    yield dpb.UploadDatasetRequest(metadata=metadata)
    for start in range(0, len(data), CHUNK_BYTES):
        yield dpb.UploadDatasetRequest(chunk=data[start:start + CHUNK_BYTES])


@endpoint
async def list_files(request: Request) -> JSONResponse:
    purpose = request.query_params.get("purpose")
    if purpose not in (None, PURPOSE):
        return JSONResponse({"object": "list", "data": [], "has_more": False})
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise OpenAIError(400, f"order must be 'asc' or 'desc', got {order!r}", param="order", code="invalid_value")
    listed = await unary(request, "dataset", "ListDatasets", dpb.ListDatasetsRequest(page_size=1000), dpb.ListDatasetsResponse)
    files = sorted((file_object(d) for d in listed.datasets), key=lambda f: (f["created_at"], f["id"]), reverse=order == "desc")
    return JSONResponse(after_cursor(files, request.query_params.get("after"), page_limit(request, 10000, 10000)))


@endpoint
async def retrieve_file(request: Request) -> JSONResponse:
    return JSONResponse(file_object(await get_dataset(request, request.path_params["file_id"])))


@endpoint
async def delete_file(request: Request) -> JSONResponse:
    dataset = await get_dataset(request, request.path_params["file_id"])
    from google.protobuf import empty_pb2

    try:
        await unary(request, "dataset", "DeleteDataset", dpb.DeleteDatasetRequest(name=dataset.name), empty_pb2.Empty)
    except ApiError as exc:
        if exc.reason == "DATASET_IN_USE":
            raise OpenAIError(409, exc.message, param="file_id", code="file_in_use") from None
        raise
    return JSONResponse({"id": dataset.uid, "object": "file", "deleted": True})


async def rows_jsonl(request: Request, dataset: dataset_pb2.Dataset, splits=None) -> AsyncIterator[bytes]:
    """The dataset's rows as input/output JSONL: the training split, then the validation split (if it has one)."""
    splits = splits or [dataset_pb2.SPLIT_TRAIN] + ([dataset_pb2.SPLIT_VALIDATION] if dataset.validation_rows else [])
    for split in splits:
        stream = server_stream(request, "dataset", "ReadDatasetRows", dpb.ReadDatasetRowsRequest(name=dataset.name, split=split),
                               dpb.ReadDatasetRowsResponse)
        async for batch in stream:
            yield "".join(json.dumps({"input": r.input, "output": r.output}, ensure_ascii=False) + "\n" for r in batch.rows).encode()


@endpoint
async def file_content(request: Request) -> StreamingResponse:
    dataset = await get_dataset(request, request.path_params["file_id"])
    return StreamingResponse(rows_jsonl(request, dataset), media_type="application/jsonl")


ROUTES = [
    Route("/files", create_file, methods=["POST"]),
    Route("/files", list_files, methods=["GET"]),
    Route("/files/{file_id}", retrieve_file, methods=["GET"]),
    Route("/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/files/{file_id}/content", file_content, methods=["GET"]),
]
