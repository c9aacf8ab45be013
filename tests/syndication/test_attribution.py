"""Attribution to partners (issue 6): visits arriving through a `ref=<partner slug>` link, and
the needs posted and supports given after such an arrival, are counted per partner and per
day (counters only); embeds, feeds and the code builder carry the partner's ref; staff see
the figures, residents do not."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from itsdangerous import URLSafeSerializer
from selectolax.lexbor import LexborHTMLParser
from sqlmodel import Session, select
from starlette.requests import HTTPConnection

from app.board.models import Need, NeedStatus
from app.core.db import utcnow
from app.pipeline.models import Partner
from app.syndication import attribution
from app.syndication.models import PartnerReferralDay
from tests.factories import fresh, login_as, make_need, make_user, page_text, post_form
from tests.syndication.test_embed import make_idea

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


# --- helpers -----------------------------------------------------------------------------------


def make_partner(
    session: Session,
    slug: str = "ville-de-merignac",
    name: str = "Ville de Mérignac",
    **kw: Any,
) -> Partner:
    partner = Partner(slug=slug, name=name, kind="town", is_capteur=True, **kw)
    session.add(partner)
    session.commit()
    session.refresh(partner)
    return partner


def figures(session: Session, partner: Partner) -> tuple[int, int, int]:
    """(visits, needs posted, supports) of `partner`, all days together."""
    rows = fresh(session).exec(
        select(PartnerReferralDay).where(PartnerReferralDay.partner_id == partner.id)
    )
    total = [0, 0, 0]
    for row in rows:
        total[0] += row.visits
        total[1] += row.needs_posted
        total[2] += row.supports
    return total[0], total[1], total[2]


def row_count(session: Session) -> int:
    return len(list(fresh(session).exec(select(PartnerReferralDay))))


def ref_cookie_header(response: Any) -> str:
    found = [
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith(f"{attribution.REF_COOKIE}=")
    ]
    return found[0] if found else ""


def arrive(client: Any, path: str, slug: str, **headers: str) -> Any:
    separator = "&" if "?" in path else "?"
    return client.get(f"{path}{separator}ref={slug}", headers={**BROWSER, **headers})


def set_ref_cookie(client: Any, partner: Partner, minutes_ago: float) -> None:
    settings = client.app.state.settings
    value = attribution.cookie_value(
        settings, partner.id, utcnow() - timedelta(minutes=minutes_ago)
    )
    client.cookies.set(attribution.REF_COOKIE, value)


def readable(html: str) -> str:
    """The text of a page, entities decoded, French non-breaking spaces made plain."""
    text = LexborHTMLParser(html).body.text(separator=" ")  # type: ignore[union-attr]
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def links(html: str) -> list[str]:
    return [a.attributes.get("href") or "" for a in LexborHTMLParser(html).css("a[href]")]


# --- arrivals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["board", "need", "idea"])
def test_an_arrival_with_ref_counts_one_visit_and_sets_the_cookie(client, session, page):
    partner = make_partner(session)
    paths = {
        "board": lambda: "/",
        "need": lambda: f"/needs/{make_need(session).id}",  # redirected to its canonical page
        "idea": lambda: f"/ideas/{make_idea(session).id}",
    }
    response = arrive(client, paths[page](), partner.slug)
    assert response.status_code == 200
    assert figures(session, partner) == (1, 0, 0)
    row = fresh(session).exec(select(PartnerReferralDay)).one()
    assert row.day == attribution.local_today()
    cookie = client.cookies.get(attribution.REF_COOKIE)
    referral = attribution.read_cookie(client.app.state.settings, cookie)
    assert referral is not None and referral.partner_id == partner.id


def test_the_cookie_is_first_party_httponly_lax_and_lasts_30_days(client, session):
    partner = make_partner(session)
    header = ref_cookie_header(arrive(client, "/", partner.slug)).lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert f"max-age={30 * 24 * 3600}" in header
    assert "path=/" in header
    assert "domain" not in header
    assert "secure" not in header  # not in production; see the next test


def test_the_cookie_is_secure_in_production(settings):
    production = settings.model_copy(update={"env": "production", "secret_key": "x" * 40})
    assert "Secure" in attribution.cookie_header(production, "value")


def test_a_reload_or_browsing_on_within_30_minutes_is_the_same_visit(client, session):
    partner = make_partner(session)
    need = make_need(session)
    arrive(client, "/", partner.slug)
    arrive(client, "/", partner.slug)
    arrive(client, f"/needs/{need.id}-{need.slug}", partner.slug)
    client.get("/", headers=BROWSER)
    assert figures(session, partner) == (1, 0, 0)


def test_an_arrival_more_than_30_minutes_after_the_last_one_is_a_new_visit(client, session):
    partner = make_partner(session)
    set_ref_cookie(client, partner, minutes_ago=31)
    arrive(client, "/", partner.slug)
    assert figures(session, partner) == (1, 0, 0)
    set_ref_cookie(client, partner, minutes_ago=29)
    arrive(client, "/", partner.slug)
    assert figures(session, partner) == (1, 0, 0)


def test_another_partners_ref_counts_for_that_partner(client, session):
    town = make_partner(session)
    association = make_partner(session, slug="asso-du-quartier", name="Association du quartier")
    arrive(client, "/", town.slug)
    arrive(client, "/", association.slug)
    assert figures(session, town) == (1, 0, 0)
    assert figures(session, association) == (1, 0, 0)
    referral = attribution.read_cookie(
        client.app.state.settings, client.cookies.get(attribution.REF_COOKIE)
    )
    assert referral is not None and referral.partner_id == association.id


def test_an_archived_partners_links_still_count(client, session):
    partner = make_partner(session, archived_at=utcnow())
    arrive(client, "/", partner.slug)
    assert figures(session, partner) == (1, 0, 0)


@pytest.mark.parametrize("slug", ["inconnu", "x" * 300, "%00", ""])
def test_an_unknown_ref_is_ignored_and_the_page_still_works(client, session, slug):
    make_partner(session)
    response = arrive(client, "/", slug)
    assert response.status_code == 200
    assert row_count(session) == 0
    assert ref_cookie_header(response) == ""


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; bingbot/2.0)",
        "Slack-LinkExpanding 1.0 (link preview)",
        "",
    ],
)
def test_robots_are_not_counted(client, session, user_agent):
    partner = make_partner(session)
    response = client.get(f"/?ref={partner.slug}", headers={"User-Agent": user_agent})
    assert response.status_code == 200
    assert row_count(session) == 0


def _connection(method: str, query: bytes, **headers: str) -> HTTPConnection:
    return HTTPConnection(
        {
            "type": "http",
            "method": method,
            "path": "/",
            "query_string": query,
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "server": ("testserver", 80),
            "scheme": "http",
            "root_path": "",
        }
    )


def test_head_requests_and_htmx_blocks_are_not_counted(client, session):
    partner = make_partner(session)
    client.head(f"/?ref={partner.slug}", headers=BROWSER)  # the board answers GET only
    client.get(f"/?ref={partner.slug}", headers={**BROWSER, "HX-Request": "true"})
    assert row_count(session) == 0
    # What the middleware asks before any answer: HEAD is never an arrival.
    prefixes = ("/static/",)
    assert attribution.arrival_slug(_connection("GET", b"ref=a", **BROWSER), prefixes) == "a"
    assert attribution.arrival_slug(_connection("HEAD", b"ref=a", **BROWSER), prefixes) is None


@pytest.mark.parametrize(
    "path",
    [
        "/moderation",
        "/moderation/partners",
        "/account/login",
        "/partners/embed",
        "/embed/needs",
        "/feeds/needs.atom",
        "/api/v1/needs",
        "/static/css/app.css",
        "/needs/999999",  # not found: no visit
    ],
)
def test_pages_that_are_not_the_public_site_are_not_arrivals(client, session, path):
    partner = make_partner(session)
    arrive(client, path, partner.slug)
    assert row_count(session) == 0
    assert client.cookies.get(attribution.REF_COOKIE) is None


def test_a_signed_out_visitor_sent_to_login_from_the_post_link_still_arrived(client, session):
    partner = make_partner(session)
    response = client.get(f"/needs/new?ref={partner.slug}", headers=BROWSER, follow_redirects=False)
    assert 300 <= response.status_code < 400
    assert figures(session, partner) == (1, 0, 0)
    assert ref_cookie_header(response)


def test_a_failure_to_count_never_breaks_the_page(client, session, monkeypatch, caplog):
    partner = make_partner(session)

    def broken(*_args: Any) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(attribution, "record_arrival", broken)
    response = arrive(client, "/", partner.slug)
    assert response.status_code == 200
    assert ref_cookie_header(response) == ""
    assert "could not count an arrival" in caplog.text


# --- needs posted and supports -----------------------------------------------------------------


@pytest.fixture
def resident(client, session):  # type: ignore[no-untyped-def]
    user = make_user(session)
    login_as(client, user, session)
    return user


def post_need(client: Any, **data: Any) -> Any:
    payload = {
        "title": "Une crèche ouverte le soir à Mérignac",
        "body": "Les parents qui travaillent tard.",
        **data,
    }
    return post_form(client, "/needs/new", payload, headers=BROWSER)


def test_a_need_posted_after_arriving_counts_even_while_it_awaits_moderation(
    client, session, resident
):
    partner = make_partner(session)
    arrive(client, "/", partner.slug)
    response = post_need(client)
    assert response.status_code == 303
    need = fresh(session).exec(select(Need).where(Need.author_id == resident.id)).one()
    # A new account's first post waits for moderation (first-post mode): it was posted all
    # the same. The author's own automatic support is not a « Moi aussi ».
    assert need.status == NeedStatus.pending.value
    assert figures(session, partner) == (1, 1, 0)


def test_a_need_posted_days_after_the_visit_still_counts(client, session, resident):
    partner = make_partner(session)
    set_ref_cookie(client, partner, minutes_ago=29 * 24 * 60)
    assert post_need(client).status_code == 303
    assert figures(session, partner) == (0, 1, 0)


def test_the_same_need_form_sent_twice_counts_once(client, session, resident):
    partner = make_partner(session)
    arrive(client, "/", partner.slug)
    post_need(client, submission_key="cle-unique-du-formulaire")
    post_need(client, submission_key="cle-unique-du-formulaire")
    assert len(list(fresh(session).exec(select(Need)))) == 1
    assert figures(session, partner) == (1, 1, 0)


def test_a_failure_to_count_never_costs_the_person_their_need_or_support(
    client, session, resident, monkeypatch
):
    partner = make_partner(session)
    set_ref_cookie(client, partner, minutes_ago=5)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("counter unavailable")

    monkeypatch.setattr(attribution, "increment", broken)
    assert post_need(client).status_code == 303
    need = make_need(session, title="Un besoin à soutenir")
    assert support(client, need, "add").status_code == 303
    assert len(list(fresh(session).exec(select(Need).where(Need.author_id == resident.id)))) == 1
    assert fresh(session).get(Need, need.id).supports_count == 1  # type: ignore[union-attr]
    assert row_count(session) == 0


def test_a_need_posted_without_the_cookie_counts_nothing(client, session, resident):
    make_partner(session)
    assert post_need(client).status_code == 303
    assert row_count(session) == 0


def test_a_refused_need_form_counts_nothing(client, session, resident):
    partner = make_partner(session)
    arrive(client, "/", partner.slug)
    assert post_need(client, title="").status_code == 422
    assert figures(session, partner) == (1, 0, 0)


def _unsigned(partner_id: int) -> str:
    return json.dumps([partner_id, int(utcnow().timestamp())])


def _other_key(partner_id: int) -> str:
    serializer = URLSafeSerializer("une-autre-cle-secrete", salt=attribution.REF_SALT)
    return serializer.dumps([partner_id, int(utcnow().timestamp())])


def _expired(client: Any, partner_id: int) -> str:
    old = utcnow() - timedelta(days=31)
    return attribution.cookie_value(client.app.state.settings, partner_id, old)


def _future(client: Any, partner_id: int) -> str:
    return attribution.cookie_value(
        client.app.state.settings, partner_id, utcnow() + timedelta(days=2)
    )


def _tampered(client: Any, partner_id: int) -> str:
    """Another partner's genuine signature on this partner's payload."""
    settings = client.app.state.settings
    signature = attribution.cookie_value(settings, partner_id + 1, utcnow()).rsplit(".", 1)[1]
    payload = attribution.cookie_value(settings, partner_id, utcnow()).rsplit(".", 1)[0]
    return payload + "." + signature


@pytest.mark.parametrize("forge", ["unsigned", "other_key", "expired", "future", "tampered"])
def test_a_forged_or_expired_cookie_counts_nothing(client, session, resident, forge):
    partner = make_partner(session)
    make_partner(session, slug="autre-partenaire", name="Autre partenaire")
    makers = {
        "unsigned": lambda: _unsigned(partner.id),
        "other_key": lambda: _other_key(partner.id),
        "expired": lambda: _expired(client, partner.id),
        "future": lambda: _future(client, partner.id),
        "tampered": lambda: _tampered(client, partner.id),
    }
    client.cookies.set(attribution.REF_COOKIE, makers[forge]())
    assert post_need(client).status_code == 303
    need = make_need(session, title="Un besoin à soutenir")
    support(client, need, "add")
    assert row_count(session) == 0


def support(client: Any, need: Need, action: str) -> Any:
    return post_form(client, f"/needs/{need.id}/support", {"action": action}, headers=BROWSER)


def test_moi_aussi_counts_a_support_once_and_a_new_one_after_a_withdrawal(
    client, session, resident
):
    partner = make_partner(session)
    need = make_need(session)
    arrive(client, f"/needs/{need.id}-{need.slug}", partner.slug)
    assert support(client, need, "add").status_code == 303
    assert figures(session, partner) == (1, 0, 1)
    support(client, need, "add")  # a double submission
    assert figures(session, partner) == (1, 0, 1)
    support(client, need, "remove")
    assert figures(session, partner) == (1, 0, 1)
    # The counters remember no one: supporting again is a support given again.
    support(client, need, "add")
    assert figures(session, partner) == (1, 0, 2)
    assert fresh(session).get(Need, need.id).supports_count == 1  # type: ignore[union-attr]


def test_moi_aussi_with_htmx_counts_too(client, session, resident):
    partner = make_partner(session)
    need = make_need(session)
    set_ref_cookie(client, partner, minutes_ago=60)
    response = post_form(
        client,
        f"/needs/{need.id}/support",
        {"action": "add"},
        headers={**BROWSER, "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert figures(session, partner) == (0, 0, 1)


def test_a_support_without_the_cookie_counts_nothing(client, session, resident):
    make_partner(session)
    need = make_need(session)
    assert support(client, need, "add").status_code == 303
    assert row_count(session) == 0


def test_concurrent_counts_on_the_same_day_add_up(session):
    partner = make_partner(session)
    for _ in range(3):
        attribution.increment(session, partner.id, "visits")  # type: ignore[arg-type]
    attribution.increment(session, partner.id, "supports")  # type: ignore[arg-type]
    session.commit()
    assert figures(session, partner) == (3, 0, 1)
    assert row_count(session) == 1


# --- links carrying ref ------------------------------------------------------------------------


def site_links(html: str) -> list[str]:
    return [h for h in links(html) if h.startswith("http://testserver/")]


@pytest.mark.parametrize("kind", ["needs", "ideas"])
def test_every_link_of_a_widget_to_the_site_carries_the_partners_ref(client, session, kind):
    partner = make_partner(session)
    need = make_need(session)
    idea = make_idea(session)
    for path in (f"/embed/{kind}", f"/embed/{kind}/{need.id if kind == 'needs' else idea.id}"):
        response = client.get(f"{path}?ref={partner.slug}&theme=")
        assert response.status_code == 200, path
        found = site_links(response.text)
        assert len(found) >= 2, path
        assert all(f"ref={partner.slug}" in href for href in found), found


def test_a_widget_without_ref_has_no_ref_in_its_links(client, session):
    make_need(session)
    response = client.get("/embed/needs")
    assert response.status_code == 200
    assert not any("ref=" in href for href in site_links(response.text))


@pytest.mark.parametrize(
    "path",
    [
        "/embed/needs",
        "/embed/ideas",
        "/feeds/needs.atom",
        "/feeds/needs.json",
        "/feeds/ideas.rss",
    ],
)
def test_an_unknown_ref_on_an_embed_or_feed_is_a_clear_400(client, session, path):
    make_partner(session)
    response = client.get(f"{path}?ref=partenaire-inconnu")
    assert response.status_code == 400
    assert "Ce code partenaire (ref) n'existe pas" in readable(response.text)


def test_a_single_item_widget_refuses_an_unknown_ref_too(client, session):
    need = make_need(session)
    response = client.get(f"/embed/needs/{need.id}?ref=partenaire-inconnu")
    assert response.status_code == 400


def test_feed_links_carry_ref_and_entry_ids_stay_the_same(client, session):
    partner = make_partner(session)
    make_need(session, title="Une navette pour le marché")
    plain = client.get("/feeds/needs.json").json()
    with_ref = client.get(f"/feeds/needs.json?ref={partner.slug}").json()
    assert [i["id"] for i in plain["items"]] == [i["id"] for i in with_ref["items"]]
    assert all(f"ref={partner.slug}" in item["url"] for item in with_ref["items"])
    assert not any("ref=" in item["url"] for item in plain["items"])
    assert f"ref={partner.slug}" in with_ref["home_page_url"]

    atom_plain = LexborHTMLParser(client.get("/feeds/needs.atom").text)
    atom_ref = LexborHTMLParser(client.get(f"/feeds/needs.atom?ref={partner.slug}").text)
    assert [n.text() for n in atom_plain.css("entry > id")] == [
        n.text() for n in atom_ref.css("entry > id")
    ]


def test_idea_feed_links_carry_ref(client, session):
    partner = make_partner(session)
    idea = make_idea(session)
    feed = client.get(f"/feeds/ideas.json?ref={partner.slug}").json()
    assert feed["items"][0]["id"] == f"http://testserver/ideas/{idea.id}"
    assert feed["items"][0]["url"].endswith(f"?ref={partner.slug}")


def test_the_widget_cache_keeps_one_page_per_ref(client, session):
    town = make_partner(session)
    association = make_partner(session, slug="asso-du-quartier", name="Association du quartier")
    make_need(session)
    first = " ".join(site_links(client.get(f"/embed/needs?ref={town.slug}").text))
    second = " ".join(site_links(client.get(f"/embed/needs?ref={association.slug}").text))
    plain = " ".join(site_links(client.get("/embed/needs").text))
    assert "?ref=ville-de-merignac" in first and "asso-du-quartier" not in first
    assert "?ref=asso-du-quartier" in second and "ville-de-merignac" not in second
    assert "ref=" not in plain


def test_the_embed_script_passes_data_ref_on(client):
    body = client.get("/embed.js").text
    assert '"ref"' in body


# --- the code builder --------------------------------------------------------------------------


def test_the_code_builder_offers_public_partners_and_puts_the_chosen_ref_in_the_codes(
    client, session
):
    partner = make_partner(session)
    make_partner(session, slug="ancien-partenaire", name="Ancien partenaire", archived_at=utcnow())
    response = client.get(f"/partners/embed?ref={partner.slug}&theme=")
    assert response.status_code == 200
    page = LexborHTMLParser(response.text)
    select_ = page.css_first("select#e-ref")
    assert select_ is not None
    label = page.css_first("label[for=e-ref]")
    assert label is not None and "Votre structure" in label.text()
    options = {o.attributes.get("value"): o for o in select_.css("option")}
    assert set(options) == {"", partner.slug}  # the archived one is not offered
    assert "selected" in options[partner.slug].attributes
    script = page.css_first("#code-script").text()
    iframe = page.css_first("#code-iframe").text()
    feed = page.css_first("#code-feed").text()
    api = page.css_first("#code-api").text()
    assert f'data-ref="{partner.slug}"' in script
    assert f"ref={partner.slug}" in iframe
    assert f"ref={partner.slug}" in feed
    assert "ref=" not in api  # the API counts nothing
    preview = page.css_first("#embed-preview-frame").attributes["src"]
    assert f"ref={partner.slug}" in (preview or "")
    # Opening the builder is no visit.
    assert row_count(session) == 0


def test_the_code_builder_keeps_an_archived_partner_preselected_by_staff(client, session):
    partner = make_partner(session, archived_at=utcnow())
    response = client.get(f"/partners/embed?ref={partner.slug}")
    assert response.status_code == 200
    option = LexborHTMLParser(response.text).css_first(f"#e-ref option[value={partner.slug}]")
    assert option is not None and "selected" in option.attributes


def test_the_code_builder_refuses_an_unknown_ref_with_its_message(client, session):
    response = client.get("/partners/embed?ref=partenaire-inconnu")
    assert response.status_code == 400
    errors = page_text(response.text, "#e-ref-error")
    assert "Ce code partenaire (ref) n'existe pas" in readable(f"<p>{errors}</p>")


# --- staff figures -----------------------------------------------------------------------------


def add_day(session: Session, partner: Partner, day: date, visits: int, needs: int, supports: int):  # type: ignore[no-untyped-def]
    session.add(
        PartnerReferralDay(
            partner_id=partner.id,  # type: ignore[arg-type]
            day=day,
            visits=visits,
            needs_posted=needs,
            supports=supports,
        )
    )
    session.commit()


def row_cells(html: str, name: str) -> list[str]:
    for row in LexborHTMLParser(html).css("table tr"):
        header = row.css_first("th[scope=row]")
        if header is not None and name in header.text():
            return [td.text(strip=True) for td in row.css("td")]
    raise AssertionError(f"no row for {name}")


def test_staff_list_shows_each_partners_last_30_days(staff_client, session):
    town = make_partner(session)
    association = make_partner(session, slug="asso-du-quartier", name="Association du quartier")
    old = make_partner(session, slug="ancien", name="Ancien partenaire", archived_at=utcnow())
    today = attribution.local_today()
    add_day(session, town, today, 5, 1, 2)
    add_day(session, town, today - timedelta(days=29), 3, 0, 1)  # still in the window
    add_day(session, town, today - timedelta(days=30), 100, 100, 100)  # outside it
    add_day(session, association, today - timedelta(days=2), 7, 2, 0)
    add_day(session, old, today, 4, 0, 0)
    response = staff_client.get("/moderation/partners")
    assert response.status_code == 200
    # Visits, needs posted, supports: the three columns before « Actions ».
    assert row_cells(response.text, "Ville de Mérignac")[-4:-1] == ["8", "1", "3"]
    assert row_cells(response.text, "Association du quartier")[-4:-1] == ["7", "2", "0"]
    assert row_cells(response.text, "Ancien partenaire")[-4:-1] == ["4", "0", "0"]
    headers = [th.text(strip=True) for th in LexborHTMLParser(response.text).css("thead th")]
    assert {"Visites", "Besoins proposés", "Soutiens"} <= set(headers)


def test_staff_list_queries_the_figures_once(staff_client, session, app):
    from sqlalchemy import event

    for n in range(5):
        partner = make_partner(session, slug=f"partenaire-{n}", name=f"Partenaire {n}")
        add_day(session, partner, attribution.local_today(), n, 0, 0)
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", note)
    try:
        assert staff_client.get("/moderation/partners").status_code == 200
    finally:
        event.remove(app.state.engine, "before_cursor_execute", note)
    assert sum("partner_referrals" in s for s in statements) == 1


def test_partner_page_shows_figures_by_month_with_totals_and_its_embed_code(staff_client, session):
    partner = make_partner(session)
    other = make_partner(session, slug="asso-du-quartier", name="Association du quartier")
    today = attribution.local_today()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    add_day(session, partner, this_month, 4, 1, 2)
    add_day(session, partner, today, 1, 0, 0) if today != this_month else None
    add_day(session, partner, last_month, 6, 2, 0)
    add_day(session, partner, this_month - timedelta(days=400), 50, 50, 50)  # over a year ago
    add_day(session, other, today, 9, 9, 9)
    response = staff_client.get(f"/moderation/partners/{partner.id}")
    assert response.status_code == 200
    page = LexborHTMLParser(response.text)
    table = page.css_first("table.partner-figures")
    assert table is not None
    caption = table.css_first("caption")
    assert caption is not None and "Ville de Mérignac" in caption.text()
    body_rows = table.css("tbody tr")
    assert len(body_rows) == 12
    assert all(row.css_first("th[scope=row]") is not None for row in body_rows)
    assert len(table.css("thead th[scope=col]")) == 4
    first = [td.text(strip=True) for td in body_rows[0].css("td")]
    expected_now = 5 if today != this_month else 4
    assert first == [str(expected_now), "1", "2"]
    assert [td.text(strip=True) for td in body_rows[1].css("td")] == ["6", "2", "0"]
    total = [td.text(strip=True) for td in table.css("tfoot td")]
    assert total == [str(expected_now + 6), "3", "2"]
    code = page.css_first("#partner-embed-code")
    assert code is not None and f'data-ref="{partner.slug}"' in code.text()
    assert f"/partners/embed?ref={partner.slug}" in links(response.text)


def test_the_figures_hold_no_personal_data(staff_client, session):
    partner = make_partner(session)
    resident = make_user(session, display_name="Josiane Témoin")
    login_as(staff_client, resident, session)
    arrive(staff_client, "/", partner.slug)
    post_need(staff_client)
    login_as(staff_client, make_user(session, role="staff"), session)
    for path in ("/moderation/partners", f"/moderation/partners/{partner.id}"):
        text = page_text(staff_client.get(path).text)
        assert "Josiane" not in text
        assert resident.email not in text
    columns = set(PartnerReferralDay.__table__.columns.keys())  # type: ignore[attr-defined]
    assert columns == {"partner_id", "day", "visits", "needs_posted", "supports"}


@pytest.mark.parametrize("role", ["resident", "moderator"])
def test_residents_and_moderators_cannot_see_the_figures(client, session, role):
    partner = make_partner(session)
    login_as(client, make_user(session, role=role), session)
    for path in ("/moderation/partners", f"/moderation/partners/{partner.id}"):
        assert client.get(path, follow_redirects=False).status_code == 403, path


# --- privacy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_privacy_page_explains_the_ref_cookie(client, lang):
    client.cookies.set("bourse_lang", lang)
    text = page_text(client.get("/privacy").text).replace("bourse_ ", "bourse_")
    assert "bourse_ref" in text
    assert ("30 jours" if lang == "fr" else "30 days") in text
