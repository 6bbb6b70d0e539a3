"""The signed file routes: PUT raw bytes to an upload URL, GET them back from a download URL.

They are not JSON tools (the body is the file), so they live here; tools/files.py decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from server.logs import request_id_var
from server.rest import JSON, error_response, in_db_thread, unhandled
from tools import files
from tools.context import Ctx
from tools.errors import SchemaValidationFailed, ToolError, schema_error
from tools.runner import in_transaction

T = TypeVar("T")


def _transaction(state: Any, func: Callable[[Ctx], T], name: str, *, write: bool) -> T:
    return in_transaction(state.db, state.services, func, name=name, write=write, request_id=request_id_var.get())


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            message = f"The upload is larger than the limit of {limit} bytes."
            raise SchemaValidationFailed(message, errors=[schema_error("", message)])
        chunks.append(chunk)
    return b"".join(chunks)


def routes(state: Any) -> list[Route]:
    async def upload(request: Request) -> Response:
        request_id = request_id_var.get()
        file_id = request.path_params["file_id"]
        query = request.query_params
        try:
            data = await _read_body(request, state.services.config.upload_max_bytes)

            def run(ctx: Ctx) -> files.UploadReceipt:
                return files.receive_upload(
                    ctx, file_id, expires=query.get("expires"), signature=query.get("signature"), data=data
                )

            receipt = await in_db_thread(state, lambda: _transaction(state, run, "upload_file", write=True))
        except ToolError as exc:
            return error_response(exc, request_id)
        except Exception as exc:
            return await unhandled(request, exc)
        body = json.dumps(receipt.model_dump(mode="json"))
        return Response(body, media_type=JSON, headers={"X-Request-Id": request_id})

    async def download(request: Request) -> Response:
        request_id = request_id_var.get()
        file_id = request.path_params["file_id"]
        query = request.query_params

        def run(ctx: Ctx) -> files.Download:
            return files.open_download(ctx, file_id, expires=query.get("expires"), signature=query.get("signature"))

        try:
            found = await in_db_thread(state, lambda: _transaction(state, run, "download_file", write=False))
        except ToolError as exc:
            return error_response(exc, request_id)
        except Exception as exc:
            return await unhandled(request, exc)
        return FileResponse(
            found.path,
            media_type=found.content_type,
            filename=found.filename,
            content_disposition_type="inline",
            headers={"X-Request-Id": request_id, "Cache-Control": "private, max-age=60"},
        )

    path = files.content_path("{file_id}")
    return [
        Route(path, upload, methods=["PUT"], name="upload_file"),
        Route(path, download, methods=["GET", "HEAD"], name="download_file"),
    ]
