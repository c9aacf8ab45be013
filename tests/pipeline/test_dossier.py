"""The demand dossier of an idea (issue 17, item 2): one printable staff page and its CSV
gathering the idea's needs, the distinct people behind them (per concern, per territory — every
territory named — and per month), the verbatim comments, what was collected offline and the
partners' detections; a bounded number of statements whatever the needs and comments."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from selectolax.lexbor import LexborHTMLParser
from sqlmodel import select

from app.board.models import Comment, Support
from app.board.supports import add_support
from app.core.text import render_markdown
from app.pipeline import dossier
from app.pipeline.models import IdeaPartner, Partner
from app.syndication.models import PartnerReferralDay
from tests.board.test_query_counts import counting, describe
from tests.factories import make_idea, make_need, make_territory, make_user


def _comment(session, need, author, body, *, status="published", when=None):  # type: ignore[no-untyped-def]
    comment = Comment(
        need_id=need.id,
        author_id=author.id if author else None,
        body=body,
        body_html=render_markdown(body),
        status=status,
    )
    if when is not None:
        comment.created_at = comment.updated_at = when
    session.add(comment)
    session.commit()
    return comment


def _support(session, need, user, when, **answer):  # type: ignore[no-untyped-def]
    add_support(session, need, user, **answer)
    row = session.exec(
        select(Support).where(Support.need_id == need.id, Support.user_id == user.id)
    ).one()
    row.created_at = when
    session.add(row)
    session.commit()


def _idea_with_evidence(session, staff_user):  # type: ignore[no-untyped-def]
    """Two public needs (one collected offline at a meeting), a hidden one; four people behind
    the public ones over two months (one behind both), one behind the hidden; comments of every
    kind; a partner that detected the idea, with counters."""
    pessac = make_territory(session, "pessac", "Pessac")
    begles = make_territory(session, "begles", "Bègles")
    online = make_need(session, title="Une conciergerie pour les salariés de la zone")
    met = make_need(session, title="Des services sur le lieu de travail")
    met.author_id, met.recorded_by_id = None, staff_user.id
    met.source, met.source_event = "meeting", "Réunion du comité de quartier"
    met.source_date, met.source_partner = date(2026, 10, 3), None
    session.add(met)
    session.commit()
    hidden = make_need(session, title="Un besoin masqué")
    both = make_user(session, display_name="Alice")
    _support(
        session,
        online,
        both,
        datetime(2026, 10, 5, 12, tzinfo=UTC),
        concern="has_need",
        territory_id=pessac.id,
    )
    _support(
        session,
        met,
        both,
        datetime(2026, 11, 2, 12, tzinfo=UTC),
        concern="could_help",
        territory_id=pessac.id,
    )
    _support(
        session,
        online,
        make_user(session),
        datetime(2026, 10, 20, 9, tzinfo=UTC),
        concern="would_use",
        territory_id=pessac.id,
    )
    _support(
        session,
        met,
        make_user(session),
        datetime(2026, 11, 15, 9, tzinfo=UTC),
        concern="org_could_support",
        territory_id=begles.id,
    )
    _support(session, online, make_user(session), datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    _support(
        session, hidden, make_user(session), datetime(2026, 11, 3, tzinfo=UTC), concern="has_need"
    )
    idea = make_idea(
        session,
        "Conciergerie d'insertion",
        actor=staff_user,
        needs=[online, met, hidden],
        is_public=True,
    )
    hidden.status = "hidden"
    session.add(hidden)
    voice = make_user(session, display_name="Bernard")
    _comment(
        session,
        online,
        voice,
        "Il nous faudrait un pressing sur place.",
        when=datetime(2026, 10, 6, tzinfo=UTC),
    )
    _comment(
        session,
        met,
        staff_user,
        "Nous avons rencontré la mairie.",
        when=datetime(2026, 11, 4, tzinfo=UTC),
    )
    _comment(
        session, online, voice, '=HYPERLINK("http://x")', when=datetime(2026, 11, 5, tzinfo=UTC)
    )
    _comment(session, online, voice, "Un commentaire masqué", status="hidden")
    _comment(session, hidden, voice, "Sur un besoin masqué")
    town = Partner(
        slug="ville-de-merignac",
        name="Ville de Mérignac",
        kind="town",
        is_capteur=True,
        website="https://merignac.example",
    )
    session.add(town)
    session.commit()
    session.add(IdeaPartner(idea_id=idea.id, partner_id=town.id, link="detected_by"))
    today = date.today()
    session.add(
        PartnerReferralDay(partner_id=town.id, day=today, visits=12, needs_posted=2, supports=5)
    )
    session.add(PartnerReferralDay(partner_id=town.id, day=date(2000, 1, 1), visits=99))
    session.commit()
    return idea


def _table(html: str, caption: str) -> list[list[str]]:
    for table in LexborHTMLParser(html).css("table"):
        if table.css_first("caption").text(strip=True).startswith(caption):
            return [
                [cell.text(separator=" ", strip=True) for cell in row.css("th, td")]
                for row in table.css("tbody tr")
            ]
    raise AssertionError(f"no table {caption!r}")


def test_the_dossier_gathers_the_evidence_of_an_idea(client, session, staff_user, signed_in_staff):
    idea = _idea_with_evidence(session, staff_user)

    response = client.get(f"/moderation/ideas/{idea.id}/dossier")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    page = LexborHTMLParser(response.text)
    assert page.css_first("h1").text(strip=True) == "Conciergerie d'insertion"
    assert "Dossier de demande" in page.css_first(".dossier-head").text()
    assert "Établi le" in page.css_first(".dossier-date").text()
    assert (
        "utilisez l'impression de votre navigateur" in page.css_first(".dossier-print-hint").text()
    )
    needs = _table(response.text, "Besoins liés")
    assert [row[0].split(" n° ")[0].strip() for row in needs] == [
        "Une conciergerie pour les salariés de la zone",
        "Des services sur le lieu de travail",
        "Un besoin masqué",
    ]
    assert needs[2][1] == "Masqué"
    assert needs[1][5].startswith("Réunion ou atelier — Réunion du comité de quartier")
    # The team's view: every territory named, even by one person.
    assert _table(response.text, "Personnes distinctes par territoire") == [
        ["Pessac", "2"],
        ["Bègles", "1"],
        ["Non précisé", "1"],
    ]
    # Per month: Alice first in October; the last person at 23:30 UTC on 30 November is
    # already in December in France.
    months = _table(response.text, "Nouvelles personnes par mois")
    assert months[0] == ["octobre 2026", "2", "1", "1", "0", "0", "2"]
    assert months[1] == ["novembre 2026", "1", "0", "0", "1", "1", "3"]
    assert months[2][:2] == ["décembre 2026", "1"] and months[2][-1] == "4"
    comments = [c.text(separator=" ", strip=True) for c in page.css(".dossier-comment")]
    assert len(comments) == 3  # published ones, of public needs
    assert "Il nous faudrait un pressing sur place." in comments[-1]
    assert "Bernard" in comments[-1]
    assert "Équipe de la fabrique" in comments[1]
    assert not any("masqué" in c for c in comments)
    offline = _table(response.text, "Besoins recueillis par la fabrique")
    assert offline == [
        [
            "Des services sur le lieu de travail",
            "Réunion ou atelier",
            "Réunion du comité de quartier",
            "03/10/2026",
            "—",
            staff_user.display_name,
        ]
    ]
    partners = _table(response.text, "Partenaires liés à l'idée")
    assert partners == [["Ville de Mérignac", "Détectée par", "Commune", "12", "2", "5"]]
    link = page.css_first("a.dossier-url[href='https://merignac.example']")
    assert link is not None


def test_the_idea_page_links_to_its_dossier(client, session, staff_user, signed_in_staff):
    idea = make_idea(session)
    page = LexborHTMLParser(client.get(f"/moderation/ideas/{idea.id}").text)
    assert page.css_first(f"a[href='/moderation/ideas/{idea.id}/dossier']") is not None


def test_an_idea_without_needs_has_an_empty_dossier(client, session, signed_in_staff):
    idea = make_idea(session, origin="town")
    html = client.get(f"/moderation/ideas/{idea.id}/dossier").text
    assert "Aucun besoin lié" in html
    assert "Personne n'a encore soutenu ses besoins publics." in html
    assert "Aucun commentaire publié" in html
    assert "Aucun partenaire n'est lié à cette idée." in html
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/moderation/ideas/{idea.id}/dossier.csv").text))
    )
    assert {r["section"] for r in rows} == {"idea", "people"}


def test_an_unknown_idea_has_no_dossier(client, signed_in_staff):
    assert client.get("/moderation/ideas/999999/dossier").status_code == 404
    assert client.get("/moderation/ideas/999999/dossier.csv").status_code == 404


def test_the_page_shows_the_latest_comments_and_says_how_many(
    client, session, staff_user, signed_in_staff, monkeypatch
):
    monkeypatch.setattr(dossier, "COMMENTS_SHOWN", 3)
    need = make_need(session)
    idea = make_idea(session, actor=staff_user, needs=[need])
    for day in range(1, 6):
        _comment(
            session,
            need,
            make_user(session),
            f"Avis n° {day}",
            when=datetime(2026, 10, day, tzinfo=UTC),
        )

    html = client.get(f"/moderation/ideas/{idea.id}/dossier").text
    shown = [c.text(strip=True) for c in LexborHTMLParser(html).css(".dossier-comment blockquote")]
    assert shown == ["Avis n° 5", "Avis n° 4", "Avis n° 3"]
    assert "Les 3 commentaires les plus récents sur 5" in html

    rows = csv.DictReader(io.StringIO(client.get(f"/moderation/ideas/{idea.id}/dossier.csv").text))
    assert [r["text"] for r in rows if r["section"] == "comment"] == [
        f"Avis n° {day}" for day in range(1, 6)
    ]


def test_the_csv_holds_the_dossier_row_by_row(client, session, staff_user, signed_in_staff):
    idea = _idea_with_evidence(session, staff_user)

    response = client.get(f"/moderation/ideas/{idea.id}/dossier.csv")

    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="dossier-idee-{idea.id}-' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_section: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_section.setdefault(row["section"], []).append(row)
    head = {r["kind"]: r["text"] for r in by_section["idea"]}
    assert head["title"] == "Conciergerie d'insertion"
    assert head["public_url"] == f"http://testserver/ideas/{idea.id}-{idea.slug}" or head[
        "public_url"
    ].endswith(f"/ideas/{idea.id}-{idea.slug}")
    needs = by_section["need"]
    assert [n["status"] for n in needs] == ["published", "published", "hidden"]
    assert needs[1]["kind"] == "meeting" and needs[0]["count"] == "3"
    assert needs[0]["url"].endswith(
        f"/needs/{needs[0]['need_id']}-une-conciergerie-pour-les-salaries-de-la-zone"
    )
    people = {r["kind"]: r["count"] for r in by_section["people"]}
    assert people == {
        "total": "4",
        "has_need": "1",
        "would_use": "1",
        "could_help": "1",
        "org_could_support": "1",
        "unspecified": "1",
    }
    assert {r["label"]: r["count"] for r in by_section["territory"]} == {
        "Pessac": "2",
        "Bègles": "1",
        "": "1",
    }
    october = {r["kind"]: r["count"] for r in by_section["month"] if r["date"] == "2026-10"}
    assert october["new_people"] == "2" and october["cumulative"] == "2"
    comments = by_section["comment"]
    assert [c["author"] for c in comments] == ["Bernard", staff_user.display_name, "Bernard"]
    assert comments[1]["kind"] == "team"
    assert comments[2]["text"] == '\'=HYPERLINK("http://x")'  # never a formula
    assert by_section["offline"][0]["label"] == "Réunion du comité de quartier"
    assert by_section["offline"][0]["date"] == "2026-10-03"
    assert by_section["partner"][0]["kind"] == "detected_by"
    referrals = {r["kind"]: r["count"] for r in by_section["partner_referrals"]}
    assert referrals == {"visits": "12", "needs_posted": "2", "supports": "5"}


def test_the_dossier_costs_the_same_statements_whatever_its_size(
    client, session, staff_user, signed_in_staff
):
    def grow(idea_needs: list, count: int) -> None:  # type: ignore[type-arg]
        for _index in range(count):
            need = make_need(session)
            add_support(session, need, make_user(session), concern="has_need")
            _comment(session, need, make_user(session), "Oui, vraiment.")
            idea_needs.append(need)

    small: list = []  # type: ignore[type-arg]
    grow(small, 2)
    idea_small = make_idea(session, "Petite", actor=staff_user, needs=small)
    large: list = []  # type: ignore[type-arg]
    grow(large, 12)
    idea_large = make_idea(session, "Grande", actor=staff_user, needs=large)
    for path in ("dossier", "dossier.csv"):
        counts = []
        for idea in (idea_small, idea_large):
            url = f"/moderation/ideas/{idea.id}/{path}"
            client.get(url)
            with counting(client.app.state.engine) as statements:
                assert client.get(url).status_code == 200
            counts.append(statements)
        assert len(counts[0]) == len(counts[1]), describe(counts[1])
        assert len(counts[1]) <= 20, describe(counts[1])


def test_the_dossier_reads_in_english(client, session, staff_user, signed_in_staff):
    idea = _idea_with_evidence(session, staff_user)
    html = client.get(
        f"/moderation/ideas/{idea.id}/dossier", headers={"Accept-Language": "en"}
    ).text
    page = LexborHTMLParser(html)
    assert "Demand dossier" in page.css_first(".dossier-head").text()
    headings = [h.text(strip=True) for h in page.css(".dossier h2")]
    assert headings == [
        "The idea in brief",
        "Needs",
        "Who is involved?",
        "Over time",
        "Offline collections",
        "Detected by partners",
        "In residents' words",
    ]


def test_the_people_met_offline_are_in_the_dossier_and_its_csv(
    client, session, staff_user, signed_in_staff
):
    from app.board.models import OfflineCollection

    pessac = make_territory(session, "pessac", "Pessac")
    need, hidden = make_need(session, title="Un garage solidaire"), make_need(session)
    idea = make_idea(session, actor=staff_user, needs=[need, hidden])
    hidden.status = "hidden"
    session.add(hidden)
    for people, method, day, place in (
        (12, "public_meeting", date(2026, 9, 14), "Salle des fêtes"),
        (5, "survey", date(2026, 10, 2), ""),
    ):
        session.add(
            OfflineCollection(
                need_id=need.id,
                people=people,
                method=method,
                collected_on=day,
                place=place,
                territory_id=pessac.id,
                note="Beaucoup de familles",
                recorded_by_id=staff_user.id,
            )
        )
    session.add(
        OfflineCollection(
            need_id=hidden.id, people=40, method="other", collected_on=date(2026, 9, 1)
        )
    )
    session.commit()

    html = client.get(f"/moderation/ideas/{idea.id}/dossier").text
    rows = _table(html, "Personnes rencontrées hors ligne par la fabrique")
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("02/10/2026", "Enquête ou questionnaire", "—", "Pessac", "5"),
        ("14/09/2026", "Réunion publique", "Salle des fêtes", "Pessac", "12"),
    ]
    total = LexborHTMLParser(html).css_first("#dossier-collections-caption").parent
    assert total.css_first("tfoot td").text(strip=True) == "17"  # the hidden need's 40 apart
    # Over time, at the date of each collection, apart from the accounts.
    months = _table(html, "Nouvelles personnes par mois")
    assert months[0][0] == "septembre 2026" and months[0][1] == "0" and months[0][-1] == "12"
    assert months[1][0] == "octobre 2026" and months[1][-1] == "5"

    csv_rows = csv.DictReader(
        io.StringIO(client.get(f"/moderation/ideas/{idea.id}/dossier.csv").text)
    )
    collected = [r for r in csv_rows if r["section"] == "offline_collection"]
    assert [(r["date"], r["kind"], r["count"], r["territory"]) for r in collected] == [
        ("2026-10-02", "survey", "5", "Pessac"),
        ("2026-09-14", "public_meeting", "12", "Pessac"),
    ]
    assert collected[0]["author"] == staff_user.display_name
    assert collected[0]["text"] == "Beaucoup de familles"
    offline_months = {
        r["date"]: r["count"]
        for r in csv.DictReader(
            io.StringIO(client.get(f"/moderation/ideas/{idea.id}/dossier.csv").text)
        )
        if r["section"] == "month" and r["kind"] == "offline"
    }
    assert (offline_months["2026-09"], offline_months["2026-10"]) == ("12", "5")
