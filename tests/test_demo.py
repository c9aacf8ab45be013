"""`bourse seed-demo`: idempotent demo content, and `--needs N` generated needs for benchmarks.

Both must obey the product's own rules, so that what the demo shows is what real use would
show: stored counts equal the rows they count, authors support and follow their own need,
replies are one level deep, a pending need stays off the board, and the full-text index knows
every need.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from app.accounts.models import User
from app.accounts.passwords import verify_password
from app.board.models import Comment, Follow, Need, Support
from app.board.queries import visible_needs
from app.board.trending import support_weight
from app.core.db import utcnow
from app.core.text import excerpt, render_markdown
from app.ops import cli
from app.ops.demo.content import DEMO_NEEDS, DEMO_RESIDENTS
from app.ops.demo.seed import POOL_EMAIL, count_rows, seed_demo

DEMO_TITLES = {n.title for n in DEMO_NEEDS}
PENDING_TITLE = next(n.title for n in DEMO_NEEDS if n.status == "pending")


def fresh(session: Session) -> Session:
    session.rollback()
    session.expire_all()
    return session


def assert_counts_match_rows(session: Session) -> None:
    """supports_count, comments_count and trending_score of every need equal what their rows
    say, and every author supports and follows their own need."""
    supports: dict[int, list[Support]] = defaultdict(list)
    for support in session.exec(select(Support)):
        supports[support.need_id].append(support)
    comments = Counter(
        session.exec(
            select(Comment.need_id).where(
                Comment.status == "published",
                Comment.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        ).all()
    )
    follows = set(session.exec(select(Follow.need_id, Follow.user_id)).all())
    needs = session.exec(select(Need)).all()
    assert needs
    for need in needs:
        rows = supports[need.id]  # type: ignore[index]
        assert need.supports_count == len(rows), need.title
        assert need.comments_count == comments[need.id], need.title
        assert need.trending_score == pytest.approx(
            sum(support_weight(s.created_at) for s in rows), rel=1e-9
        ), need.title
        if need.author_id is None:  # collected offline: published under the fabrique's name
            assert need.source != "online" and need.recorded_by_id is not None, need.title
            assert (need.id, need.recorded_by_id) in follows, need.title
        else:
            own = [s for s in rows if s.user_id == need.author_id]
            assert [s.concern for s in own] == ["has_need"], need.title
            assert (need.id, need.author_id) in follows, need.title
        assert all(need.created_at <= s.created_at <= utcnow() for s in rows), need.title


def assert_replies_are_one_level(session: Session) -> None:
    comments = {c.id: c for c in session.exec(select(Comment))}
    for comment in comments.values():
        if comment.parent_id is None:
            continue
        parent = comments[comment.parent_id]
        assert parent.parent_id is None
        assert parent.need_id == comment.need_id
        assert parent.created_at <= comment.created_at


# --- the hand-written demo -------------------------------------------------------------------


def test_demo_texts_are_coherent():
    people = {key for key, _email, _name in DEMO_RESIDENTS} | {"habitante", "equipe"}
    titles = [n.title for n in DEMO_NEEDS]
    assert len(set(titles)) == len(titles)
    for need in DEMO_NEEDS:
        assert 10 <= len(need.title) <= 140
        assert len(need.body) <= 5000
        assert need.author in people
        assert need.author not in need.supporters
        assert len(set(need.supporters)) == len(need.supporters)
        assert set(need.supporters) <= people
        # Only supporters say how they are concerned.
        assert {who for who, _c, _t in need.evidence} <= set(need.supporters)
        for comment in need.comments:
            assert comment.author in people
            assert all(r.days_ago <= comment.days_ago for r in comment.replies)
            assert all(not r.replies for r in comment.replies)  # one level of replies


def test_seeding_twice_changes_nothing(session, settings):
    seed_demo(session, settings)
    first = count_rows(fresh(session))

    report = seed_demo(session, settings)

    assert count_rows(fresh(session)) == first
    assert first["needs"] == len(DEMO_NEEDS)
    assert any("0 ajouté" in line for line in report)


def test_demo_gives_the_moderation_area_something_to_show(session, settings):
    from app.board.models import Report
    from app.moderation.models import NeedTag

    seed_demo(session, settings)
    session = fresh(session)

    reports = session.exec(select(Report).where(Report.status == "open")).all()
    by_item = Counter((r.target_kind, r.target_id) for r in reports)
    assert sorted(by_item.values()) == [1, 2]
    # Two distinct reporters on the advertising comment: under the default threshold of
    # three, so it stays published until a moderator decides.
    (kind, comment_id), _ = by_item.most_common(1)[0]
    assert kind == "comment"
    assert session.get(Comment, comment_id).status == "published"
    offline = session.exec(select(Need).where(Need.source != "online")).all()
    assert len(offline) == 2
    assert all(n.author_id is None and n.source_event and n.source_date for n in offline)
    qualified = session.exec(select(Need).where(Need.qualified_at.is_not(None))).all()  # type: ignore[union-attr]
    assert len(qualified) == 1 and qualified[0].internal_note
    assert len(session.exec(select(NeedTag).where(NeedTag.need_id == qualified[0].id)).all()) == 3


def test_demo_pipeline_tells_the_fabrique_s_story(session, settings):
    from app.ops.demo.pipeline import CONCIERGE_NEED, CONCIERGE_TITLE
    from app.pipeline.models import Idea, IdeaNeed, IdeaPartner, Partner, StageChange
    from app.pipeline.service import transition_errors

    seed_demo(session, settings)
    session = fresh(session)
    ideas = session.exec(select(Idea)).all()
    history: dict[int, list[StageChange]] = defaultdict(list)
    for change in session.exec(select(StageChange).order_by(StageChange.id)):
        history[change.idea_id].append(change)
    reached = {i.id: {c.to_stage for c in history[i.id]} for i in ideas}
    studied = [
        i for i in ideas if reached[i.id] & {"studying", "seeking_carrier", "launching", "launched"}
    ]
    launched = [i for i in ideas if i.stage == "launched"]
    board = [i for i in ideas if i.origin == "resident"]
    # SPEC §1: 110+ ideas, 54 studied, 10 enterprises, about 40 jobs, about 15% from the board.
    assert len(ideas) == 110
    assert len(studied) == 54
    assert len(launched) == 10
    assert sum(i.jobs_created for i in launched) == 40
    assert 0.12 <= len(board) / len(ideas) <= 0.18
    # Every history obeys the pipeline's rules, replayed through the service's own check.
    for idea in ideas:
        changes = history[idea.id]
        assert changes[0].from_stage is None and changes[0].to_stage == "detected"
        assert changes[-1].to_stage == idea.stage
        for change in changes[1:]:
            replay = Idea(**{**idea.model_dump(), "stage": change.from_stage})
            assert transition_errors(replay, change.to_stage, note=change.note) == {}, idea.title
        assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(changes))
    concierge = next(i for i in ideas if i.title == CONCIERGE_TITLE)
    assert concierge.stage == "launched" and concierge.is_public
    need = session.exec(select(Need).where(Need.title == CONCIERGE_NEED)).one()
    assert (
        session.exec(select(IdeaNeed).where(IdeaNeed.need_id == need.id)).one().idea_id
        == concierge.id
    )
    merignac = session.exec(select(Partner).where(Partner.slug == "ville-de-merignac")).one()
    links = session.exec(
        select(IdeaPartner.link).where(
            IdeaPartner.idea_id == concierge.id, IdeaPartner.partner_id == merignac.id
        )
    ).all()
    assert sorted(links) == ["detected_by", "funded_by"]


def test_demo_counts_match_the_rows_they_count(session, settings):
    seed_demo(session, settings)

    assert_counts_match_rows(fresh(session))
    assert_replies_are_one_level(session)


def test_demo_looks_like_a_lively_board(session, settings):
    seed_demo(session, settings)
    session = fresh(session)
    needs = session.exec(select(Need)).all()
    comments = session.exec(select(Comment)).all()
    now = utcnow()

    assert 14 <= len(needs) <= 20
    assert 30 <= len(comments) <= 50
    assert sum(c.parent_id is not None for c in comments) >= 5
    assert len({n.theme_id for n in needs} - {None}) >= 8
    assert len({n.territory_id for n in needs} - {None}) >= 6
    # Ages from a few days to most of a year, so relative dates and sorts differ.
    ages = [now - n.created_at for n in needs]
    assert min(ages) < timedelta(days=7)
    assert max(ages) > timedelta(days=200)
    public = [n for n in needs if n.status == "published"]
    top = max(public, key=lambda n: n.supports_count)
    trending = max(public, key=lambda n: n.trending_score)
    assert top.id != trending.id
    assert sum("<ul>" in n.body_html for n in needs) >= 3
    evidence = session.exec(
        select(func.count()).where(
            Support.concern.is_not(None),  # type: ignore[union-attr]
            Support.territory_id.is_not(None),  # type: ignore[union-attr]
        )
    ).one()
    assert evidence >= 5
    # Commenters follow what they comment on.
    follows = set(session.exec(select(Follow.need_id, Follow.user_id)).all())
    assert all((c.need_id, c.author_id) in follows for c in comments)
    supporters = set(session.exec(select(Support.user_id)).all())
    assert len(supporters) >= 10


def test_demo_html_and_excerpts_are_made_by_the_text_module(session, settings):
    seed_demo(session, settings)
    session = fresh(session)

    for need in session.exec(select(Need)):
        assert need.body_html == render_markdown(need.body)
        assert need.excerpt == excerpt(need.body)
    for comment in session.exec(select(Comment)):
        assert comment.body_html == render_markdown(comment.body)


def test_pending_demo_need_is_not_on_the_board(session, settings, client):
    seed_demo(session, settings)
    session = fresh(session)

    [pending] = session.exec(select(Need).where(Need.status == "pending")).all()
    assert pending.title == PENDING_TITLE
    assert pending.supports_count == 1  # its author's own, nobody else could see it
    assert pending.comments_count == 0
    assert session.exec(visible_needs().where(Need.id == pending.id)).first() is None
    # Its author has no other need: this is the first post that waits for approval.
    assert session.exec(select(func.count()).where(Need.author_id == pending.author_id)).one() == 1
    visible_titles = {n.title for n in session.exec(visible_needs())}
    assert visible_titles == DEMO_TITLES - {PENDING_TITLE}
    page = client.get("/")
    assert page.status_code == 200
    assert PENDING_TITLE not in page.text


def test_demo_residents_have_unknown_passwords_outside_development(session, settings):
    seed_demo(session, settings)

    for key, email, _name in DEMO_RESIDENTS:
        user = fresh(session).exec(select(User).where(User.email == email)).one()
        assert user.email.endswith("@demo.bourse.example")
        assert not verify_password(user.password_hash, f"demo-{key.replace('_', '-')}-2026")


# --- `bourse seed-demo --needs N` ------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, settings, tmp_path):
    """Points the CLI's own Settings() at the test database."""
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv("BOURSE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BOURSE_ENV", "test")
    monkeypatch.setenv("BOURSE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BOURSE_SECRET_KEY", "test-secret-key")


def generated(session: Session) -> list[Need]:
    """Generated needs are those of the generated account pool (a generated title may
    happen to equal a hand-written one, so titles cannot tell them apart)."""
    return (
        fresh(session)
        .exec(
            select(Need)
            .join(User, User.id == Need.author_id)  # type: ignore[arg-type]
            .where(User.email.startswith("voisin-"))  # type: ignore[attr-defined]
        )
        .all()
    )


def search_ids(session: Session, word: str) -> set[int]:
    """Ids the engine's full-text index finds for one word (accents and case ignored)."""
    if session.get_bind().dialect.name == "sqlite":
        query = text("SELECT rowid FROM needs_fts WHERE needs_fts MATCH :q")
        return set(session.execute(query, {"q": f'"{word}"'}).scalars())
    query = text("SELECT id FROM needs WHERE search_vector @@ to_tsquery('public.fr_unaccent', :q)")
    return set(session.execute(query, {"q": word}).scalars())


def plain_words(value: str) -> set[str]:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return set(re.findall(r"\w+", ascii_text.lower()))


def test_seed_demo_needs_adds_generated_needs_with_consistent_counts(cli_env, session, capsys):
    code = cli.main(["seed-demo", "--needs", "200"])

    assert code == 0
    assert "200 besoins générés en" in capsys.readouterr().out
    needs = generated(session)
    assert len(needs) == 200
    assert count_rows(session)["needs"] == len(DEMO_NEEDS) + 200
    assert_counts_match_rows(session)
    assert_replies_are_one_level(session)
    assert sum(n.status in ("published", "covered") for n in needs) > 150
    assert max(n.supports_count for n in needs) > 3
    assert sum(n.comments_count for n in needs) > 0
    assert len({n.theme_id for n in needs}) > 5
    assert len({n.territory_id for n in needs}) > 5
    assert all(10 <= len(n.title) <= 140 for n in needs)
    # Supporters and commenters come from a pool of generated accounts.
    pool = session.exec(select(func.count()).where(User.email.like("voisin-%"))).one()  # type: ignore[attr-defined]
    assert pool >= 200
    assert session.exec(select(User.email).where(User.email == POOL_EMAIL.format(0))).one()


def test_generated_html_and_excerpts_equal_what_the_text_module_makes(cli_env, session):
    assert cli.main(["seed-demo", "--needs", "200"]) == 0

    needs = generated(session)
    for need in needs:
        assert need.body_html == render_markdown(need.body)
        assert need.excerpt == excerpt(need.body)
    ids = [n.id for n in needs]
    for comment in session.exec(select(Comment).where(Comment.need_id.in_(ids))):  # type: ignore[attr-defined]
        assert comment.body_html == render_markdown(comment.body)


def test_full_text_search_finds_generated_needs(cli_env, session):
    assert cli.main(["seed-demo", "--needs", "200"]) == 0
    needs = generated(session)

    # "crèche" (typed without its accent) and a word taken from some generated titles.
    for word in ("creche", "atelier", "besoin", "manque", "pourrait", "repas", "solidaire"):
        expected = {n.id for n in needs if word in plain_words(n.title + " " + n.body)}
        if not expected:
            continue
        found = search_ids(fresh(session), word)
        assert expected <= found, word
    sample = needs[:20]
    for need in sample:
        word = max(plain_words(need.title), key=len)
        assert need.id in search_ids(session, word), (word, need.title)


def test_seed_demo_needs_twice_adds_twice_and_keeps_the_demo_once(cli_env, session):
    assert cli.main(["seed-demo", "--needs", "40"]) == 0
    assert cli.main(["seed-demo", "--needs", "40"]) == 0

    assert len(generated(session)) == 80
    titles = session.exec(select(Need.title).where(Need.title.in_(DEMO_TITLES))).all()  # type: ignore[attr-defined]
    assert sorted(titles) == sorted(DEMO_TITLES)
    assert_counts_match_rows(session)


def test_seed_demo_refuses_a_negative_number_of_needs(cli_env, session, capsys):
    assert cli.main(["seed-demo", "--needs", "-5"]) == 2

    assert "--needs" in capsys.readouterr().err
    assert count_rows(fresh(session))["needs"] == 0


def test_demo_towns_have_figures_from_their_embeds(session, settings):
    from app.ops.demo.pipeline import REFERRING_PARTNERS
    from app.pipeline.models import Partner
    from app.syndication.models import PartnerReferralDay

    seed_demo(session, settings)
    rows = fresh(session).exec(
        select(Partner.slug, func.count(), func.sum(PartnerReferralDay.visits))
        .join(PartnerReferralDay, PartnerReferralDay.partner_id == Partner.id)
        .group_by(Partner.slug)
    )
    totals = {slug: (days, visits) for slug, days, visits in rows}
    assert set(totals) == set(REFERRING_PARTNERS)
    # The busiest town's page brings the most visitors.
    assert max(totals, key=lambda slug: totals[slug][1]) == "ville-de-merignac"

    seed_demo(session, settings)
    again = fresh(session).exec(select(func.count()).select_from(PartnerReferralDay)).one()
    assert again == sum(days for days, _visits in totals.values())
