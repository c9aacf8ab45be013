"""Request limits (issue 18, item 5): what a request may weigh and how long it may take.

- Uploads of the wrong type or size are refused before anything is written under the upload
  directory.
The body limit itself (413) is tests/web/test_body_limit.py; the upload limits,
tests/pipeline/test_uploads.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.pipeline import uploads
from app.pipeline.models import IdeaDocument
from app.pipeline.service import IdeaInput, create_idea
from tests.factories import csrf_token, fresh, login_as, make_user
from tests.pipeline.test_uploads import files_in, minimal_pdf


@pytest.fixture
def staff_with_idea(client, session):  # type: ignore[no-untyped-def]
    staff = make_user(session, role="staff")
    idea = create_idea(session, staff, IdeaInput(title="Conciergerie d'entreprises", origin="town"))
    login_as(client, staff, session)
    return idea


# --- uploads: refused before a byte is written ------------------------------------------------


@pytest.fixture
def no_writes_under_uploads(monkeypatch) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Records every temporary file the upload code opens (where it writes what it stores)."""
    opened: list[str] = []
    real = uploads.tempfile.mkstemp

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        fd, name = real(*args, **kwargs)
        opened.append(name)
        return fd, name

    monkeypatch.setattr(uploads.tempfile, "mkstemp", spy)
    yield opened


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"<html><script>alert(1)</script></html>", "etude.pdf", "ni un PDF"),
        (b"\x00\xff" * 300, "binaire.pdf", "ni un PDF"),
        (minimal_pdf() + b"0" * (1024 * 1024), "gros.pdf", "dépasse 1 Mo"),
        (b"", "vide.pdf", "est vide"),
    ],
    ids=["html", "binary", "too-large", "empty"],
)
def test_a_refused_document_is_never_written_under_the_upload_directory(
    client, session, settings, staff_with_idea, no_writes_under_uploads, data, name, message
):
    settings.max_upload_mb = 1
    response = client.post(
        f"/moderation/ideas/{staff_with_idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": (name, data, "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert message in response.text
    assert no_writes_under_uploads == []
    assert files_in(uploads.documents_dir(settings)) == []
    assert fresh(session).exec(select(func.count()).select_from(IdeaDocument)).one() == 0


def test_an_accepted_document_is_written_once(
    client, session, settings, staff_with_idea, no_writes_under_uploads
):
    response = client.post(
        f"/moderation/ideas/{staff_with_idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("etude.pdf", minimal_pdf(), "application/pdf")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert len(no_writes_under_uploads) == 1  # the spy sees the upload code's writes
    stored = fresh(session).exec(select(IdeaDocument)).one()
    assert files_in(uploads.documents_dir(settings)) == [stored.stored_name]
