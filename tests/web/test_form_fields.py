"""No form sends a field its route does not read, and no route waits for a field its form lacks.

The login page's « Recevoir un lien de connexion » form once sent `link_email` to a route that
read `email`: the route saw an empty address every time, and the tests, which posted `email`
themselves, never noticed. This audit renders the pages that hold forms — as a visitor, an
unconfirmed account, a resident with contributions, a moderator and an administrator, on the
demo content — reads every `<form method="post">` as a browser sends it (its fields, those
attached with `form="…"`, the buttons' `formaction`; an element inside it that posts alone with
`data-hx-post` sends its own field), finds the route the app's router picks for the action,
and fails when:

- the form sends a field the route never reads (a typo, a rename on one side only, a dead field);
- the route needs a field the form lacks: a Form parameter without a default, `csrf_token`
  (app.web.security.verify_csrf; without JavaScript the token travels in the form), or the
  signed `form_started` where the route checks the anti-abuse guard;
- the form's `data-hx-post` goes elsewhere than its action (with and without JavaScript, one
  route).

What a route reads comes from FastAPI itself: the Form/File parameters of the endpoint and of
its dependencies, recursively, plus `csrf_token` and the guard pair `form_started`/`website`
where the route depends on verify_csrf and app.web.antiabuse.GuardData (which read them by hand).

Routes that read `await request.form()` themselves cannot be introspected: WAIVERS lists them
with the reason. For those the audit can only check that every name the form sends appears as
a string in the route's code (the endpoint, and what it names from app/ two levels down): a
renamed or mistyped field still fails, a field read under a computed name would not. A waiver
whose route is gone fails; so does a page listed in PAGES that no longer renders a post form
of its own (the header's sign-out form does not count), and a form route of the app that no
audited page posts to (unless NO_PAGE_FORM says why). Run with `-s` to see the forms checked.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import FunctionType, MethodType, ModuleType
from typing import Annotated, Any

import pytest
from fastapi import Form
from fastapi import params as fastapi_params
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sqlmodel import select
from starlette.routing import Match

from app.web import antiabuse
from app.web.security import CSRF_FIELD, verify_csrf

# Read by the framework's own code, not by the route's parameters.
GUARD_FIELDS = {antiabuse.STARTED_FIELD, antiabuse.HONEYPOT_FIELD}

# Routes that read `await request.form()` themselves (no parameters to introspect).
WAIVERS: dict[str, str] = {
    "/needs/new": "the need form: NeedInput.from_form, the preview button and the guard",
    "/needs/preview": "the live preview reads only body from the whole need form (htmx)",
    "/needs/{need_id}/edit": "the need form again, NeedInput.from_form",
    "/account/notifications/settings": "one select per notification kind (KINDS)",
    "/moderation/queue/bulk": "the ticked items, a repeated field (getlist)",
    "/moderation/needs/{need_id}/qualification": "tags as a repeated field (from_form)",
    "/moderation/needs/new": "the offline need form, OfflineNeedInput.from_form",
    "/moderation/ideas/new": "need ids as a repeated field (getlist)",
    "/moderation/ideas/{idea_id}/move": "one route for the board's and the idea page's forms",
    "/moderation/ideas/{idea_id}/edit": "shares _idea_values with the new-idea form",
    "/moderation/ideas/{idea_id}/needs": "need ids typed or ticked (getlist)",
    "/moderation/ideas/{idea_id}/study": "one handler for the stage forms (STAGE_FORMS)",
    "/moderation/ideas/{idea_id}/call": "one handler for the stage forms (STAGE_FORMS)",
    "/moderation/ideas/{idea_id}/carrier": "one handler for the stage forms (STAGE_FORMS)",
    "/moderation/ideas/{idea_id}/enterprise": "one handler for the stage forms (STAGE_FORMS)",
    "/moderation/ideas/{idea_id}/milestones": "read with one length guard (form_text)",
    "/moderation/ideas/{idea_id}/milestones/{milestone_id}": "one route, several buttons",
    "/moderation/ideas/{idea_id}/comments": "read with one length guard (form_text)",
    "/ideas/{idea_id}/apply": "ApplicationInput.from_form and the guard",
    "/account/carrier": "ProfileInput.from_form: the ticked domains are a repeated field",
    "/account/project": "ProposalInput.from_form and the guard",
}

# Form routes no audited page posts to, and why (the coverage check below skips them).
NO_PAGE_FORM: dict[str, str] = {
    "/account/check-email/resend": "on /account/check-email only for the browser that has just "
    "signed up (its cookie names the address); tests/accounts/test_after_signup.py fills it "
    "from that page",
}


# --- reading the pages --------------------------------------------------------------------


@dataclass
class PageForm:
    """One way a page sends a form: its target (the form's action, a button's formaction, or
    the data-hx-post of an element inside a form) and the names of the fields that go."""

    page: str
    target: str
    fields: set[str]
    hx_post: str | None = None
    in_header: bool = False
    # An element that posts on its own (htmx): only its own field is checked, not the form's.
    element: bool = False


def _path_of(url: str, page: str) -> str:
    url = (url or page).split("#")[0].split("?")[0]
    assert url.startswith("/") and not url.startswith("//"), f"{page}: form posts off site: {url}"
    return url


def _hx_post(node: LexborNode) -> str | None:
    return node.attributes.get("data-hx-post") or node.attributes.get("hx-post")


def post_forms(html: str, page: str) -> list[PageForm]:
    """Every `<form method="post">` of the page, with its fields (those inside it, minus
    those given to another form with `form="…"`, plus those outside it given to it), and
    every element that posts by itself with htmx."""
    tree = LexborHTMLParser(html)
    controls = "input, select, textarea, button"
    attached: dict[str, list[LexborNode]] = {}
    for node in tree.css(controls):
        owner = node.attributes.get("form")
        if owner:
            attached.setdefault(owner, []).append(node)
    found = []
    for form in tree.css("form"):
        if (form.attributes.get("method") or "get").lower() != "post":
            continue
        form_id = form.attributes.get("id")
        nodes = [n for n in form.css(controls) if n.attributes.get("form") in (None, form_id)]
        nodes += [n for n in attached.get(form_id or "", []) if not _inside(n, form)]
        names = {n.attributes["name"] for n in nodes if n.attributes.get("name")}
        in_header = _has_ancestor(form, "header")
        action = _path_of(form.attributes.get("action") or "", page)
        targets = {action} | {
            _path_of(b.attributes["formaction"] or "", page)
            for b in nodes
            if b.attributes.get("formaction") is not None
        }
        for target in sorted(targets):
            # htmx follows the pressed button's formaction too: compare hx-post to the action.
            hx_post = _hx_post(form) if target == action else None
            found.append(PageForm(page, target, names, hx_post, in_header))
    for node in tree.css("[data-hx-post], [hx-post]"):
        if node.tag != "form":
            name = node.attributes.get("name")
            target = _path_of(_hx_post(node) or "", page)
            found.append(PageForm(page, target, {name} if name else set(), element=True))
    return found


def _inside(node: LexborNode, ancestor: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == ancestor.mem_id:
            return True
        parent = parent.parent
    return False


def _has_ancestor(node: LexborNode, tag: str) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == tag:
            return True
        parent = parent.parent
    return False


# --- what each route reads ----------------------------------------------------------------


@dataclass
class RouteReads:
    path: str
    endpoint: Callable[..., Any]
    names: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)
    waived: bool = False


def post_routes(app: Any) -> list[Any]:
    """The app's POST routes in the router's order (included routers flattened)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        routes: Iterable[Any] = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    return [r for r in routes if "POST" in (getattr(r, "methods", None) or ())]


def route_for(routes: list[Any], path: str) -> Any | None:
    """The route the router picks for a POST to `path` (first full match, as Starlette does)."""
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": []}
    for route in routes:
        match, _child = route.matches(dict(scope))
        if match == Match.FULL:
            return route
    return None


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


_READS: dict[tuple[str, Any], RouteReads] = {}


def reads_of(route: Any) -> RouteReads:
    """What the route reads from a posted form (worked out once per route)."""
    key = (route.path, route.endpoint)
    if key not in _READS:
        _READS[key] = _reads_of(route)
    return _READS[key]


def _reads_of(route: Any) -> RouteReads:
    reads = RouteReads(route.path, route.endpoint)
    for dependant in _dependants(route.dependant):
        if dependant.call is verify_csrf:
            # Without JavaScript the token travels in the form: a form without it is refused.
            reads.names.add(CSRF_FIELD)
            reads.required.add(CSRF_FIELD)
        if dependant.call is antiabuse._guard_data:
            reads.names |= GUARD_FIELDS
            reads.required.add(antiabuse.STARTED_FIELD)  # refused without it (fill time)
        for param in dependant.body_params:
            if isinstance(param.field_info, fastapi_params.Form | fastapi_params.File):
                name = param.alias or param.name
                reads.names.add(name)
                if param.field_info.is_required():
                    reads.required.add(name)
    if route.path in WAIVERS:
        reads.waived = True
        reads.names |= strings_in_code(route.endpoint)
        if antiabuse.check_guard in _code_facts(route.endpoint)[1]:
            reads.required.add(antiabuse.STARTED_FIELD)
    return reads


def strings_in_code(func: Any, depth: int = 2) -> set[str]:
    """The strings in `func`'s code (constants, and the string constants it names), and in
    the functions and classes of app/ it names, `depth` levels down."""
    found: set[str] = set()
    frontier, seen = [func], {func}
    for _level in range(depth + 1):
        callees = []
        for item in frontier:
            strings, named = _code_facts(item)
            found |= strings
            callees += [c for c in named if c not in seen]
            seen.update(named)
        frontier = callees
    return found


@functools.cache
def _code_facts(func: Any) -> tuple[frozenset[str], tuple[Any, ...]]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return frozenset(), ()
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    scope = dict(
        getattr(inspect.unwrap(func), "__globals__", None) or vars(inspect.getmodule(func))
    )
    for node in ast.walk(tree):  # imports inside the function (routes defer a few)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            module = importlib.import_module(node.module)
            for alias in node.names:
                scope[alias.asname or alias.name] = getattr(module, alias.name, _MISSING)
    named: dict[int, Any] = {}
    for node in ast.walk(tree):
        value = _resolve(node, scope)
        if isinstance(value, str):  # a module constant naming a field (STARTED_FIELD)
            strings.add(value)
        elif isinstance(value, tuple | list | set | frozenset | dict) and all(
            isinstance(item, str) for item in value
        ):
            strings |= set(value)
        elif _from_app(value):
            named[id(value)] = value
    return frozenset(strings), tuple(named.values())


_MISSING = object()


def _resolve(node: ast.AST, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return scope.get(node.id, _MISSING)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, scope)
        return _MISSING if base is _MISSING else getattr(base, node.attr, _MISSING)
    return _MISSING


def _from_app(value: Any) -> bool:
    if isinstance(value, ModuleType) or not isinstance(value, FunctionType | MethodType | type):
        return False
    return (getattr(value, "__module__", "") or "").startswith("app.")


# --- the check ------------------------------------------------------------------------------


def mismatches(form: PageForm, routes: list[Any]) -> list[str]:
    where = f"{form.page}: {'element' if form.element else 'form'} → {form.target}"
    route = route_for(routes, form.target)
    if route is None:
        return [f"{where}: no POST route answers this action"]
    problems = []
    if form.hx_post is not None and _path_of(form.hx_post, form.page) != form.target:
        problems.append(f"{where}: htmx posts elsewhere ({form.hx_post})")
    reads = reads_of(route)
    unread = form.fields - reads.names
    if unread:
        how = "never appear in the route's code" if reads.waived else "are not read by"
        problems.append(f"{where}: fields {sorted(unread)} {how} {route.path}")
    lacking = set() if form.element else reads.required - form.fields
    if lacking:
        problems.append(f"{where}: {route.path} requires {sorted(lacking)}, the form lacks it")
    return problems


# --- the pages, seen by whom ------------------------------------------------------------------


@dataclass
class World:
    """The demo content plus what the demo lacks, and the ids the pages need."""

    people: dict[str, Any]
    ids: dict[str, Any]


@pytest.fixture
def world(session, settings, mailbox) -> World:  # type: ignore[no-untyped-def]
    from app.accounts import links
    from app.accounts import service as accounts
    from app.board.comments import post_comment
    from app.board.models import Need, Theme
    from app.board.unsubscribe import unsubscribe_path
    from app.core.db import utcnow
    from app.ops.demo.seed import seed_demo
    from app.pipeline import carriers, documents, incubator, stage_data
    from app.pipeline.models import CarrierApplication, Idea, Partner
    from app.syndication import webhooks
    from app.syndication.models import DeliveryStatus, Webhook, WebhookDelivery
    from tests.factories import make_need, make_user
    from tests.pipeline.test_uploads import minimal_pdf, upload

    seed_demo(session, settings)
    by_email = accounts.user_by_email
    people = {
        "resident": by_email(session, "habitante@demo.bourse.example"),
        "moderator": by_email(session, "moderation@demo.bourse.example"),
        "admin": by_email(session, "admin@demo.bourse.example"),
        "unconfirmed": make_user(session, verified=False),
    }
    resident, admin = people["resident"], people["admin"]

    def first(statement: Any) -> Any:
        # Ordered by id: the same row on SQLite and PostgreSQL.
        found = session.exec(statement.order_by(statement.selected_columns[0])).first()
        assert found is not None, f"the demo has no row for {statement}"
        return found

    own_need = first(select(Need).where(Need.author_id == resident.id, Need.status == "published"))
    # Just posted, nobody else on it yet: she may still edit or delete it.
    new_need = make_need(session, author=resident, title="Un composteur dans la résidence")
    other_need = first(
        select(Need).where(Need.author_id != resident.id, Need.status == "published")
    )
    # A comment on her need (her notification; someone else's comment to moderate), one of hers.
    comment = post_comment(session, own_need, admin, "Nous regardons ce qui existe déjà.")
    own_comment = post_comment(session, other_need, resident, "Moi aussi, le mardi surtout.")
    accounts.create_api_token(session, resident, "Mon tableur")
    applied = select(CarrierApplication.idea_id).where(CarrierApplication.user_id == resident.id)
    open_call = first(
        select(Idea).where(
            Idea.stage == "seeking_carrier",
            Idea.is_public.is_(True),  # type: ignore[attr-defined]
            Idea.id.not_in(applied),  # type: ignore[union-attr]
        )
    )
    idea = first(select(Idea).where(Idea.stage == "studying"))
    documents.add_document(session, admin, idea.id, upload(minimal_pdf(), "etude.pdf"))
    partner = first(select(Partner))
    # The other side of the toggles: a blocked and a trusted account, an archived theme and
    # partner, a launch milestone.
    blocked = make_user(session, display_name="Compte bloqué")
    blocked.blocked_at = utcnow()
    blocked.blocked_reason = "Messages insultants"
    trusted = make_user(session, display_name="Compte de confiance")
    trusted.trusted_at = utcnow()
    archived_partner = Partner(slug="ancien-partenaire", name="Ancien partenaire", kind="town")
    archived_partner.archived_at = utcnow()
    theme = first(select(Theme))
    theme.archived_at = utcnow()
    session.add_all([blocked, trusted, archived_partner, theme])
    session.commit()
    # Following (issue 17): she follows a territory and the open call's idea (the « Ne plus
    # suivre » forms of « Mes contributions »), not yet a theme or another public idea.
    from app.board.models import Territory
    from app.board.topic_follows import follow_topic

    follow_topic(session, resident, "territory", first(select(Territory)).id)
    follow_topic(session, resident, "idea", open_call.id)
    live_theme = first(select(Theme).where(Theme.archived_at.is_(None)))  # type: ignore[union-attr]
    public_idea = first(
        select(Idea).where(Idea.is_public.is_(True), Idea.id != open_call.id)  # type: ignore[attr-defined]
    )
    stage_data.add_milestone(session, admin, idea.id, "Signer le bail du local")
    hook = Webhook(
        url="https://ville.example/bourse-webhook",
        description="Site de la ville",
        events="need.published",
        secret=webhooks.new_secret(),
    )
    session.add(hook)
    session.commit()
    session.add(
        WebhookDelivery(
            webhook_id=hook.id,  # type: ignore[arg-type]
            event="need.published",
            event_id="6a1f0c2e-0000-4000-8000-000000000001",
            payload='{"event":"need.published"}',
            status=DeliveryStatus.failed.value,
            attempts=10,
            last_status_code=500,
            last_error="Réponse HTTP 500",
        )
    )
    session.commit()
    # The register of carriers and a project brought (issue 17), which the demo lacks.
    carriers.save_profile(
        session,
        resident,
        carriers.ProfileInput(
            domains=["social"],
            availability="part_time",
            presentation="Éducatrice, je cherche un projet d'insertion à porter.",
        ),
    )
    incubator.submit_proposal(
        session,
        resident,
        incubator.ProposalInput(
            title="Une recyclerie de jouets",
            description="Collecte, remise en état par des salariés en insertion, vente à petits "
            "prix ; le local est trouvé.",
            contact="06 01 02 03 04",
        ),
        rate_limits=False,
    )
    # People met offline about a need (issue 17), which the demo lacks.
    from app.moderation import collections

    collection = collections.add_collection(
        session,
        admin,
        other_need,
        collections.CollectionInput(people="12", method="survey", collected_on="2026-11-14"),
    )
    # The e-mailed links a visitor opens (reset, sign-in link, unsubscribe).
    links.request_password_reset(session, resident.email, "fr")
    links.request_login_link(session, resident.email, "fr")
    unconfirmed = people["unconfirmed"]
    links.resend_verification(session, unconfirmed)

    ids = {
        "own_need": own_need.id,
        "new_need": new_need.id,
        "other_need": other_need.id,
        "comment": comment.id,
        "own_comment": own_comment.id,
        "open_call": open_call.id,
        "idea": idea.id,
        "partner": partner.id,
        "archived_partner": archived_partner.id,
        "blocked": blocked.id,
        "trusted": trusted.id,
        "webhook": hook.id,
        "collection": collection.id,
        "live_theme": live_theme.id,
        "public_idea": f"{public_idea.id}-{public_idea.slug}",
        "resident_id": resident.id,
        "reset": mailbox.last_link(resident.email, "/account/password/reset"),
        "login_link": mailbox.last_link(resident.email, "/account/login-link"),
        "verify": mailbox.last_link(unconfirmed.email, "/account/verify"),
        "unsubscribe": unsubscribe_path(settings, resident.id, "comment"),
    }
    return World(people, ids)


# Pages that hold forms, by who opens them ({name} comes from World.ids). Each must render at
# least one post form of its own (the header's sign-out form does not count).
PAGES: dict[str, list[str]] = {
    "anonymous": [
        "/account/login",
        "/account/signup",
        "/account/password/forgot",
        "{reset}",
        "{login_link}",
        "{verify}",
        "{unsubscribe}",
    ],
    "unconfirmed": ["/account"],
    "resident": [
        "/needs/{other_need}",
        "/needs/{own_need}",
        "/needs/new",
        "/needs/{new_need}/edit",
        "/needs/{new_need}/delete",
        "/comments/{own_comment}/edit",
        "/report?kind=need&id={other_need}",
        "/report?kind=comment&id={comment}",
        "/account",
        "/account/notifications",
        "/account/notifications/settings",
        "/ideas/{open_call}/apply",
        "/account/carrier",
        "/account/project",
        # Following a theme and an idea, and « Ne plus suivre » (issue 17).
        "/follow/theme/{live_theme}",
        "/ideas/{public_idea}",
        "/account/contributions",
    ],
    "moderator": [
        "/needs/{other_need}",
        "/moderation/queue",
        "/moderation/needs/{other_need}/edit",
        "/moderation/needs/{other_need}/merge?into={own_need}",
        "/moderation/comments/{comment}/edit",
        "/moderation/accounts/{resident_id}",
    ],
    "admin": [
        "/moderation/accounts/{resident_id}",
        "/moderation/accounts/{blocked}",
        "/moderation/accounts/{trusted}",
        "/moderation/needs/{other_need}/qualification",
        # The fabrique's answer (issue 17): its own page, and the need page a staff member reads.
        "/moderation/needs/{other_need}/answer",
        "/needs/{other_need}",
        "/moderation/needs/{other_need}/offline",
        "/moderation/needs/{other_need}/offline/{collection}/edit",
        "/moderation/needs/new",
        "/moderation/settings",
        "/moderation/settings/themes",
        "/moderation/settings/territories",
        "/moderation/site",
        "/moderation/site/pages/fr/legal",
        "/moderation/ideas",
        "/moderation/ideas/new",
        "/moderation/ideas/{idea}",
        "/moderation/ideas/{open_call}",
        "/moderation/ideas/{idea}/edit",
        "/moderation/ideas/{open_call}/applications",
        "/moderation/carriers",
        "/moderation/carriers/projects",
        "/moderation/partners/new",
        "/moderation/partners",
        "/moderation/partners/{partner}",
        "/moderation/partners/{archived_partner}",
        "/moderation/webhooks/new",
        "/moderation/webhooks/{webhook}",
    ],
}


def test_every_form_sends_only_the_fields_its_route_reads(client, session, world):  # type: ignore[no-untyped-def]
    from tests.factories import login_as

    routes = post_routes(client.app)
    checked: list[PageForm] = []
    problems: list[str] = []
    for who, pages in PAGES.items():
        client.cookies.clear()
        if who != "anonymous":
            login_as(client, world.people[who], session)
        for template in pages:
            page = template.format(**world.ids)
            response = client.get(page)
            assert response.status_code == 200, f"{who} {page}: {response.status_code}"
            forms = post_forms(response.text, page)
            if not [f for f in forms if not f.in_header]:
                problems.append(f"{who} {template}: the page renders no post form of its own")
            for form in forms:
                checked.append(form)
                problems += [f"{who} {p}" for p in mismatches(form, routes)]
    posted_to = {_pattern(routes, f.target) for f in checked}
    for route in routes:
        if route.path.startswith("/api/") or route.path in NO_PAGE_FORM:
            continue
        if route.path not in posted_to:
            problems.append(f"{route.path}: no audited page posts to it (add a page or say why)")
    shapes = {(_pattern(routes, f.target), tuple(sorted(f.fields))) for f in checked}
    # Shown with -s, and under the failure report.
    print(f"\n{len(checked)} forms checked on {sum(map(len, PAGES.values()))} pages:")
    for target, fields in sorted(shapes):
        print(f"  {target}: {', '.join(fields)}")
    assert not problems, "\n".join(problems)


def _pattern(routes: list[Any], path: str) -> str:
    route = route_for(routes, path)
    return route.path if route is not None else f"{path} (no route)"


def test_every_waiver_names_a_route_that_reads_the_form_by_hand(app):  # type: ignore[no-untyped-def]
    routes = {route.path: route for route in post_routes(app)}
    stale = [path for path in WAIVERS if path not in routes]
    assert stale == [], "these waived routes no longer exist: remove them from WAIVERS"
    introspectable = [
        path for path in WAIVERS if "request.form()" not in inspect.getsource(routes[path].endpoint)
    ]
    assert introspectable == [], "these routes no longer read the form by hand: drop the waiver"
    assert set(NO_PAGE_FORM) <= set(routes), "NO_PAGE_FORM names a route that no longer exists"


# --- the audit audits itself --------------------------------------------------------------


def _mini_app(*endpoints: tuple[str, Callable[..., Any]]) -> Any:
    from fastapi import APIRouter, Depends, FastAPI

    router = APIRouter(dependencies=[Depends(verify_csrf)])
    for path, endpoint in endpoints:
        router.post(path)(endpoint)
    mini = FastAPI()
    mini.include_router(router)
    return mini


def test_the_audit_catches_the_login_link_form_posting_to_a_route_reading_email(client):  # type: ignore[no-untyped-def]
    # The route as it was: it read `email`, the form sends `link_email`.
    def request_login_link(email: Annotated[str, Form()] = "") -> None: ...

    old = post_routes(_mini_app(("/account/login-link", request_login_link)))
    forms = [
        f
        for f in post_forms(client.get("/account/login").text, "/account/login")
        if f.target == "/account/login-link"
    ]
    assert len(forms) == 1
    assert mismatches(forms[0], old) == [
        "/account/login: form → /account/login-link: fields ['link_email'] are not read by "
        "/account/login-link"
    ]
    assert mismatches(forms[0], post_routes(client.app)) == []


def test_the_audit_flags_a_missing_required_field_and_a_guard_nobody_checks():
    def create(title: Annotated[str, Form()]) -> None: ...

    routes = post_routes(_mini_app(("/things", create)))
    html = """<form method="post" action="/things">
      <input name="csrf_token"><input name="form_started"><input name="website">
    </form>"""
    assert mismatches(post_forms(html, "/things/new")[0], routes) == [
        "/things/new: form → /things: fields ['form_started', 'website'] are not read by /things",
        "/things/new: form → /things: /things requires ['title'], the form lacks it",
    ]


def test_the_audit_reads_a_form_as_a_browser_sends_it():
    html = """
    <header><form method="post" action="/account/logout"><button>Sortir</button></form></header>
    <form method="post" action="/queue/bulk" id="bulk" data-hx-post="/queue/bulk">
      <input name="csrf_token"><select name="action"></select>
      <input name="note" form="other">
      <textarea name="body" data-hx-post="/preview"></textarea>
      <button name="go" formaction="/queue/bulk-preview">Aperçu</button>
    </form>
    <input type="checkbox" name="items" form="bulk">
    <form method="get" action="/search"><input name="q"></form>
    """
    found = {
        (f.target, tuple(sorted(f.fields)), f.in_header, f.element) for f in post_forms(html, "/p")
    }
    sent = ("action", "body", "csrf_token", "go", "items")
    assert found == {
        ("/account/logout", (), True, False),
        ("/queue/bulk", sent, False, False),
        ("/queue/bulk-preview", sent, False, False),
        ("/preview", ("body",), False, True),
    }
