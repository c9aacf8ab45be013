"""Safe file uploads (issue 5 items 4 and 6): idea documents and partner logos.

Which limit holds where:
1. `UploadRoute` (the route class of the upload routes) refuses a request whose Content-Length
   is above the file limit plus FORM_MARGIN with a 413, before anything reads the body (the
   CSRF check and FastAPI would otherwise parse — and python-multipart spool to a temporary
   file — the whole form first). A body sent without Content-Length (chunked) is counted while
   it is received and cut off at the same limit.
2. `save_upload()` enforces the exact per-file limit (BOURSE_MAX_UPLOAD_MB for documents,
   LOGO_MAX_BYTES for logos) and the type on the file as received (python-multipart's spooled
   file), before anything is written under the upload directory; the copy in chunks stops at
   the limit too, deleting the partial file.
The type is read from the content (magic numbers, and for ODT / DOCX the ZIP's entries), never
from the name or the Content-Type the browser sent. Files are stored outside static/ (under
BOURSE_UPLOAD_DIR, default data/uploads) under a random name; the original name is cleaned
and only ever used in a Content-Disposition header.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from fastapi import Request, Response, UploadFile
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from app import RESOURCES
from app.core.settings import Settings
from app.web.errors import AppError, Invalid
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

CHUNK_SIZE = 64 * 1024
# What a form adds around its file (boundaries, CSRF token, a few short fields).
FORM_MARGIN = 256 * 1024
LOGO_MAX_BYTES = 2 * 1024 * 1024
ORIGINAL_NAME_MAX = 200

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EXTENSIONS = {
    PDF: ".pdf",
    PNG: ".png",
    JPEG: ".jpg",
    GIF: ".gif",
    WEBP: ".webp",
    ODT: ".odt",
    DOCX: ".docx",
}
DOCUMENT_TYPES = frozenset(EXTENSIONS)
# No SVG: it is XML that can carry scripts.
LOGO_TYPES = frozenset({PNG, JPEG, WEBP})


@dataclass(frozen=True)
class StoredFile:
    stored_name: str  # random, with the extension of the detected type
    content_type: str  # detected from the content
    size: int
    original_name: str  # cleaned; for Content-Disposition only
    path: Path


# --- where files live -------------------------------------------------------------------------


def upload_root(settings: Settings) -> Path:
    root = settings.uploads_path.resolve()
    static = (RESOURCES / "static").resolve()
    if root == static or static in root.parents:
        # Anything under static/ would be served to everyone, with a guessed type.
        raise RuntimeError("BOURSE_UPLOAD_DIR must not be inside static/")
    return root


def documents_dir(settings: Settings) -> Path:
    path = upload_root(settings) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def logos_dir(settings: Settings) -> Path:
    path = upload_root(settings) / "logos"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(directory: Path, stored_name: str) -> Path | None:
    """The file of a stored name, or None when the name could leave the directory."""
    if not stored_name or "/" in stored_name or "\\" in stored_name or stored_name[0] == ".":
        return None
    return directory / stored_name


def logo_response(path: Path, media_type: str | None) -> FileResponse:
    """A stored logo (the fabrique's or a partner's), checked as an image when uploaded but
    never trusted: not sniffed, nothing in it runs. Pages link it with ?v=<stored name>, so a
    new logo is a new address and this one may be cached for good."""
    return FileResponse(
        path,
        media_type=media_type or "application/octet-stream",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def remove_file(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# --- names ------------------------------------------------------------------------------------


def clean_filename(raw: str | None, *, fallback: str = "document") -> str:
    """The base name only (no directory, no `..`), without control or invisible formatting
    characters (e.g. right-to-left overrides), at most 200 characters, extension kept."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Zl", "Zp"})
    name = " ".join(name.split()).strip(" .")
    if not name:
        name = fallback
    if len(name) > ORIGINAL_NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: ORIGINAL_NAME_MAX - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:ORIGINAL_NAME_MAX]
    return name


def content_disposition(original_name: str, disposition: str = "attachment") -> str:
    """`attachment; filename="ascii"; filename*=UTF-8''…` (RFC 6266 / RFC 5987)."""
    ascii_name = (
        unicodedata.normalize("NFKD", original_name).encode("ascii", "ignore").decode("ascii")
    )
    ascii_name = "".join(
        c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name
    ).strip()
    ascii_name = ascii_name or "document"
    encoded = quote(original_name, safe="")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


# --- types ------------------------------------------------------------------------------------


def _zip_type(source: IO[bytes]) -> str | None:
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            if not entries:
                return None
            first = entries[0]
            # ODT: the first entry is an uncompressed `mimetype` file naming the type.
            if (
                first.filename == "mimetype"
                and first.file_size < 100
                and archive.read(first).strip() == ODT.encode()
            ):
                return ODT
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        return None
    return None


def detect_type(source: IO[bytes]) -> str | None:
    """The MIME type of a file from its first bytes (and its ZIP entries), or None."""
    source.seek(0)
    head = source.read(16)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(source)
    return None


def _type_message(allowed: set[str] | frozenset[str]) -> str:
    if allowed <= LOGO_TYPES:
        return _("Le logo doit être une image PNG, JPEG ou WebP (le format SVG n'est pas accepté).")
    return _("Ce fichier n'est ni un PDF, ni un document ODT ou DOCX, ni une image.")


def format_mb(max_bytes: int) -> str:
    mb = max_bytes / (1024 * 1024)
    return str(int(mb)) if mb == int(mb) else f"{mb:.1f}".replace(".", ",")


# --- saving -----------------------------------------------------------------------------------


def save_upload(
    upload: UploadFile,
    *,
    allowed: set[str] | frozenset[str],
    max_bytes: int,
    directory: Path,
    field: str = "file",
) -> StoredFile:
    """Copies `upload` in chunks into `directory` under a random name and returns what was
    stored. Raises Invalid({field: message}) when the file is empty, larger than `max_bytes` or
    of a type not in `allowed` — judged on the file as received, before a byte of it is
    written under `directory` (the copy still stops at the limit, should the file grow)."""
    source = upload.file
    received = source.seek(0, os.SEEK_END)
    if received > max_bytes:
        raise Invalid({field: _("Le fichier dépasse %(mb)s Mo.", mb=format_mb(max_bytes))})
    if received == 0:
        raise Invalid({field: _("Le fichier est vide.")})
    content_type = detect_type(source)
    if content_type is None or content_type not in allowed:
        raise Invalid({field: _type_message(allowed)})
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
    temp = Path(temp_name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            source.seek(0)
            while chunk := source.read(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:
                    raise Invalid(
                        {field: _("Le fichier dépasse %(mb)s Mo.", mb=format_mb(max_bytes))}
                    )
                out.write(chunk)
        if size == 0:
            raise Invalid({field: _("Le fichier est vide.")})
        stored_name = secrets.token_urlsafe(24) + EXTENSIONS[content_type]
        final = directory / stored_name
        os.replace(temp, final)
    except BaseException:
        remove_file(temp)
        raise
    return StoredFile(
        stored_name=stored_name,
        content_type=content_type,
        size=size,
        original_name=clean_filename(upload.filename, fallback="document"),
        path=final,
    )


def has_file(upload: object) -> bool:
    """Whether the form really carried a file (an empty file input sends a part with no name)."""
    return isinstance(upload, StarletteUploadFile) and bool(upload.filename)


# --- the request-size limit -------------------------------------------------------------------

TOO_LARGE = N_("L'envoi dépasse la taille autorisée : le fichier ne doit pas dépasser %(mb)s Mo.")


class RequestTooLarge(AppError, StarletteHTTPException):
    """413. Also a Starlette HTTPException, so that FastAPI lets it through unchanged when it is
    raised while the body is being parsed (it turns any other error there into a 400)."""

    status_code = 413
    title = N_("Envoi trop volumineux")

    def __init__(self, max_bytes: int) -> None:
        # Not AppError.__init__: through the MRO its super() would be HTTPException's.
        StarletteHTTPException.__init__(
            self, status_code=413, detail=_(TOO_LARGE, mb=format_mb(max_bytes))
        )
        self.headers: dict[str, str] = {}


LimitFor = Callable[[Settings], int]


def upload_limit(limit_for: LimitFor) -> Callable[[Any], Any]:
    """Marks an endpoint of an `UploadRoute` router with its file limit (from the settings)."""

    def mark(endpoint: Any) -> Any:
        endpoint.__upload_limit__ = limit_for
        return endpoint

    return mark


def document_limit(settings: Settings) -> int:
    return settings.max_upload_mb * 1024 * 1024


def logo_limit(settings: Settings) -> int:
    return min(LOGO_MAX_BYTES, document_limit(settings))


class UploadRoute(APIRoute):
    """Route class whose marked endpoints refuse an oversized body before it is read (see the
    module docstring). A route class rather than a dependency: dependencies run after FastAPI
    and the router-wide CSRF check have already parsed the multipart body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit_for: LimitFor | None = getattr(self.endpoint, "__upload_limit__", None)
        if limit_for is None:
            return handler

        async def limited(request: Request) -> Response:
            file_limit = limit_for(request.app.state.settings)
            limit = file_limit + FORM_MARGIN
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise RequestTooLarge(file_limit)
            received = 0
            receive = request.receive

            async def counting_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise RequestTooLarge(file_limit)
                return message

            return await handler(Request(request.scope, counting_receive))

        return limited
