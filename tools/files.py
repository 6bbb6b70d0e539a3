"""Files: presigned upload URLs, the upload itself, signed download URLs.

URLs are signed with HMAC-SHA256 over the method, the file id and the expiry, keyed with
config.secret_key, so the upload and download routes need no API key: the URL is the permission.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from tools.errors import NotFound, PolicyBlocked, SchemaValidationFailed, schema_error
from tools.ids import new_id
from tools.models import Principal, StoredFile
from tools.ports import Config, FileStore
from tools.registry import tool

if TYPE_CHECKING:
    from tools.context import Ctx

ContentType = Literal[
    "image/jpeg",
    "image/png",
    "image/heic",
    "video/mp4",
    "video/quicktime",
    "audio/wav",
    "audio/x-wav",
    "audio/mpeg",
    "audio/mp4",
    "application/pdf",
]


def content_path(file_id: str) -> str:
    return f"/v1/files/{file_id}/content"


def sign(config: Config, method: str, file_id: str, expires: int) -> str:
    message = f"{method.upper()}\n{file_id}\n{expires}".encode()
    return hmac.new(config.secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed_url(config: Config, method: str, file_id: str, *, now: datetime) -> tuple[str, datetime]:
    """A URL allowing `method` on the file's content until the returned expiry."""
    expires_at = (now + timedelta(seconds=config.url_ttl_seconds)).replace(microsecond=0)
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": sign(config, method, file_id, expires)})
    return f"{config.base_url}{content_path(file_id)}?{query}", expires_at


def verify(ctx: Ctx, method: str, file_id: str, expires: str | None, signature: str | None) -> None:
    """403 unless the URL was signed by us for this method and file and has not expired."""
    if not expires or not expires.isdigit() or not signature:
        raise PolicyBlocked("This URL is not signed: ask for a new one.", file_id=file_id)
    expected = sign(ctx.config, method, file_id, int(expires))
    if not hmac.compare_digest(expected, signature):
        raise PolicyBlocked("This URL's signature is invalid: ask for a new one.", file_id=file_id)
    expired_at = datetime.fromtimestamp(int(expires), UTC)
    if ctx.now() >= expired_at:
        raise PolicyBlocked(
            f"This URL expired at {expired_at.isoformat()}: ask for a new one "
            "(presign again to upload; read the work order again to download).",
            file_id=file_id,
            expired_at=expired_at.isoformat(),
        )


def store(ctx: Ctx) -> FileStore:
    if ctx.services.files is None:
        raise RuntimeError("no file store is configured (services.files)")
    return ctx.services.files


class PresignUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255, description="The file's name, e.g. IMG_0001.jpg.")
    content_type: ContentType = Field(description="The MIME type of the bytes you will upload.")
    size: int = Field(ge=1, description="The exact size in bytes; the upload must match it.")


class UploadTicket(BaseModel):
    file_id: str
    object: Literal["file_upload"] = "file_upload"
    upload_url: str
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str]
    expires_at: datetime


@tool(method="POST", path="/v1/files/presign", scope="files:write", status=201, title="Get an upload URL")
def presign_upload(ctx: Ctx, cmd: PresignUpload) -> UploadTicket:
    """Get a presigned URL to upload one file; PUT the raw bytes to it within 15 minutes.

    Then register the uploaded file on a work order with register_deliverables (talent). The
    size must be exact and at most the server's upload limit.
    """
    limit = ctx.config.upload_max_bytes
    if cmd.size > limit:
        raise SchemaValidationFailed(
            f"The file is too large: {cmd.size} bytes, the limit is {limit}.",
            errors=[schema_error("/size", f"{cmd.size} is above the limit of {limit} bytes")],
        )
    now = ctx.now()
    file = StoredFile(
        id=new_id("file"),
        owner_id=ctx.me.id,
        filename=cmd.filename,
        content_type=cmd.content_type,
        size=cmd.size,
        created_at=now,
        expires_at=now,
    )
    url, file.expires_at = signed_url(ctx.config, "PUT", file.id, now=now)
    ctx.session.add(file)
    ctx.audit(file, "file.presigned")
    return UploadTicket(
        file_id=file.id, upload_url=url, headers={"Content-Type": cmd.content_type}, expires_at=file.expires_at
    )


class UploadReceipt(BaseModel):
    file_id: str
    object: Literal["file"] = "file"
    status: Literal["uploaded"] = "uploaded"
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Download:
    path: str
    content_type: str
    filename: str


def receive_upload(ctx: Ctx, file_id: str, *, expires: str | None, signature: str | None, data: bytes) -> UploadReceipt:
    """Check the signed PUT, store the bytes and mark the file uploaded (the upload route calls it)."""
    verify(ctx, "PUT", file_id, expires, signature)
    file = ctx.session.get(StoredFile, file_id)
    if file is None:
        raise NotFound(f"No file {file_id!r}.", id=file_id)
    ctx.principal = ctx.session.get(Principal, file.owner_id)  # the signed URL acts for its owner
    digest = hashlib.sha256(data).hexdigest()
    if file.status == "uploaded":
        if file.sha256 == digest:  # a retried PUT of the same bytes is answered again
            return _receipt(file)
        raise PolicyBlocked(
            f"File {file_id} is already uploaded; presign a new file to upload other bytes.",
            file_id=file_id,
            current_status=file.status,
        )
    if len(data) != file.size:
        raise SchemaValidationFailed(
            f"The upload has {len(data)} bytes but {file.size} were announced at presign.",
            errors=[schema_error("", f"expected {file.size} bytes, got {len(data)}")],
        )
    store(ctx).put(file.id, data)
    file.status, file.sha256, file.uploaded_at = "uploaded", digest, ctx.now()
    ctx.session.add(file)
    ctx.audit(file, "file.uploaded")
    return _receipt(file)


def _receipt(file: StoredFile) -> UploadReceipt:
    return UploadReceipt(
        file_id=file.id,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        sha256=file.sha256 or "",
    )


def open_download(ctx: Ctx, file_id: str, *, expires: str | None, signature: str | None) -> Download:
    """Check the signed GET and say where the bytes are (the download route serves them)."""
    verify(ctx, "GET", file_id, expires, signature)
    file = ctx.session.get(StoredFile, file_id)
    if file is None or file.status != "uploaded" or not store(ctx).exists(file.id):
        raise NotFound(f"No uploaded file {file_id!r}.", id=file_id)
    return Download(path=store(ctx).path(file.id), content_type=file.content_type, filename=file.filename)
