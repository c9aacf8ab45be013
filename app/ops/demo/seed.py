"""`bourse seed-demo`: idempotent demo content (SPEC §1 and §3), and `--needs N` for benchmarks.

Running it twice changes nothing: rows are looked up by their natural key (slug, e-mail, the
need's title) first, and each demo need is written with its supports, comments and follows in
one transaction, so an interrupted run leaves whole needs or nothing. The demo accounts have
known passwords in development so a newcomer can try every role at once; elsewhere their
passwords are random and not printed.

Counts follow the product's rules: supports_count is the number of supports, comments_count the
number of published, non-deleted comments, trending_score the sum of
`board.trending.support_weight` over the supports; authors support their own need (concern
"j'ai ce besoin") and follow it, and commenters follow the needs they comment on.

`generate_needs` (`--needs N`) is different: it *adds* N needs each time it runs, with supports
(Zipf-like, 1 to 300 per need, about ten on average) and comments (0 to 30, about three on
average, a few long discussions of about 50) from a pool of generated accounts (one per two
needs, up to 50,000): at 100,000 needs, the sizes of issue 13's benchmark (a million supports,
300,000 comments, 50,000 accounts). It writes with bulk Core inserts in batches, counts computed in
Python. Rendering Markdown and the excerpt costs about 0.7 ms per body (markdown-it, then
bleach), some 70 s for 100,000 needs, more than the whole run takes without it; so generated
bodies are made only of known-safe sentences (see `app.ops.demo.content`) whose HTML and excerpt
are built directly, and tests/test_demo.py checks that they equal what `app.core.text` makes of the
same Markdown.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.board.models import (
    PUBLIC_NEED_STATUSES,
    Comment,
    Concern,
    Follow,
    Need,
    NeedSource,
    NeedStatus,
    OfflineCollection,
    Report,
    Support,
    Territory,
    Theme,
)
from app.board.trending import support_weight
from app.core.db import utcnow
from app.core.settings import Env, Settings
from app.core.text import excerpt, render_markdown, slugify
from app.moderation.models import NeedTag, Tag
from app.ops.demo import content
from app.pipeline.models import (
    CarrierApplication,
    Idea,
    IdeaNeed,
    IdeaPartner,
    Milestone,
    Partner,
    StageChange,
)

log = logging.getLogger(__name__)

THEMES = [
    ("emploi-insertion", "Emploi et insertion", "Employment and integration"),
    ("mobilite", "Mobilité", "Mobility"),
    ("alimentation", "Alimentation", "Food"),
    ("logement", "Logement", "Housing"),
    ("sante-handicap", "Santé et handicap", "Health and disability"),
    ("vieillissement", "Vieillissement", "Ageing"),
    ("petite-enfance-famille", "Petite enfance et famille", "Early childhood and family"),
    ("culture-loisirs", "Culture et loisirs", "Culture and leisure"),
    ("environnement", "Environnement", "Environment"),
    ("services-entreprises", "Services aux entreprises", "Services to businesses"),
]

TERRITORIES = [
    ("bordeaux", "Bordeaux"),
    ("merignac", "Mérignac"),
    ("pessac", "Pessac"),
    ("begles", "Bègles"),
    ("blanquefort", "Blanquefort"),
    ("talence", "Talence"),
    ("floirac", "Floirac"),
    ("libourne", "Libournais"),
]

DEMO_ACCOUNTS = [
    ("admin@demo.bourse.example", "Administratrice démo", Role.admin, "demo-admin-2026"),
    ("equipe@demo.bourse.example", "Chargée de mission démo", Role.staff, "demo-equipe-2026"),
    ("moderation@demo.bourse.example", "Modérateur démo", Role.moderator, "demo-moderation-2026"),
    (
        "habitante@demo.bourse.example",
        "Habitante de Mérignac",
        Role.resident,
        "demo-habitante-2026",
    ),
]


def seed_demo(session: Session, settings: Settings, needs: int | None = None) -> list[str]:
    """Seeds the demo (idempotent), then adds `needs` generated needs if asked (not
    idempotent: each call adds that many). Returns lines to show to the person running it."""
    report: list[str] = []
    for position, (slug, name, name_en) in enumerate(THEMES):
        if session.exec(select(Theme).where(Theme.slug == slug)).first() is None:
            session.add(Theme(slug=slug, name=name, name_en=name_en, position=position))
    for position, (slug, name) in enumerate(TERRITORIES):
        if session.exec(select(Territory).where(Territory.slug == slug)).first() is None:
            session.add(Territory(slug=slug, name=name, name_en=name, position=position))
    session.commit()
    report.append(f"Thématiques : {len(THEMES)}, territoires : {len(TERRITORIES)}.")

    show_passwords = settings.env == Env.development
    people: dict[str, User] = {}
    for email, name, role, demo_password in DEMO_ACCOUNTS:
        people[email.split("@")[0]] = _ensure_account(
            session, email, name, role, demo_password if show_passwords else None
        )
        if show_passwords and role in (Role.admin, Role.staff):
            report.append(f"Compte démo {role.value} : {email} / {demo_password}")
    for key, email, name in content.DEMO_RESIDENTS:
        password = f"demo-{key.replace('_', '-')}-2026" if show_passwords else None
        people[key] = _ensure_account(session, email, name, Role.resident, password)

    added = seed_demo_needs(session, people)
    report.append(
        f"Besoins de démonstration : {len(content.DEMO_NEEDS)} ({added} ajouté(s) maintenant)."
    )
    reports = seed_demo_reports(session, people, utcnow())
    report.append(f"Signalements à examiner ajoutés : {reports}.")
    from app.ops.demo.pipeline import seed_demo_pipeline

    ideas = seed_demo_pipeline(session, people, utcnow())
    report.append(f"Idées de démonstration ajoutées : {ideas}.")

    if needs:
        result = generate_needs(session, needs)
        report.append(result.summary())
    return report


def _ensure_account(
    session: Session, email: str, name: str, role: Role, password: str | None
) -> User:
    user = accounts.user_by_email(session, email)
    if user is None:
        user = accounts.create_user(
            session,
            email,
            display_name=name,
            password=password or secrets.token_urlsafe(24),
            role=role,
            verified=True,
            locale="fr",
        )
    return user


# --- hand-written demo needs ---------------------------------------------------------------


def seed_demo_needs(session: Session, people: dict[str, User], now: datetime | None = None) -> int:
    """Writes the needs of app.ops.demo.content that are not there yet (looked up by title).
    Returns how many were added."""
    now = now or utcnow()
    themes = _ids_by_slug(session, Theme)
    territories = _ids_by_slug(session, Territory)
    existing = set(
        session.scalars(
            select(Need.title).where(Need.title.in_([n.title for n in content.DEMO_NEEDS]))  # type: ignore[attr-defined]
        )
    )
    added = 0
    for demo in content.DEMO_NEEDS:
        if demo.title in existing:
            continue
        _write_demo_need(session, demo, people, themes, territories, now)
        session.commit()
        added += 1
    return added


def _write_demo_need(
    session: Session,
    demo: content.DemoNeed,
    people: dict[str, User],
    themes: dict[str, int],
    territories: dict[str, int],
    now: datetime,
) -> None:
    # Seeded by the title, so the same need gets the same shape of activity on every install.
    rng = random.Random(demo.title)
    created = now - timedelta(days=demo.days_ago, hours=rng.uniform(0, 9))
    author = people[demo.author]
    offline = demo.source != NeedSource.online.value
    need = Need(
        # Offline needs are published under the fabrique's name: no author, the staff member
        # who typed them in is recorded_by, and nobody's support is added for them.
        author_id=None if offline else author.id,
        recorded_by_id=author.id if offline else None,
        source=demo.source,
        source_event=demo.source_event,
        source_date=(created - timedelta(days=3)).date() if offline else None,
        source_partner=demo.source_partner,
        internal_note=demo.internal_note,
        qualified_at=created + timedelta(days=30) if demo.tags else None,
        qualified_by_id=people["equipe"].id if demo.tags else None,
        title=demo.title,
        slug=slugify(demo.title),
        body=demo.body,
        body_html=render_markdown(demo.body),
        excerpt=excerpt(demo.body),
        theme_id=themes.get(demo.theme) if demo.theme else None,
        territory_id=territories.get(demo.territory) if demo.territory else None,
        status=demo.status,
        created_at=created,
        updated_at=created,
    )
    session.add(need)
    session.flush()

    for people_met, method, days_before in demo.met_offline:
        session.add(
            OfflineCollection(
                need_id=need.id,  # type: ignore[arg-type]
                people=people_met,
                method=method,
                collected_on=(created - timedelta(days=days_before)).date(),
                place=demo.source_event or "",
                territory_id=need.territory_id,
                recorded_by_id=people["equipe"].id,
                created_at=created,
                updated_at=created,
            )
        )
    evidence = {who: (concern, where) for who, concern, where in demo.evidence}
    supports = (
        []
        if offline
        else [Support(need_id=need.id, user_id=author.id, created_at=created, concern="has_need")]
    )
    for name in demo.tags:
        session.add(NeedTag(need_id=need.id, tag_id=_tag_id(session, name)))
    age = now - created
    for key in demo.supporters:
        u = rng.random()
        if demo.momentum == "early":
            when = created + age * (u**3)
        elif demo.momentum == "recent":
            when = now - min(age, timedelta(days=10)) * u
        else:
            when = created + age * u
        concern, where = evidence.get(key, (None, None))
        supports.append(
            Support(
                need_id=need.id,
                user_id=people[key].id,
                created_at=min(max(when, created + timedelta(minutes=5)), now),
                concern=concern,
                territory_id=territories.get(where) if where else None,
            )
        )
    session.add_all(supports)

    followers: dict[int, datetime] = {author.id: created}  # type: ignore[dict-item]
    comments = 0
    for top in demo.comments:
        parent = _add_demo_comment(session, need, top, people, created, now, None)
        followers.setdefault(parent.author_id, parent.created_at)  # type: ignore[arg-type]
        comments += 1
        for reply in top.replies:
            child = _add_demo_comment(session, need, reply, people, parent.created_at, now, parent)
            followers.setdefault(child.author_id, child.created_at)  # type: ignore[arg-type]
            comments += 1
    session.add_all(
        Follow(need_id=need.id, user_id=user_id, created_at=when)
        for user_id, when in followers.items()
    )

    need.supports_count = len(supports)
    need.comments_count = comments
    need.trending_score = sum(support_weight(s.created_at) for s in supports)


def _tag_id(session: Session, name: str) -> int:
    slug = slugify(name)
    tag = session.scalars(select(Tag).where(Tag.slug == slug)).first()
    if tag is None:
        tag = Tag(slug=slug, name=name)
        session.add(tag)
        session.flush()
    return tag.id  # type: ignore[return-value]


def seed_demo_reports(session: Session, people: dict[str, User], now: datetime) -> int:
    """A comment that looks like advertising and a few open reports, so the moderation queue
    has something to show. Idempotent: the comment is found by its text, a report by its
    reporter and item. Returns how many reports were added."""
    added = 0
    for demo in content.DEMO_REPORTS:
        need = session.scalars(select(Need).where(Need.title == demo.need)).first()
        if need is None:
            continue
        kind, target_id = "need", need.id
        if demo.target_author is not None:
            comment = _demo_spam_comment(session, need, people, now)
            kind, target_id = "comment", comment.id
        reporter = people[demo.reporter]
        exists = session.scalars(
            select(Report.id).where(
                Report.reporter_id == reporter.id,
                Report.target_kind == kind,
                Report.target_id == target_id,
            )
        ).first()
        if exists is None:
            session.add(
                Report(
                    reporter_id=reporter.id,  # type: ignore[arg-type]
                    target_kind=kind,
                    target_id=target_id,  # type: ignore[arg-type]
                    reason=demo.reason,
                    detail=demo.detail,
                    created_at=now - timedelta(hours=6 + added),
                )
            )
            added += 1
    session.commit()
    return added


def _demo_spam_comment(
    session: Session, need: Need, people: dict[str, User], now: datetime
) -> Comment:
    spam = content.SPAM_COMMENT
    comment = session.scalars(
        select(Comment).where(Comment.need_id == need.id, Comment.body == spam.body)
    ).first()
    if comment is None:
        comment = _add_demo_comment(session, need, spam, people, need.created_at, now, None)
        need.comments_count += 1
        session.add(need)
        following = session.scalars(
            select(Follow.id).where(Follow.need_id == need.id, Follow.user_id == comment.author_id)
        ).first()
        if following is None:
            session.add(Follow(need_id=need.id, user_id=comment.author_id, created_at=now))  # type: ignore[arg-type]
    return comment


def _add_demo_comment(
    session: Session,
    need: Need,
    demo: content.DemoComment,
    people: dict[str, User],
    after: datetime,
    now: datetime,
    parent: Comment | None,
) -> Comment:
    when = now - timedelta(days=demo.days_ago)
    when = min(max(when, after + timedelta(minutes=20)), now)
    comment = Comment(
        need_id=need.id,  # type: ignore[arg-type]
        author_id=people[demo.author].id,
        parent_id=parent.id if parent else None,
        body=demo.body,
        body_html=render_markdown(demo.body),
        created_at=when,
        updated_at=when,
    )
    session.add(comment)
    session.flush()
    return comment


def _ids_by_slug(session: Session, model: type[Theme] | type[Territory]) -> dict[str, int]:
    query = select(model.slug, model.id).order_by(model.position, model.id)  # type: ignore[arg-type]
    return {row.slug: row.id for row in session.execute(query)}


# --- generated needs (`--needs N`) ---------------------------------------------------------

BATCH_NEEDS = 2000  # needs written (with their supports, comments, follows) per transaction
MAX_SUPPORTS = 300
MAX_COMMENTS = 30
# Shapes of the Pareto draws: supports (about nine besides the author's on a public need) and
# comments (about three, more where more people support).
SUPPORTS_SHAPE = 0.8
COMMENTS_SHAPE = 1.2
COMMENTS_PER_SUPPORTS = 5
POOL_MAX = 50_000
LONG_DISCUSSION = (45, 55)  # about one need in a thousand has a long thread
SPAN = timedelta(days=730)
POOL_EMAIL = "voisin-{:05d}@demo.bourse.example"
_INITIALS = "ABCDEFGHJLMNPRSTV"

# Public needs are most of the board; the others exist so that filters have work to do.
_STATUS_SHARES = [
    (NeedStatus.published.value, 0.955),
    (NeedStatus.covered.value, 0.02),
    (NeedStatus.pending.value, 0.013),
    (NeedStatus.hidden.value, 0.008),
    (NeedStatus.rejected.value, 0.004),
]
_CONCERNS = [c.value for c in Concern]


@dataclass
class GenerationReport:
    needs: int = 0
    supports: int = 0
    comments: int = 0
    follows: int = 0
    new_accounts: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        def n(value: int) -> str:
            return f"{value:,}".replace(",", "\u202f")

        rate = self.needs / self.seconds if self.seconds else 0
        seconds = f"{self.seconds:.1f}".replace(".", ",")
        return (
            f"{n(self.needs)} besoins générés en {seconds} s ({n(int(rate))} par seconde) : "
            f"{n(self.supports)} soutiens, {n(self.comments)} commentaires, "
            f"{n(self.follows)} suivis, {n(self.new_accounts)} comptes générés créés."
        )


def pool_size(count: int) -> int:
    """Generated accounts used as authors, supporters and commenters: enough for the most
    supported need's distinct supporters, and one account per two needs up to POOL_MAX."""
    return max(MAX_SUPPORTS + 100, min(POOL_MAX, count // 2))


def generate_needs(
    session: Session, count: int, *, seed: int | None = None, now: datetime | None = None
) -> GenerationReport:
    """Adds `count` generated needs with supports, comments and follows. Not idempotent."""
    started = time.perf_counter()
    report = GenerationReport()
    rng = random.Random(seed)
    now = now or utcnow()
    themes = _ids_by_slug(session, Theme)
    territory_ids = list(_ids_by_slug(session, Territory).items())
    territory_names = dict(session.execute(select(Territory.id, Territory.name)).all())
    pool, report.new_accounts = _account_pool(session, pool_size(count), now, rng)

    generator = _NeedGenerator(rng, now, themes, territory_ids, territory_names, pool)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite's default page cache is 2 MB: past a few hundred thousand rows, every insert
        # into the indexes would read pages back from disk. 256 MB for this connection only.
        previous_cache = session.execute(text("PRAGMA cache_size")).scalar_one()
        session.execute(text("PRAGMA cache_size = -262144"))
    done = 0
    while done < count:
        batch = min(BATCH_NEEDS, count - done)
        _write_batch(session, generator, batch, report)
        done += batch
        if count >= 10 * BATCH_NEEDS and done % (10 * BATCH_NEEDS) == 0:
            elapsed = time.perf_counter() - started
            log.info("%d/%d besoins générés (%.0f s)", done, count, elapsed)

    # Fresh statistics, so the query planner knows the tables' new sizes at once.
    for table in ("needs", "supports", "comments", "follows", "users"):
        session.execute(text(f"ANALYZE {table}"))
    if sqlite:
        session.execute(text(f"PRAGMA cache_size = {int(previous_cache)}"))
    session.commit()
    report.seconds = time.perf_counter() - started
    return report


def _account_pool(
    session: Session, size: int, now: datetime, rng: random.Random
) -> tuple[list[int], int]:
    """Ids of the generated accounts voisin-00000… (created when missing, reused across runs).
    They have no password: nobody signs in as them."""
    emails = [POOL_EMAIL.format(i) for i in range(size)]
    found: dict[str, int] = {}
    for chunk in _chunks(emails, 5000):
        found.update(_emails_to_ids(session, chunk))
    missing = [(i, e) for i, e in enumerate(emails) if e not in found]
    rows = []
    for i, email in missing:
        joined = now - SPAN * rng.random()
        name = f"{content.FIRST_NAMES[i % len(content.FIRST_NAMES)]} "
        name += f"{_INITIALS[(i // len(content.FIRST_NAMES)) % len(_INITIALS)]}."
        rows.append(
            {
                "email": email,
                "display_name": name,
                "password_hash": None,
                "role": Role.resident.value,
                "locale": "fr",
                "email_verified_at": joined,
                "created_at": joined,
                "last_login_at": None,
                "blocked_at": None,
                "blocked_until": None,
                "blocked_reason": None,
            }
        )
    for chunk in _chunks(rows, 5000):
        session.execute(insert(_table(User)), chunk)
    if rows:
        session.commit()
        for chunk in _chunks(emails, 5000):
            found.update(_emails_to_ids(session, chunk))
    return [found[e] for e in emails], len(rows)


def _emails_to_ids(session: Session, emails: Sequence[str]) -> dict[str, int]:
    query = select(User.email, User.id).where(User.email.in_(emails))  # type: ignore[attr-defined]
    return {row.email: row.id for row in session.execute(query)}


def _table(model: Any) -> Table:
    # Core inserts on the table, not ORM bulk inserts on the class: the ORM leaves out None
    # values and splits a batch into one statement per pattern of NULLs.
    return model.__table__  # type: ignore[no-any-return]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_batch(
    session: Session, generator: _NeedGenerator, size: int, report: GenerationReport
) -> None:
    drafts = [generator.need() for _ in range(size)]
    need_ids = _insert_with_ids(session, _table(Need), [d.row for d in drafts])
    supports: list[dict[str, Any]] = []
    follows: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    for need_id, draft in zip(need_ids, drafts, strict=True):
        for row in draft.supports:
            row["need_id"] = need_id
        supports.extend(draft.supports)
        for user_id, when in draft.followers.items():
            follows.append({"need_id": need_id, "user_id": user_id, "created_at": when})
        top_level: list[dict[str, Any]] = []
        for row, parent in draft.comments:
            row["need_id"] = need_id
            row["parent"] = top_level[parent] if parent is not None else None
            if parent is None:
                top_level.append(row)
            comments.append(row)

    if supports:
        session.execute(insert(_table(Support)), supports)
    if comments:
        # Replies come after their parent in the list, so parents are inserted first.
        comment_ids = _reserve_ids(session, _table(Comment), len(comments))
        for row, comment_id in zip(comments, comment_ids, strict=True):
            row["id"] = comment_id
        for row in comments:
            parent = row.pop("parent")
            row["parent_id"] = parent["id"] if parent is not None else None
        session.execute(insert(_table(Comment)), comments)
    if follows:
        session.execute(insert(_table(Follow)), follows)
    session.commit()
    report.needs += size
    report.supports += len(supports)
    report.comments += len(comments)
    report.follows += len(follows)


def _insert_with_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts rows with one executemany and returns their ids in order. (RETURNING with
    `sort_by_parameter_order` would do the same but falls back to one statement per row on
    SQLite.)"""
    if session.get_bind().dialect.name == "sqlite":
        # The first row, inserted the ordinary way, takes SQLite's write lock until commit.
        rows[0]["id"] = session.execute(insert(table).returning(table.c.id), [rows[0]]).scalar_one()
        ids = [rows[0]["id"], *_reserve_ids(session, table, len(rows) - 1)]
    else:
        ids = _reserve_ids(session, table, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    remaining = rows[1:] if session.get_bind().dialect.name == "sqlite" else rows
    if remaining:
        session.execute(insert(table), remaining)
    return ids


def _reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` primary keys that no concurrent writer can take.

    PostgreSQL: drawn from the table's sequence. SQLite: only once this transaction has written
    (it then holds the database's write lock until commit): SQLite numbers a new row
    max(id) + 1, so the ids above the current maximum are free until then.
    """
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        query = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return list(session.scalars(query, {"table": table.name, "n": count}))
    first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))


@dataclass
class _Draft:
    row: dict[str, Any]
    supports: list[dict[str, Any]]
    # (row, index of the parent among this need's top-level comments, or None)
    comments: list[tuple[dict[str, Any], int | None]]
    followers: dict[int, datetime]


class _NeedGenerator:
    """Composes plausible needs from the fragments of app.ops.demo.content."""

    def __init__(
        self,
        rng: random.Random,
        now: datetime,
        themes: dict[str, int],
        territories: list[tuple[str, int]],
        territory_names: dict[int, str],
        pool: list[int],
    ) -> None:
        self.rng = rng
        self.now = now
        self.themes = themes
        self.territories = territories
        self.territory_names = territory_names
        self.pool = pool
        # Bigger towns post more: Bordeaux first, the others in decreasing shares.
        self.territory_weights = [max(1.0, 4.0 - i * 0.4) for i in range(len(territories))]
        self.statuses = [s for s, _ in _STATUS_SHARES]
        self.status_weights = [w for _, w in _STATUS_SHARES]

    def need(self) -> _Draft:
        rng = self.rng
        service, theme_slug = rng.choice(content.SERVICES)
        territory_id: int | None = None
        if self.territories and rng.random() > 0.05:
            territory_id = rng.choices(self.territories, self.territory_weights)[0][1]
        town = self.territory_names.get(territory_id) if territory_id else None
        audience = rng.choice(content.AUDIENCES)
        place = rng.choice(content.PLACES)
        title = self._title(service, audience, place, town)
        body, body_html, plain = self._body(service, audience, place)
        # More needs in recent months: the board grows.
        created = self.now - SPAN * (rng.random() ** 1.3) - timedelta(minutes=30)
        status = rng.choices(self.statuses, self.status_weights)[0]
        author = rng.choice(self.pool)
        public = status in PUBLIC_NEED_STATUSES

        supports = [self._support(author, created, "has_need", None)]
        if public:
            others = min(MAX_SUPPORTS - 1, int(rng.paretovariate(SUPPORTS_SHAPE)) - 1)
            if others:
                people = rng.sample(self.pool, others + 1)
                people = [p for p in people if p != author][:others]
                for person in people:
                    when = created + (self.now - created) * (rng.random() ** 2)
                    concern, where = None, None
                    if rng.random() < 0.15:
                        concern = rng.choice(_CONCERNS)
                        if rng.random() < 0.6 and self.territories:
                            where = rng.choice(self.territories)[1]
                    supports.append(self._support(person, when, concern, where))

        followers = {author: created}
        comments: list[tuple[dict[str, Any], int | None]] = []
        if public:
            comments = self._comments(author, created, len(supports), followers)

        row = {
            "author_id": author,
            "title": title,
            "slug": slugify(title),
            "body": body,
            "body_html": body_html,
            "excerpt": _excerpt_of_plain_text(plain),
            "theme_id": self.themes.get(theme_slug) if rng.random() > 0.08 else None,
            "territory_id": territory_id,
            "status": status,
            "supports_count": len(supports),
            "comments_count": len(comments),
            "trending_score": sum(support_weight(s["created_at"]) for s in supports),
            "merged_into_id": None,
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
            "submission_key": None,
        }
        return _Draft(row, supports, comments, followers)

    def _support(
        self, user_id: int, when: datetime, concern: str | None, territory_id: int | None
    ) -> dict[str, Any]:
        return {
            "user_id": user_id,
            "created_at": when,
            "concern": concern,
            "territory_id": territory_id,
        }

    def _title(self, service: str, audience: str, place: str, town: str | None) -> str:
        rng = self.rng
        shape = rng.randrange(4)
        capital = service[0].upper() + service[1:]
        if shape == 0:
            title = f"{capital} {audience}" + (f" à {town}" if town else "")
        elif shape == 1:
            title = f"Il manque {service} {place}"
        elif shape == 2:
            title = f"{capital} {place}" + (f", {town}" if town else "")
        else:
            title = f"Qui pourrait créer {service} {audience} ?"
        return title[:140]

    def _body(self, service: str, audience: str, place: str) -> tuple[str, str, str]:
        """Markdown, its HTML and its plain text, built from known-safe sentences."""
        rng = self.rng
        values = {
            "service": service,
            "audience": audience,
            "place": place,
            "years": rng.randint(2, 30),
            "children": rng.randint(2, 4),
            "months": rng.randint(3, 18),
            "distance": rng.randint(5, 40),
        }
        opening = rng.choice(content.OPENINGS).format(**values)
        paragraphs = [f"{opening} {rng.choice(content.PROBLEMS).format(**values)}"]
        details = rng.sample(content.DETAILS, rng.randint(0, 3))
        if details:
            paragraphs.append(" ".join(d.format(**values) for d in details))
        wishes = rng.sample(content.WISHES, rng.randint(2, 4)) if rng.random() < 0.35 else []
        if wishes:
            paragraphs.append("Ce qui aiderait :")
        closing = rng.choice(content.CLOSINGS) if rng.random() < 0.7 else None

        markdown = "\n\n".join(paragraphs)
        html = "\n".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
        plain = paragraphs[:]
        if wishes:
            markdown += "\n\n" + "\n".join(f"- {w}" for w in wishes)
            items = "\n".join(f"<li>{escape(w, quote=False)}</li>" for w in wishes)
            html += f"\n<ul>\n{items}\n</ul>"
            plain += wishes
        if closing:
            markdown += f"\n\n{closing}"
            html += f"\n<p>{escape(closing, quote=False)}</p>"
            plain.append(closing)
        return markdown, html, " ".join(plain)

    def _comments(
        self, author: int, created: datetime, supports: int, followers: dict[int, datetime]
    ) -> list[tuple[dict[str, Any], int | None]]:
        rng = self.rng
        if rng.random() < 0.001:
            count = rng.randint(*LONG_DISCUSSION)
        else:
            # Discussion follows interest: more supports, more comments.
            count = min(
                MAX_COMMENTS,
                int(rng.paretovariate(COMMENTS_SHAPE)) - 1 + supports // COMMENTS_PER_SUPPORTS,
            )
        if not count:
            return []
        span = self.now - created - timedelta(minutes=10)
        times = sorted(created + timedelta(minutes=10) + span * rng.random() for _ in range(count))
        result: list[tuple[dict[str, Any], int | None]] = []
        top_positions: list[int] = []  # index among this need's top-level comments
        for when in times:
            writer = author if rng.random() < 0.15 else rng.choice(self.pool)
            sentences = rng.sample(content.COMMENT_SENTENCES, rng.randint(1, 3))
            body = " ".join(sentences)
            row = {
                "author_id": writer,
                "parent_id": None,
                "body": body,
                "body_html": f"<p>{escape(body, quote=False)}</p>",
                "status": "published",
                "created_at": when,
                "updated_at": when,
                "deleted_at": None,
                "submission_key": None,
            }
            if top_positions and rng.random() < 0.3:
                result.append((row, rng.choice(top_positions)))
            else:
                top_positions.append(len(top_positions))
                result.append((row, None))
            followers.setdefault(writer, when)
        return result


def _excerpt_of_plain_text(plain: str, length: int = 220) -> str:
    """app.core.text.excerpt for text that is already plain (the same cut, without rendering)."""
    plain = " ".join(plain.split())
    if len(plain) <= length:
        return plain
    return plain[:length].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def count_rows(session: Session) -> dict[str, int]:
    """Row counts of the tables the demo writes (for tests and reports)."""
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[attr-defined]
        for model in (
            User,
            Theme,
            Territory,
            Need,
            Support,
            Comment,
            Follow,
            Report,
            Tag,
            NeedTag,
            Idea,
            StageChange,
            Partner,
            IdeaPartner,
            IdeaNeed,
            CarrierApplication,
            Milestone,
        )
    }
