"""Documents on an idea: staff upload, download as an attachment, delete — audited, never
reachable without a staff session, never under /static."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlmodel import select

from app.core.audit import AuditEntry
from app.pipeline import uploads
from app.pipeline.documents import documents_panel
from app.pipeline.models import IdeaDocument
from app.pipeline.service import IdeaInput, create_idea
from app.web.templating import render_to_string
from tests.factories import csrf_token, fresh, login_as, page_text
from tests.moderation.access import browser_as
from tests.pipeline.test_uploads import HTML, files_in, minimal_docx, minimal_pdf, minimal_png


@pytest.fixture
def idea(session, staff_user):  # type: ignore[no-untyped-def]
    return create_idea(session, staff_user, IdeaInput(title="Club services 33", origin="town"))


def _upload(client, idea_id, name, data, content_type="application/pdf", stage=""):  # type: ignore[no-untyped-def]
    return client.post(
        f"/moderation/ideas/{idea_id}/documents",
        data={"csrf_token": csrf_token(client), "stage": stage},
        files={"file": (name, data, content_type)},
        follow_redirects=False,
    )


def _documents(session) -> list[IdeaDocument]:  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(IdeaDocument).order_by(IdeaDocument.id)))


def _audit(session, action):  # type: ignore[no-untyped-def]
    return list(fresh(session).exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_staff_attach_a_pdf_to_an_idea(client, session, settings, staff_user, idea):
    login_as(client, staff_user, session)
    response = _upload(client, idea.id, "Étude d'opportunité.pdf", minimal_pdf(), stage="studying")
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/moderation/ideas/{idea.id}")
    assert response.headers["location"].endswith("#documents")
    [document] = _documents(session)
    assert document.idea_id == idea.id
    assert document.original_name == "Étude d'opportunité.pdf"
    assert document.content_type == "application/pdf"
    assert document.size == len(minimal_pdf())
    assert document.stage == "studying"
    assert document.uploaded_by_id == staff_user.id
    assert files_in(uploads.documents_dir(settings)) == [document.stored_name]
    [entry] = _audit(session, "idea.document_add")
    assert entry.actor_id == staff_user.id
    assert entry.target_kind == "idea" and entry.target_id == idea.id
    assert entry.after["name"] == "Étude d'opportunité.pdf"


def test_the_type_comes_from_the_content_not_the_name_nor_the_browser(
    client, session, staff_user, idea
):
    login_as(client, staff_user, session)
    response = _upload(client, idea.id, "compte-rendu.pdf", minimal_docx(), "application/pdf")
    assert response.status_code == 303
    [document] = _documents(session)
    assert document.content_type == uploads.DOCX
    assert document.stored_name.endswith(".docx")


def test_an_html_page_named_pdf_is_refused_and_nothing_is_written(
    client, session, settings, staff_user, idea
):
    login_as(client, staff_user, session)
    response = _upload(client, idea.id, "report.pdf", HTML)
    assert response.status_code == 422
    assert "Ce fichier n'est ni un PDF, ni un document ODT ou DOCX, ni une image." in page_text(
        response.text
    )
    assert _documents(session) == []
    assert _audit(session, "idea.document_add") == []
    assert files_in(uploads.documents_dir(settings)) == []


def test_an_empty_file_is_refused(client, session, settings, staff_user, idea):
    login_as(client, staff_user, session)
    response = _upload(client, idea.id, "vide.pdf", b"")
    assert response.status_code == 422
    assert "Le fichier est vide." in response.text
    assert _documents(session) == []
    assert files_in(uploads.documents_dir(settings)) == []


def test_a_form_without_a_file_or_with_an_unknown_stage_is_refused(
    client, session, staff_user, idea
):
    login_as(client, staff_user, session)
    response = client.post(
        f"/moderation/ideas/{idea.id}/documents",
        data={"csrf_token": csrf_token(client)},
        files={"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert "Choisissez un fichier à joindre." in response.text
    response = _upload(client, idea.id, "etude.pdf", minimal_pdf(), stage="bientot")
    assert response.status_code == 422
    assert "Choisissez une étape dans la liste." in response.text
    assert _documents(session) == []


def test_an_unknown_idea_is_a_404(client, session, staff_user):
    login_as(client, staff_user, session)
    assert _upload(client, 999_999, "etude.pdf", minimal_pdf()).status_code == 404
    assert _upload(client, 2**40, "etude.pdf", minimal_pdf()).status_code == 404
    assert _documents(session) == []


def test_a_download_is_an_attachment_of_the_detected_type(client, session, staff_user, idea):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "Étude d’opportunité – v2.pdf", minimal_pdf(), "text/html")
    [document] = _documents(session)
    response = client.get(f"/moderation/documents/{document.id}")
    assert response.status_code == 200
    assert response.content == minimal_pdf()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    encoded = quote("Étude d’opportunité – v2.pdf", safe="")
    assert f"filename*=UTF-8''{encoded}" in disposition
    assert "sandbox" in response.headers["content-security-policy"]


@pytest.mark.parametrize("who", ["anonymous", "resident", "blocked resident", "moderator"])
def test_documents_are_never_served_without_a_staff_session(client, session, staff_user, idea, who):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "secret.pdf", minimal_pdf())
    [document] = _documents(session)
    client.cookies.clear()
    browser_as(client, session, who)
    response = client.get(f"/moderation/documents/{document.id}", follow_redirects=False)
    assert response.status_code == (303 if who == "anonymous" else 403)
    assert minimal_pdf() not in response.content
    if who == "anonymous":
        assert response.headers["location"].startswith("/account/login?next=/moderation/documents")


def test_the_documents_directory_is_not_reachable_through_static(
    client, session, settings, staff_user, idea
):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "secret.pdf", minimal_pdf())
    [document] = _documents(session)
    name = document.stored_name
    # Nothing under static/ holds it…
    from app import PROJECT_ROOT

    assert not list((PROJECT_ROOT / "static").rglob(name))
    # …and no address under /static reaches it, even with dot segments.
    client.cookies.clear()
    for path in [
        f"/static/{name}",
        f"/static/documents/{name}",
        f"/static/uploads/documents/{name}",
        f"/static/../data/uploads/documents/{name}",
        f"/static/%2e%2e/%2e%2e/data/uploads/documents/{name}",
        f"/static/..%2f..%2f{settings.uploads_path}/documents/{name}",
    ]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (404, 400), path
        assert minimal_pdf() not in response.content


def test_staff_delete_a_document_and_its_file(client, session, settings, staff_user, idea):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "a-supprimer.pdf", minimal_pdf())
    [document] = _documents(session)
    document_id = document.id
    response = client.post(
        f"/moderation/documents/{document_id}/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/moderation/ideas/{idea.id}")
    assert _documents(session) == []
    assert files_in(uploads.documents_dir(settings)) == []
    [entry] = _audit(session, "idea.document_delete")
    assert entry.before["name"] == "a-supprimer.pdf"
    assert client.get(f"/moderation/documents/{document_id}").status_code == 404
    again = client.post(
        f"/moderation/documents/{document_id}/delete",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert again.status_code == 404


def test_a_document_whose_file_is_gone_is_a_404_not_a_500(
    client, session, settings, staff_user, idea
):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "etude.pdf", minimal_pdf())
    [document] = _documents(session)
    (uploads.documents_dir(settings) / document.stored_name).unlink()
    assert client.get(f"/moderation/documents/{document.id}").status_code == 404


def test_the_panel_lists_the_documents_for_the_idea_page(client, session, staff_user, idea):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "etude.pdf", minimal_pdf(), stage="studying")
    _upload(client, idea.id, "photo.png", minimal_png(), "image/png")
    context = documents_panel(fresh(session), idea, staff_user)
    assert [d.original_name for d in context["documents"]] == ["photo.png", "etude.pdf"]
    assert context["document_max_mb"] == 10
    html = render_to_string(
        "pipeline/_documents.html",
        {"idea": idea, "csrf_token": "t", "current_user": staff_user, **context},
    )
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    # The partial is the body of the page's #documents section (pipeline/idea.html gives it).
    links = [a.attributes["href"] for a in tree.css("tbody a")]
    assert links == [f"/moderation/documents/{d.id}" for d in context["documents"]]
    assert tree.css_first("table caption") is not None
    file_input = tree.css_first("input[type=file]")
    assert tree.css_first(f"label[for={file_input.attributes['id']}]") is not None
    assert tree.css_first("form[enctype='multipart/form-data'] input[name=csrf_token]") is not None


def test_the_panel_shows_a_refused_upload_beside_its_field(session, staff_user, idea):
    context = documents_panel(session, idea, staff_user)
    html = render_to_string(
        "pipeline/_documents.html",
        {
            "idea": idea,
            "csrf_token": "t",
            "current_user": staff_user,
            **context,
            "document_errors": {"file": "Le fichier est vide."},
            "document_values": {"stage": ""},
        },
    )
    from selectolax.lexbor import LexborHTMLParser

    field = LexborHTMLParser(html).css_first("#f-document-file")
    assert field.attributes["aria-invalid"] == "true"
    assert "f-document-file-error" in field.attributes["aria-describedby"]
    assert "Le fichier est vide." in html


def test_the_idea_page_shows_the_documents_panel(client, session, staff_user, idea):
    login_as(client, staff_user, session)
    _upload(client, idea.id, "etude.pdf", minimal_pdf())
    [document] = _documents(session)
    response = client.get(f"/moderation/ideas/{idea.id}?done=document_added")
    assert response.status_code == 200
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(response.text)
    panel = tree.css_first("section#documents")
    assert panel is not None
    assert panel.css_first("tbody a").attributes["href"] == f"/moderation/documents/{document.id}"
    assert "Document ajouté." in page_text(response.text)


def test_a_refused_upload_shows_the_idea_page_with_the_message_beside_the_field(
    client, session, staff_user, idea
):
    login_as(client, staff_user, session)
    response = _upload(client, idea.id, "report.pdf", HTML)
    assert response.status_code == 422
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(response.text)
    assert tree.css_first("h1") is not None and idea.title in tree.css_first("h1").text()
    field = tree.css_first("section#documents #f-document-file")
    assert field.attributes["aria-invalid"] == "true"
    error = tree.css_first("#f-document-file-error").text()
    assert error == "Ce fichier n'est ni un PDF, ni un document ODT ou DOCX, ni une image."
