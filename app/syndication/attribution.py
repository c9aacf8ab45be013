"""Attribution (issue 6): what arrives through a partner's `ref=<partner slug>` links.

Partners' embeds and feeds carry `ref=<slug>` on every link to the site. This module counts,
per partner and per day (the Europe/Paris day, as staff read it), the visits that arrive
through such a link, and the needs posted and the supports given afterwards. Only counters
are stored (app.syndication.models.PartnerReferralDay): never who, never which need.

Decisions:

- An arrival is a GET of a public HTML page with `?ref=<slug>` of an existing partner
  (archived ones still count: their codes stay on their sites) that answers 2xx, or a redirect
  (not 304): the widget's « Proposer un besoin » link sends a signed-out visitor to the login
  page, and the arrival still happened (the canonical-address redirects keep the query, and
  the page they lead to is then the same visit, see below). Not arrivals: staff and account
  pages, the API, feeds, embeds, static files (`not_arrival_path`), /partners/embed (where
  `ref` pre-selects the partner in the code builder), htmx requests (a block of a page already
  shown), HEAD requests and obvious robots (`is_robot`). An unknown slug is ignored
  silently: a visitor's page never breaks because of a partner's typo.
- An arrival sets or refreshes the first-party cookie `bourse_ref` (signed like the other
  tokens, with the app's signing key; 30 days; HttpOnly; SameSite=Lax; Secure in production),
  holding the partner id and the time of the arrival. It counts one visit unless the cookie
  already names the same partner with an arrival less than 30 minutes old: a reload, or
  browsing on from the same widget, is the same visit. Every arrival moves that time, so the
  30 minutes are counted from the last link followed.
- The cookie only dedupes browsers that keep it: a client without cookies (a script, a
  private window reloaded) would count at every GET. So an arrival also counts only if the
  server has counted none from the same client for the same partner in the last 30 minutes
  (VISIT_MINUTES: the same « visit » as the cookie's, so a visit is one visit with or without
  cookies; a day would undercount people who come back through the link later the same day).
  The client is its address — an IPv6 address by its /64, which one home or server usually
  gets whole — and its User-Agent, kept as an HMAC with the app's signing key and the partner's
  id (`rate_events` key `arrival:<partner id>:<hmac>`): never the address itself, and the
  marks of one client for two partners cannot be linked. The User-Agent separates the people
  behind one address (a family, a library); since a script can change it at every request,
  one address (or /64) counts at most ADDRESS_VISITS_PER_DAY arrivals a day for one partner
  (key `arrival-net:<partner id>:<hmac>`), far more than a local partner's link brings from
  one place. The marks live in the database, so they hold across workers and instances; two
  requests at once are serialised on the key (app.web.antiabuse.record_use), so they count
  once; the background purge drops them after a day (app.ops.jobs).
- A need posted through the HTML form counts for the partner of a valid cookie younger than
  30 days, including a need waiting for moderation (it was posted; what moderators decide
  later is not the partner's doing). Re-sending the same form (its submission key) counts
  nothing more. The author's own automatic support of their need is not a « Moi aussi ».
- A support counts when « Moi aussi » newly adds one; a repeat or a withdrawal counts
  nothing. Withdrawing then supporting again counts again: the counters remember no one, so
  they cannot tell a returning supporter from a new one (the support rate limit bounds it).
- API writes (personal tokens, no browser cookie) are never attributed, nor is a support given
  by answering « how are you concerned » after a withdrawal in another tab.
- Counting never breaks the page or the write: a failure is logged and forgotten. Each count
  is one atomic upsert (INSERT … ON CONFLICT DO UPDATE SET col = col + 1), safe under
  concurrent requests on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.requests import HTTPConnection

from app.board.events import NeedPosted, SupportGiven
from app.core import events
from app.core.clock import LOCAL_TIMEZONE, local_today
from app.core.db import utcnow
from app.core.ratelimit import network_of
from app.core.settings import Settings
from app.pipeline import partner_figures
from app.pipeline.models import Partner
from app.syndication.models import PartnerReferralDay
from app.web.antiabuse import record_use
from app.web.i18n import gettext as _

log = logging.getLogger(__name__)

REF_PARAM = "ref"
REF_COOKIE = "bourse_ref"
REF_SALT = "bourse.partner-ref"
COOKIE_DAYS = 30  # how long a need or a support is still credited to the partner
VISIT_MINUTES = 30  # a new arrival within this time of the last one is the same visit
# Beyond this many arrivals from one address (or IPv6 /64) for one partner over a day, no more
# count: what keeps a script changing its User-Agent from inflating the figures.
ADDRESS_VISITS_PER_DAY = 30
ADDRESS_WINDOW = timedelta(days=1)
USER_AGENT_MAX = 512
FIGURE_DAYS = 30  # the staff list's window: today and the 29 days before
FIGURE_MONTHS = 12  # the partner page's table
SLUG_MAX = 80  # Partner.slug's length: anything longer is no partner

# Lower-case fragments of the User-Agent of crawlers and link previewers: short on purpose,
# it only keeps the obvious ones out of the counts. An empty User-Agent is no browser either.
ROBOT_MARKERS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "preview",
    "facebookexternalhit",
    "embedly",
    "lighthouse",
)

# Pages that are not the public site (or where `ref` means something else).
NOT_ARRIVAL_PREFIXES = (
    "/moderation",
    "/account",
    "/partners/embed",
    "/notifications",
    "/uploads",
)

COLUMNS = ("visits", "needs_posted", "supports")


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIMEZONE).date()


# --- who may be counted ---------------------------------------------------------------------------


def is_robot(user_agent: str) -> bool:
    agent = user_agent.lower()
    return not agent.strip() or any(marker in agent for marker in ROBOT_MARKERS)


def not_arrival_path(path: str, no_cookie_prefixes: tuple[str, ...]) -> bool:
    return path.startswith(no_cookie_prefixes) or path.startswith(NOT_ARRIVAL_PREFIXES)


def arrival_slug(conn: HTTPConnection, no_cookie_prefixes: tuple[str, ...]) -> str | None:
    """The partner slug this request may be an arrival for (before its answer is known), or
    None when it cannot be one."""
    if conn.scope.get("method") != "GET":
        return None  # HEAD (link checkers, previews) and writes are no visit
    slug = conn.query_params.get(REF_PARAM, "").strip()
    if not slug or len(slug) > SLUG_MAX:
        return None
    if not_arrival_path(conn.url.path, no_cookie_prefixes):
        return None
    if conn.headers.get("hx-request"):
        return None  # a block of a page already shown
    if is_robot(conn.headers.get("user-agent", "")):
        return None
    return slug


REDIRECTS = frozenset({301, 302, 303, 307, 308})  # not 304: a copy revalidated is no arrival


def counts_as_arrival(status: int, content_type: str) -> bool:
    if status in REDIRECTS:
        return True
    return 200 <= status < 300 and content_type.startswith("text/html")


# --- the cookie ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Referral:
    partner_id: int
    arrived_at: datetime


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.signing_key, salt=REF_SALT)


def cookie_value(settings: Settings, partner_id: int, arrived_at: datetime) -> str:
    return _serializer(settings).dumps([partner_id, int(arrived_at.timestamp())])


def read_cookie(
    settings: Settings, raw: str | None, now: datetime | None = None
) -> Referral | None:
    """The referral a `bourse_ref` cookie holds if it is ours, well formed and younger than 30
    days; None otherwise (forged, damaged, expired or from the future)."""
    if not raw or len(raw) > 200:
        return None
    try:
        payload = _serializer(settings).loads(raw)
    except BadSignature:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not all(type(value) is int for value in payload)
    ):
        return None
    now = now or utcnow()
    try:
        arrived_at = datetime.fromtimestamp(payload[1], UTC)
    except (OverflowError, OSError, ValueError):
        return None
    # A little tolerance for clocks of several app servers.
    if arrived_at > now + timedelta(minutes=5) or now - arrived_at > timedelta(days=COOKIE_DAYS):
        return None
    return Referral(partner_id=payload[0], arrived_at=arrived_at)


def cookie_header(settings: Settings, value: str) -> str:
    """The Set-Cookie value of an arrival."""
    from http.cookies import SimpleCookie

    morsel: SimpleCookie = SimpleCookie()
    morsel[REF_COOKIE] = value
    morsel[REF_COOKIE]["path"] = "/"
    morsel[REF_COOKIE]["max-age"] = str(COOKIE_DAYS * 24 * 3600)
    morsel[REF_COOKIE]["httponly"] = True
    morsel[REF_COOKIE]["samesite"] = "Lax"
    if settings.is_production:
        morsel[REF_COOKIE]["secure"] = True
    return morsel.output(header="").strip()


# --- counting -----------------------------------------------------------------------------------


def increment(session: Session, partner_id: int, column: str, day: date | None = None) -> None:
    """Adds one to a counter of today's row, creating it if needed, in one statement (two
    requests creating the same row at once would otherwise collide). Does not commit."""
    if column not in COLUMNS:
        raise ValueError(column)
    table = PartnerReferralDay.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(partner_id=partner_id, day=day or local_today(), **{column: 1})
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.partner_id, table.c.day],
        set_={column: table.c[column] + 1},
    )
    session.execute(statement)


def partner_by_slug(session: Session, slug: str) -> Partner | None:
    """Any partner, archived ones included (their codes stay on their sites)."""
    if not slug or len(slug) > SLUG_MAX:
        return None
    return session.exec(select(Partner).where(Partner.slug == slug)).first()


def _client_mark(settings: Settings, partner_id: int, *parts: str) -> str:
    """An HMAC (the app's signing key) of a client's traits: the stored key never holds them."""
    message = "\n".join(("bourse.arrival", str(partner_id), *parts)).encode()
    return hmac.new(settings.signing_key.encode(), message, hashlib.sha256).hexdigest()


def arrival_keys(
    settings: Settings, partner_id: int, address: str, user_agent: str
) -> tuple[str, str]:
    """The `rate_events` keys of a client's arrival: the client (address or /64, and
    User-Agent), then its address alone."""
    network = network_of(address)
    agent = user_agent[:USER_AGENT_MAX]
    return (
        f"arrival:{partner_id}:{_client_mark(settings, partner_id, network, agent)}",
        f"arrival-net:{partner_id}:{_client_mark(settings, partner_id, network)}",
    )


def _first_arrival(
    session: Session,
    settings: Settings,
    partner_id: int,
    address: str,
    user_agent: str,
    now: datetime,
) -> bool:
    """Whether this client's arrival counts (see the module's docstring); records it if so, in
    the session's transaction."""
    client_key, network_key = arrival_keys(settings, partner_id, address, user_agent)
    visit = timedelta(minutes=VISIT_MINUTES)
    if not record_use(session, client_key, window=visit, now=now):
        return False
    return record_use(
        session, network_key, window=ADDRESS_WINDOW, now=now, limit=ADDRESS_VISITS_PER_DAY
    )


def record_arrival(
    engine: Engine,
    settings: Settings,
    slug: str,
    raw_cookie: str | None,
    address: str = "",
    user_agent: str = "",
) -> str | None:
    """Counts an arrival through `slug`'s link (one visit unless it is the same visit, by the
    cookie or by the client's address and User-Agent) and returns the new cookie value, or None
    for an unknown partner. Runs in a worker thread."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        partner = partner_by_slug(session, slug)
        if partner is None or partner.id is None:
            return None
        previous = read_cookie(settings, raw_cookie, now)
        same_visit = (
            previous is not None
            and previous.partner_id == partner.id
            and now - previous.arrived_at < timedelta(minutes=VISIT_MINUTES)
        )
        if not same_visit and _first_arrival(
            session, settings, partner.id, address, user_agent, now
        ):
            increment(session, partner.id, "visits", local_day(now))
            session.commit()
        # Not counted: closing the session rolls back (and releases) whatever was taken.
        return cookie_value(settings, partner.id, now)


def referring_partner(session: Session, conn: HTTPConnection) -> int | None:
    """The partner a request's valid `bourse_ref` cookie credits (it still exists), or None."""
    settings = conn.app.state.settings
    referral = read_cookie(settings, conn.cookies.get(REF_COOKIE))
    if referral is None:
        return None
    exists = session.exec(select(Partner.id).where(Partner.id == referral.partner_id)).first()
    return referral.partner_id if exists is not None else None


def count_for_request(session: Session, conn: HTTPConnection, column: str) -> None:
    """Credits a need posted or a support given to the request's partner, if any, in the
    caller's transaction (the caller commits). A failure is logged, never raised: the savepoint
    keeps the person's write intact."""
    if conn.cookies.get(REF_COOKIE) is None:
        return
    try:
        with session.begin_nested():
            partner_id = referring_partner(session, conn)
            if partner_id is not None:
                increment(session, partner_id, column)
    except Exception:  # a counter must never cost the person their write
        log.exception("partner attribution: could not count %s", column)


def count_after_commit(session: Session, conn: HTTPConnection, column: str) -> None:
    """The same, in its own small transaction, after the write committed elsewhere."""
    if conn.cookies.get(REF_COOKIE) is None:
        return
    try:
        partner_id = referring_partner(session, conn)
        if partner_id is None:
            return
        increment(session, partner_id, column)
        session.commit()
    except Exception:  # the need is posted: only the counter is lost
        session.rollback()
        log.exception("partner attribution: could not count %s", column)


def _on_need_posted(session: Session, event: NeedPosted) -> None:
    count_after_commit(session, event.origin, "needs_posted")


def _on_support_given(session: Session, event: SupportGiven) -> None:
    count_for_request(session, event.origin, "supports")


def staff_figures(session: Session, partner: Partner | None) -> dict[str, Any]:
    """What the staff partner pages show of the counters: the last FIGURE_DAYS days of every
    partner on the list (`partner` None), a partner's months on its page."""
    if partner is None:
        return {
            "figures": recent_figures(session),
            "empty_figures": Figures(),
            "figure_days": FIGURE_DAYS,
        }
    if partner.id is None:
        return {}
    months, total = monthly_figures(session, partner.id)
    return {"months": months, "figure_total": total, "figure_months": FIGURE_MONTHS}


def subscribe() -> None:
    """Credits the needs posted and the supports given from the board's pages to the partner
    the person came from, and shows the counters on the staff partner pages (app/ops/wiring.py;
    harmless if repeated)."""
    events.subscribe(NeedPosted, _on_need_posted)
    events.subscribe(SupportGiven, _on_support_given)
    partner_figures.register(staff_figures)


# --- links carrying ref ---------------------------------------------------------------------------


def parse_ref(session: Session, raw: str) -> tuple[Partner | None, dict[str, str]]:
    """For embeds and feeds: the partner of `ref=` (None when absent), or a French message for
    an unknown one — a partner's code with a typo should say so at once, not count nothing."""
    raw = raw.strip()
    if not raw:
        return None, {}
    partner = partner_by_slug(session, raw)
    if partner is None:
        return None, {
            REF_PARAM: _(
                "Ce code partenaire (ref) n'existe pas : vérifiez-le sur la page "
                "« Afficher les besoins sur votre site »."
            )
        }
    return partner, {}


def with_ref(url: str, slug: str | None) -> str:
    """`url` with `ref=<slug>` added to its query (before any #fragment); unchanged without
    a slug."""
    if not slug:
        return url
    parts = urlsplit(url)
    extra = urlencode({REF_PARAM: slug})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# --- staff figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    visits: int = 0
    needs_posted: int = 0
    supports: int = 0

    def add(self, visits: int, needs_posted: int, supports: int) -> None:
        self.visits += int(visits or 0)
        self.needs_posted += int(needs_posted or 0)
        self.supports += int(supports or 0)


def recent_figures(session: Session, today: date | None = None) -> dict[int, Figures]:
    """Every partner's totals over the last FIGURE_DAYS days (today included), in one grouped
    query; a partner with nothing is absent (read it as zeros)."""
    since = (today or local_today()) - timedelta(days=FIGURE_DAYS - 1)
    rows = session.exec(
        select(
            PartnerReferralDay.partner_id,
            func.sum(PartnerReferralDay.visits),
            func.sum(PartnerReferralDay.needs_posted),
            func.sum(PartnerReferralDay.supports),
        )
        .where(PartnerReferralDay.day >= since)  # type: ignore[operator]
        .group_by(PartnerReferralDay.partner_id)
    ).all()
    found: dict[int, Figures] = {}
    for partner_id, visits, needs_posted, supports in rows:
        found.setdefault(int(partner_id), Figures()).add(visits, needs_posted, supports)
    return found


@dataclass
class MonthFigures:
    month: date  # its first day
    figures: Figures


def monthly_figures(
    session: Session, partner_id: int, today: date | None = None
) -> tuple[list[MonthFigures], Figures]:
    """One partner's last FIGURE_MONTHS months (the current one first, empty months shown as
    zeros) and their total. At most a year of daily rows, summed here: the grouping by month
    would otherwise need a different SQL function per engine."""
    today = today or local_today()
    months: list[date] = []
    first = today.replace(day=1)
    for _index in range(FIGURE_MONTHS):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    by_month = {month: Figures() for month in months}
    rows = session.exec(
        select(PartnerReferralDay).where(
            PartnerReferralDay.partner_id == partner_id,
            PartnerReferralDay.day >= months[-1],  # type: ignore[operator]
            PartnerReferralDay.day <= today,  # type: ignore[operator]
        )
    ).all()
    total = Figures()
    for row in rows:
        by_month[row.day.replace(day=1)].add(row.visits, row.needs_posted, row.supports)
        total.add(row.visits, row.needs_posted, row.supports)
    return [MonthFigures(month, by_month[month]) for month in months], total
