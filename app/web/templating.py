"""Jinja2 environment and the one `render` helper.

`render(request, "x.html", ctx, block="name")` returns a whole page, or only the named block
when htmx asks (HX-Request), so one route serves both the no-JavaScript page and its fragment.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup
from starlette.requests import HTTPConnection

from app import RESOURCES
from app.web import i18n

TEMPLATES_DIR = RESOURCES / "templates"


def _make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters.update(
        date=i18n.format_date,
        datetime=i18n.format_datetime,
        number=i18n.format_number,
        timeago=i18n.timeago,
        iso=i18n.iso,
    )
    env.globals.update(
        get_locale=i18n.get_locale,
        category_name=i18n.localized_name,
        language_name=i18n.language_name,
        content_lang=_content_lang,
    )
    return env


@pass_context
def _content_lang(context: Any) -> Markup:
    """` lang="fr"` on what residents wrote (titles, texts, comments) when the interface is in
    another language than the site's own, so that screen readers read it with the right voice
    (RGAA 8.7). The site's language is its default locale: people write in it."""
    request = context.get("request")
    settings = getattr(getattr(getattr(request, "app", None), "state", None), "settings", None)
    written_in = getattr(settings, "default_locale", i18n.SOURCE_LOCALE)
    if i18n.get_locale() == written_in:
        return Markup("")
    return Markup(f' lang="{written_in}"')


environment = _make_environment()


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# On an answer that is a page to some requests and a block to others (wants_fragment): the
# headers that decide it, so that no cache gives one for the other.
FRAGMENT_VARY = "HX-Request, HX-Boosted, HX-History-Restore-Request"


def wants_fragment(request: HTTPConnection) -> bool:
    """Whether to answer a block of the page rather than the whole page: an htmx request
    (`hx-get` of a filter, `hx-post` of a form), but not a boosted navigation and not a
    history restore — htmx asks again for an address it put in the history, on Back, Forward
    or a reload after them, and swaps the answer in place of the whole body (issue 14: the
    board came back as a bare list, without its header, filters or footer). The one decision
    of every route that answers a block."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and not headers.get("HX-Boosted")
        and not headers.get("HX-History-Restore-Request")
    )


def is_fragment(template_name: str) -> bool:
    """A template whose file name starts with « _ » is a fragment: it extends no page and
    shows no header (tests/web/test_fragments.py checks it)."""
    return template_name.rsplit("/", 1)[-1].startswith("_")


def render_to_string(template_name: str, context: dict[str, Any], block: str | None = None) -> str:
    template = environment.get_template(template_name)
    if block is None:
        return template.render(context)
    block_render = template.blocks[block]
    return "".join(block_render(template.new_context(context)))


def _in_team(user: Any) -> bool:
    return user is not None and user.role in ("moderator", "staff", "admin")


def page_context(request: Request, *, header: bool = True) -> dict[str, Any]:
    """What every page needs: the request, the signed-in user, the CSRF token, the locale.
    `header=False` for a fragment, which shows no header: its unread count is not read (a
    query and a session of its own, a tenth of a « Moi aussi » through the form)."""
    from app.web.deps import load_user

    user = load_user(request)
    counter = getattr(request.app.state, "unread_counter", None)
    unread = counter(request, user) if header and user is not None and counter else 0
    # What waits for the moderators, on the header's « Modération » link (issue 17): the same
    # for every team member, and changed only by writes that change the content version, so a
    # page rendered once per shape (app/web/personal.py) shows it exactly.
    team_counter = getattr(request.app.state, "team_counter", None)
    team = team_counter(request) if header and team_counter and _in_team(user) else 0
    # The site's name, logo and colour (app/web/site_identity.py), for the header, footer and
    # title: read only for a whole page, as the unread count is.
    identity_reader = getattr(request.app.state, "identity_reader", None)
    site = identity_reader(request) if header and identity_reader else None
    return {
        "site": site,
        "request": request,
        # Every page shows who is signed in, even routes that did not ask for the user.
        "current_user": user,
        "unread_count": unread,
        "team_count": team,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "settings": request.app.state.settings,
        "locale": i18n.get_locale(),
        "other_locales": [loc for loc in i18n.SUPPORTED_LOCALES if loc != i18n.get_locale()],
    }


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    partial = block is not None and wants_fragment(request)
    ctx = page_context(request, header=not partial and not is_fragment(template_name))
    ctx.update(context or {})
    body = render_to_string(template_name, ctx, block if partial else None)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    if block is not None:
        # The same URL answers with a page or a fragment: caches must keep them apart.
        response.headers["Vary"] = FRAGMENT_VARY
    return response
