"""Issue 6's "done when", in a browser: a partner chooses filters on /partners/embed, sees the
preview change, copies the one-line code, pastes it in a page of their own website (another
origin) and sees there the needs of their territory, in an iframe sized to its content, whose
links open the site in a new tab and carry the partner's code; the arrival is counted."""

from __future__ import annotations

import contextlib
import http.server
import itertools
import threading
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.board.models import Territory
from app.board.service import NeedInput, create_need
from app.core.clock import local_today
from app.core.db import make_engine
from app.core.settings import ModerationMode
from app.pipeline.models import Partner
from app.syndication.models import PartnerReferralDay

pytestmark = pytest.mark.e2e
_n = itertools.count(1)
PARTNER_SITE = "http://mairie-partenaire.test"


@pytest.fixture(scope="module")
def town(live_server):  # type: ignore[no-untyped-def]
    """Two territories with a need each, and a partner town; returns their names."""
    run = next(_n)
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        here = Territory(slug=f"bourg-{run}", name=f"Bourg {run}", position=90 + run)
        there = Territory(slug=f"val-{run}", name=f"Val {run}", position=95 + run)
        partner = Partner(slug=f"mairie-bourg-{run}", name=f"Mairie de Bourg {run}", kind="town")
        session.add_all([here, there, partner])
        session.commit()
        author = accounts.create_user(
            session, f"habitante-embed{run}@exemple.fr", display_name="Habitante", verified=True
        )
        for title, territory in (
            (f"Une laverie solidaire au centre-bourg {run}", here),
            (f"Un minibus pour le marché du val {run}", there),
        ):
            create_need(
                session,
                author,
                NeedInput(title=title, territory=territory.slug),
                mode=ModerationMode.post,
                rate_limits=False,
            )
        names = {
            "territory": here.slug,
            "partner": partner.slug,
            "partner_id": partner.id,
            "here": f"Une laverie solidaire au centre-bourg {run}",
            "there": f"Un minibus pour le marché du val {run}",
        }
    engine.dispose()
    return names


def _visits(live_server, partner_id: int) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        row = session.exec(
            select(PartnerReferralDay).where(
                PartnerReferralDay.partner_id == partner_id,
                PartnerReferralDay.day == local_today(),
            )
        ).first()
    engine.dispose()
    return row.visits if row else 0


def test_a_partner_pastes_the_code_and_sees_their_territory_sized_to_fit(  # type: ignore[no-untyped-def]
    live_server, browser, town
):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/partners/embed")
    page.select_option("#e-territory", town["territory"])
    page.select_option("#e-ref", town["partner"])
    # The live preview follows the choices (embed-builder.js), no click needed.
    page.wait_for_function(
        "t => document.getElementById('embed-preview-frame').src.includes(t)",
        arg=f"territory={town['territory']}",
    )
    code = page.input_value("#code-script")
    assert f'data-territory="{town["territory"]}"' in code
    assert f'data-ref="{town["partner"]}"' in code
    assert code.count("\n") == 0  # one line to copy

    # The partner's own page, on another origin (localhost, not 127.0.0.1), code pasted in.
    body = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Mairie</title>"
        "</head><body><main><h1>Les besoins de notre commune</h1>"
        + code
        + "<p id='after'>Fin</p></main></body></html>"
    ).encode()
    with partner_site(body) as site:
        partner_page = context.new_page()
        partner_page.goto(f"{site}/besoins")
        _check_partner_page(live_server, context, partner_page, town)
    context.close()


@contextlib.contextmanager
def partner_site(body: bytes) -> Iterator[str]:
    """A partner's web server: answers every GET with `body`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _check_partner_page(live_server, context, partner_page, town) -> None:  # type: ignore[no-untyped-def]
    frame_element = partner_page.wait_for_selector("iframe")
    frame = frame_element.content_frame()
    assert frame is not None
    frame.wait_for_selector(f"text={town['here']}")
    assert town["there"] not in frame.content()

    # Sized to fit: the iframe grows to its document's height (no inner scroll bar).
    partner_page.wait_for_function("document.querySelector('iframe').style.height !== ''")
    inner = frame.evaluate("document.documentElement.scrollHeight")
    outer = frame_element.bounding_box()["height"]  # type: ignore[index]
    assert abs(outer - inner) <= 2, (outer, inner)
    assert outer != 420  # not the script's default height any more
    # The code is inserted right after the script, before what followed it.
    assert partner_page.evaluate(
        "document.querySelector('iframe').nextElementSibling.id === 'after'"
    )

    link = frame.locator("a", has_text=town["here"])
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "")
    assert f"ref={town['partner']}" in (link.get_attribute("href") or "")

    before = _visits(live_server, town["partner_id"])
    with context.expect_page() as opened:
        link.click()
    need_page = opened.value
    need_page.wait_for_load_state()
    assert need_page.locator("h1").inner_text() == town["here"]
    assert _visits(live_server, town["partner_id"]) == before + 1
