"""Safe uploads (app.pipeline.uploads): the type comes from the content, the size is enforced
while reading with nothing left behind, names are cleaned — and the request-size limit refuses
an oversized upload before the form is read.

The small file builders here are used by the documents and partners tests too.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from fastapi import UploadFile
from sqlalchemy import func
from sqlmodel import select

from app.pipeline import uploads
from app.pipeline.models import IdeaDocument
from app.pipeline.service import IdeaInput, create_idea
from app.web.errors import Invalid
from tests.factories import csrf_token, fresh, login_as, make_user

# --- minimal real files -----------------------------------------------------------------------


def minimal_pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def minimal_png() -> bytes:
    """A real 1×1 PNG (signature, IHDR, IDAT, IEND with their CRCs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def minimal_jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def minimal_webp() -> bytes:
    body = b"WEBPVP8 " + struct.pack("<I", 4) + b"\x00\x00\x00\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def minimal_odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # As LibreOffice writes it: `mimetype` first and stored uncompressed.
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", "<manifest/>", zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def minimal_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "rien de spécial")
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(data: bytes, filename: str = "fichier.pdf") -> UploadFile:
    return UploadFile(file=io.BytesIO(data), filename=filename)


def files_in(directory: Path) -> list[str]:
    """Every entry of the directory, hidden temporary files included."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- save_upload --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type", "extension"),
    [
        (minimal_pdf(), "Étude d'opportunité.pdf", uploads.PDF, ".pdf"),
        (minimal_png(), "photo.png", uploads.PNG, ".png"),
        (minimal_jpeg(), "photo.jpeg", uploads.JPEG, ".jpg"),
        (minimal_webp(), "photo.webp", uploads.WEBP, ".webp"),
        (minimal_odt(), "compte-rendu.odt", uploads.ODT, ".odt"),
        (minimal_docx(), "compte-rendu.docx", uploads.DOCX, ".docx"),
        # The name does not matter, only the content does.
        (minimal_pdf(), "sans-extension", uploads.PDF, ".pdf"),
        (minimal_docx(), "rapport.pdf", uploads.DOCX, ".docx"),
    ],
)
def test_real_files_are_accepted_with_the_type_of_their_content(
    tmp_path, data, name, content_type, extension
):
    stored = uploads.save_upload(
        upload(data, name), allowed=uploads.DOCUMENT_TYPES, max_bytes=10_000, directory=tmp_path
    )
    assert stored.content_type == content_type
    assert stored.size == len(data)
    assert stored.original_name == name
    assert stored.stored_name.endswith(extension)
    assert name not in stored.stored_name
    assert files_in(tmp_path) == [stored.stored_name]
    assert (tmp_path / stored.stored_name).read_bytes() == data


def test_stored_names_are_random(tmp_path):
    names = {
        uploads.save_upload(
            upload(minimal_pdf(), "même-nom.pdf"),
            allowed=uploads.DOCUMENT_TYPES,
            max_bytes=10_000,
            directory=tmp_path,
        ).stored_name
        for _ in range(3)
    }
    assert len(names) == 3
    assert all(len(name) >= 30 for name in names)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (HTML, "report.pdf"),
        (SVG, "logo.png"),
        (b"MZ\x90\x00 an executable", "document.docx"),
        (plain_zip(), "document.odt"),
        (b"PK\x03\x04 not really a zip", "document.docx"),
        (b"just some text", "notes.pdf"),
    ],
)
def test_content_that_is_not_an_allowed_type_is_refused_whatever_its_name(tmp_path, data, name):
    with pytest.raises(Invalid) as refused:
        uploads.save_upload(
            upload(data, name), allowed=uploads.DOCUMENT_TYPES, max_bytes=10_000, directory=tmp_path
        )
    assert refused.value.errors == {
        "file": "Ce fichier n'est ni un PDF, ni un document ODT ou DOCX, ni une image."
    }
    assert files_in(tmp_path) == []


def test_an_odt_with_another_mimetype_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    with pytest.raises(Invalid):
        uploads.save_upload(
            upload(buffer.getvalue(), "tableur.odt"),
            allowed=uploads.DOCUMENT_TYPES,
            max_bytes=10_000,
            directory=tmp_path,
        )
    assert files_in(tmp_path) == []


def test_logos_refuse_svg_and_documents(tmp_path):
    for data, name in [(SVG, "logo.svg"), (minimal_pdf(), "logo.pdf")]:
        with pytest.raises(Invalid) as refused:
            uploads.save_upload(
                upload(data, name),
                allowed=uploads.LOGO_TYPES,
                max_bytes=10_000,
                directory=tmp_path,
                field="logo",
            )
        assert "SVG" in refused.value.errors["logo"]
    assert files_in(tmp_path) == []


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(Invalid) as refused:
        uploads.save_upload(
            upload(b"", "vide.pdf"),
            allowed=uploads.DOCUMENT_TYPES,
            max_bytes=10,
            directory=tmp_path,
        )
    assert refused.value.errors == {"file": "Le fichier est vide."}
    assert files_in(tmp_path) == []


class CountingFile(io.BytesIO):
    """Records how much the upload code read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_an_oversized_file_is_stopped_while_reading_and_nothing_is_left_on_disk(tmp_path):
    source = CountingFile(minimal_pdf() + b"0" * (5 * 1024 * 1024))
    with pytest.raises(Invalid) as refused:
        uploads.save_upload(
            UploadFile(file=source, filename="gros.pdf"),
            allowed=uploads.DOCUMENT_TYPES,
            max_bytes=1024 * 1024,
            directory=tmp_path,
        )
    assert refused.value.errors == {"file": "Le fichier dépasse 1 Mo."}
    # Stopped at the first chunk past the limit, not after reading the 5 MB.
    assert source.bytes_read <= 1024 * 1024 + uploads.CHUNK_SIZE
    assert files_in(tmp_path) == []


def test_a_file_of_exactly_the_limit_is_accepted(tmp_path):
    data = minimal_pdf().ljust(4096, b" ")
    stored = uploads.save_upload(
        upload(data), allowed=uploads.DOCUMENT_TYPES, max_bytes=4096, directory=tmp_path
    )
    assert stored.size == 4096


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/var/www/static/page.pdf", "page.pdf"),
        ("..", "document"),
        ("", "document"),
        (None, "document"),
        ("rap\x00port\r\n.pdf", "rapport.pdf"),
        ("facture\u202egpj.pdf", "facturegpj.pdf"),  # right-to-left override removed
        ("  .cache.pdf  ", "cache.pdf"),
        ("Étude d'opportunité — Mérignac.pdf", "Étude d'opportunité — Mérignac.pdf"),
    ],
)
def test_original_names_are_cleaned(raw, cleaned):
    assert uploads.clean_filename(raw) == cleaned


def test_long_names_are_cut_at_200_characters_keeping_the_extension():
    cleaned = uploads.clean_filename("a" * 500 + ".docx")
    assert len(cleaned) == 200
    assert cleaned.endswith(".docx")


def test_a_cleaned_name_is_stored_with_the_file(tmp_path):
    stored = uploads.save_upload(
        upload(minimal_pdf(), "../../../tmp/\x07évil.pdf"),
        allowed=uploads.DOCUMENT_TYPES,
        max_bytes=10_000,
        directory=tmp_path,
    )
    assert stored.original_name == "évil.pdf"
    assert files_in(tmp_path) == [stored.stored_name]
    assert stored.path.parent == tmp_path


def test_content_disposition_uses_rfc_5987_for_the_real_name():
    header = uploads.content_disposition('Étude "finale"; v2.pdf')
    assert header.startswith("attachment; ")
    assert 'filename="Etude _finale__ v2.pdf"' in header
    assert "filename*=UTF-8''%C3%89tude%20%22finale%22%3B%20v2.pdf" in header


def test_the_upload_directory_may_not_be_inside_static(settings):
    from app import PROJECT_ROOT

    settings.upload_dir = PROJECT_ROOT / "static" / "uploads"
    with pytest.raises(RuntimeError):
        uploads.documents_dir(settings)


def test_the_default_upload_directory_is_outside_static(settings):
    from app import PROJECT_ROOT

    root = uploads.upload_root(settings)
    assert (PROJECT_ROOT / "static").resolve() not in root.parents
    assert uploads.documents_dir(settings) == root / "documents"
    assert uploads.logos_dir(settings) == root / "logos"


# --- the limits on a real request -----------------------------------------------------------


@pytest.fixture
def staff_with_idea(client, session):
    staff = make_user(session, role="staff")
    idea = create_idea(session, staff, IdeaInput(title="Conciergerie d'entreprises", origin="town"))
    login_as(client, staff, session)
    return staff, idea


def _document_count(session) -> int:  # type: ignore[no-untyped-def]
    return fresh(session).exec(select(func.count()).select_from(IdeaDocument)).one()


def test_a_file_just_over_the_limit_is_refused_by_the_upload_with_nothing_on_disk(
    client, session, settings, staff_with_idea
):
    _staff, idea = staff_with_idea
    settings.max_upload_mb = 1
    data = minimal_pdf() + b"0" * (1024 * 1024)
    response = client.post(
        f"/moderation/ideas/{idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("etude.pdf", data, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "Le fichier dépasse 1 Mo." in response.text
    assert files_in(uploads.documents_dir(settings)) == []
    assert _document_count(session) == 0


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(
    client, session, settings, staff_with_idea
):
    _staff, idea = staff_with_idea
    settings.max_upload_mb = 1
    data = minimal_pdf() + b"0" * (3 * 1024 * 1024)
    response = client.post(
        f"/moderation/ideas/{idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("etude.pdf", data, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 413
    assert "ne doit pas dépasser 1 Mo" in response.text
    assert files_in(uploads.documents_dir(settings)) == []
    assert _document_count(session) == 0


def test_a_chunked_request_without_length_is_cut_off_at_the_limit(
    client, session, settings, staff_with_idea
):
    _staff, idea = staff_with_idea
    settings.max_upload_mb = 1
    boundary = "limite-de-test"

    def body():  # type: ignore[no-untyped-def]
        yield (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="gros.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode() + minimal_pdf()
        for _ in range(64):  # 4 MB in 64 KiB pieces
            yield b"0" * (64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        f"/moderation/ideas/{idea.id}/documents",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-CSRF-Token": csrf_token(client),
        },
        follow_redirects=False,
    )
    # 413, not the upload's 422: the body was counted as it came and cut off (the test client
    # buffers the whole body itself, so how much was sent proves nothing here).
    assert response.status_code == 413
    assert files_in(uploads.documents_dir(settings)) == []
    assert _document_count(session) == 0
