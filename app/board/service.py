"""Need use cases: post, edit, delete, and the moderation state a new need starts in.

Order in every write (Fider's): load → authorise → validate → execute → commit. The HTML of a
need is computed here, once, when it is written (app.core.text), never when it is viewed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.board import team_alerts
from app.board.events import NeedPublished, NeedStatusChanged
from app.board.models import Comment, Need, NeedStatus, Support, Territory, Theme
from app.board.permissions import can_delete_need, can_edit_need, can_participate
from app.core import audit, events
from app.core.db import utcnow
from app.core.settings import ModerationMode
from app.core.site_config import SiteConfig, blocked_words_in, site_config
from app.core.text import excerpt, render_markdown, slugify
from app.web.errors import Conflict, Forbidden, Invalid
from app.web.i18n import gettext as _

log = logging.getLogger(__name__)

# Control characters other than tab and newlines: invisible, and PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

TITLE_MIN = 10
TITLE_MAX = 140
BODY_MAX = 5000


@dataclass
class NeedInput:
    """What a person typed in the need form (kept as typed, to re-render it with errors)."""

    title: str = ""
    body: str = ""
    theme: str = ""  # slug, empty for none
    territory: str = ""  # slug, empty for none

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> NeedInput:
        return cls(
            **{name: str(form.get(name, "")) for name in ("title", "body", "theme", "territory")}
        )


def unconfirmed_message() -> str:
    return _(
        "Confirmez d'abord votre adresse e-mail pour participer : ouvrez le lien que nous vous "
        "avons envoyé. Vous ne l'avez pas reçu ? Demandez un nouvel e-mail depuis « Mon compte »."
    )


def ensure_can_participate(user: User | None) -> User:
    if user is None:
        raise Forbidden(_("Connectez-vous pour participer."))
    if not can_participate(user):
        if not user.is_blocked():
            raise Forbidden(unconfirmed_message())
        # The reason and the end date, worded once for every write path (forms and API).
        from app.accounts.service import blocked_message

        raise Forbidden(
            blocked_message(user)
            + " "
            + _(
                "Vous pouvez toujours lire le site, exporter ou supprimer vos données, "
                "mais pas y participer."
            )
        )
    return user


def active_category(  # type: ignore[no-untyped-def]
    session: Session,
    model: type[Theme] | type[Territory],
    slug: str,
    *,
    include_archived: bool = False,
):
    """The theme or territory with this slug, None for an empty slug, Invalid if unknown.
    Archived ones are unknown to forms; filters still take them (old links, feeds, embeds)."""
    if not slug:
        return None
    # A slug with NUL (which PostgreSQL refuses) or longer than the column is unknown anyway.
    row = None
    if "\x00" not in slug and len(slug) <= 60:
        statement = select(model).where(model.slug == slug)
        if not include_archived:
            statement = statement.where(model.archived_at.is_(None))  # type: ignore[union-attr]
        row = session.exec(statement).first()
    if row is None:
        field = "theme" if model is Theme else "territory"
        message = (
            _("Cette thématique n'existe pas.")
            if model is Theme
            else _("Ce territoire n'existe pas.")
        )
        raise Invalid({field: message})
    return row


def validate_need(
    session: Session, data: NeedInput
) -> tuple[str, str, Theme | None, Territory | None]:
    errors: dict[str, str] = {}
    title = " ".join(_CONTROL.sub("", data.title or "").split())
    body = _CONTROL.sub("", data.body or "").strip()
    if len(title) < TITLE_MIN:
        errors["title"] = _(
            "Le titre doit faire au moins %(min)s caractères : résumez le besoin en une phrase.",
            min=TITLE_MIN,
        )
    elif len(title) > TITLE_MAX:
        errors["title"] = _("Le titre doit faire au plus %(max)s caractères.", max=TITLE_MAX)
    if len(body) > BODY_MAX:
        errors["body"] = _(
            "La description doit faire au plus %(max)s caractères (elle en fait %(length)s).",
            max=BODY_MAX,
            length=len(body),
        )
    theme = territory = None
    try:
        theme = active_category(session, Theme, data.theme)
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        territory = active_category(session, Territory, data.territory)
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid(errors)
    return title, body, theme, territory


def held_for_blocked_words(
    session: Session, author: User, *texts: str, config: SiteConfig | None = None
) -> list[str]:
    """The admin's blocked words found in `texts` (empty: nothing to hold). Such a post goes
    to the queue instead of being published, even from a trusted account; moderators and
    above are exempt. Callers must NEVER tell the author which word matched (nor that a word
    did): spammers would learn the list and spell around it. They show the usual « en
    attente de validation » notice, and only the audit log names the words."""
    if author.has_role(Role.moderator):
        return []
    return blocked_words_in(config or site_config(session), *texts)


def audit_hold(
    session: Session, kind: str, target_id: int | None, words: list[str], *, before: str = ""
) -> None:
    audit.record(
        session,
        None,
        f"{kind}.auto_hold",
        kind,
        target_id,
        reason="Contient un mot bloqué",
        before={"status": before} if before else None,
        after={"status": "pending", "blocked_words": words},
    )


def initial_status(session: Session, author: User, mode: ModerationMode) -> NeedStatus:
    """Pre-moderation: everything waits. First-post (default): an account's posts wait until
    one of them has been published. Moderators and above, and accounts a moderator trusted,
    are never held."""
    if author.has_role(Role.moderator) or mode == ModerationMode.post:
        return NeedStatus.published
    if author.trusted_at is not None:  # « valider et faire confiance »: skips even pre-moderation
        return NeedStatus.published
    if mode == ModerationMode.pre:
        return NeedStatus.pending
    has_published = session.exec(
        select(
            exists().where(
                Need.author_id == author.id,
                Need.status.in_([NeedStatus.published.value, NeedStatus.covered.value]),  # type: ignore[attr-defined]
            )
        )
    ).one()
    return NeedStatus.published if has_published else NeedStatus.pending


# A form's submission key as the pages write it (secrets.token_urlsafe): anything else sent
# in its place (control characters, a NUL that PostgreSQL refuses in text) is no key at all.
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def form_key(value: str | None) -> str | None:
    """`value` if it is shaped like a submission key, else None (the need is then posted
    without one, as a form without the field is)."""
    return value if value is not None and _FORM_KEY.fullmatch(value) else None


def create_need(
    session: Session,
    author: User | None,
    data: NeedInput,
    *,
    mode: ModerationMode | None = None,
    submission_key: str | None = None,
    ip: str = "",
    rate_limits: bool = True,
) -> Need:
    """Posts a need. The author supports it at once (their own « j'ai ce besoin ») and follows
    it. The same submission key (one per rendered form) never creates two needs. `mode`
    defaults to the effective setting (app.core.site_config: the admin's over the environment's);
    a blocked word sends the need to the queue whatever the mode."""
    from app.board.follows import add_follow
    from app.board.supports import add_support
    from app.core.ratelimit import check_rate
    from app.web.antiabuse import check_link_limit

    author = ensure_can_participate(author)
    submission_key = form_key(submission_key)
    if submission_key:
        existing = need_by_key(session, submission_key, author_id=author.id)
        if existing is not None:
            return existing
    title, body, theme, territory = validate_need(session, data)
    check_link_limit(author.created_at, title, body, field="body")
    check_rate(session, "need", user_id=author.id, ip=ip, enabled=rate_limits)
    config = site_config(session)
    blocked = held_for_blocked_words(session, author, title, body, config=config)
    if blocked:
        status = NeedStatus.pending
    else:
        status = initial_status(session, author, mode or config.moderation_mode)
    need, created = insert_need(
        session,
        title,
        body,
        theme,
        territory,
        status=status.value,
        submission_key=submission_key,
        author_id=author.id,
    )
    if not created:
        return need
    add_support(session, need, author, concern="has_need", commit=False)
    add_follow(session, need.id, author.id)  # type: ignore[arg-type]
    if blocked:
        audit_hold(session, "need", need.id, blocked)
    if status == NeedStatus.pending:
        team_alerts.need_waiting(session, need, author)
    events.announce(session, NeedPublished(need))
    session.commit()
    session.refresh(need)
    return need


def need_by_key(
    session: Session,
    submission_key: str,
    *,
    author_id: int | None = None,
    recorded_by_id: int | None = None,
) -> Need | None:
    """The need a form (its submission key) already created for this person: the author who
    posted it, or the staff member who recorded it."""
    owner = (
        Need.recorded_by_id == recorded_by_id
        if recorded_by_id is not None
        else Need.author_id == author_id
    )
    return session.exec(select(Need).where(Need.submission_key == submission_key, owner)).first()


def insert_need(
    session: Session,
    title: str,
    body: str,
    theme: Theme | None,
    territory: Territory | None,
    *,
    status: str,
    submission_key: str | None,
    author_id: int | None,
    recorded_by_id: int | None = None,
    **provenance: Any,
) -> tuple[Need, bool]:
    """Writes a validated need's row (its HTML and excerpt computed once, here) and flushes it:
    (the need, True). The same form sent twice at once gives the need the other request
    created, (it, False); a form key that is someone else's is a Conflict. `provenance`: the
    source columns of a need recorded by staff (Need.source, source_event…)."""
    submission_key = form_key(submission_key)
    now = utcnow()
    need = Need(
        author_id=author_id,
        recorded_by_id=recorded_by_id,
        title=title,
        slug=slugify(title),
        body=body,
        body_html=render_markdown(body),
        excerpt=excerpt(body),
        theme_id=theme.id if theme else None,
        territory_id=territory.id if territory else None,
        status=status,
        created_at=now,
        updated_at=now,
        submission_key=submission_key,
        **provenance,
    )
    session.add(need)
    try:
        session.flush()
    except IntegrityError:
        # The same form submitted twice at once: the other request created it.
        session.rollback()
        if not submission_key:
            raise
        existing = need_by_key(
            session, submission_key, author_id=author_id, recorded_by_id=recorded_by_id
        )
        if existing is None:
            # Someone else's key (never a random collision): never hand their need back.
            raise Conflict(
                _("Ce formulaire a déjà servi. Rechargez la page et recommencez.")
            ) from None
        return existing, False
    return need, True


def others_engaged(session: Session, need: Need) -> bool:
    """Has anyone but the author supported or commented this need?"""
    supported = session.exec(
        select(exists().where(Support.need_id == need.id, Support.user_id != need.author_id))
    ).one()
    if supported:
        return True
    return session.exec(
        select(
            exists().where(
                Comment.need_id == need.id,
                Comment.author_id != need.author_id,
                Comment.deleted_at.is_(None),  # type: ignore[union-attr]
            )
        )
    ).one()


def ensure_can_edit(session: Session, need: Need, user: User | None) -> None:
    if user is not None and user.id == need.author_id:
        ensure_can_participate(user)  # a blocked author is told why, with the end date
    if not can_edit_need(user, need, others_engaged=others_engaged(session, need)):
        raise Forbidden(
            _(
                "Ce besoin ne peut plus être modifié : d'autres personnes l'ont déjà soutenu "
                "ou commenté. Ajoutez plutôt une précision en commentaire."
            )
        )


def edit_need(session: Session, need: Need, user: User | None, data: NeedInput) -> Need:
    """The author's edit. If it adds a blocked word to a public need, the need goes back to
    the queue (pending), said to nobody but the audit log (see held_for_blocked_words)."""

    ensure_can_edit(session, need, user)
    assert user is not None
    title, body, theme, territory = validate_need(session, data)
    blocked: list[str] = []
    if need.status in (NeedStatus.published.value, NeedStatus.covered.value):
        config = site_config(session)
        already = set(blocked_words_in(config, need.title, need.body))
        blocked = [
            w
            for w in held_for_blocked_words(session, user, title, body, config=config)
            if w not in already
        ]
    need.title = title
    need.slug = slugify(title)
    need.body = body
    need.body_html = render_markdown(body)
    need.excerpt = excerpt(body)
    need.theme_id = theme.id if theme else None
    need.territory_id = territory.id if territory else None
    need.updated_at = utcnow()
    previous_status = need.status
    if blocked:
        audit_hold(session, "need", need.id, blocked, before=need.status)
        need.status = NeedStatus.pending.value
        team_alerts.need_waiting(session, need, user)
    session.add(need)
    events.announce(session, NeedStatusChanged(need, previous_status))
    session.commit()
    session.refresh(need)
    return need


def delete_need(session: Session, need: Need, user: User | None) -> None:
    """Soft delete: the row stays (supports, comments, moderation history) but nobody outside
    the moderation team sees it any more."""

    if not can_delete_need(user, need):
        raise Forbidden(_("Vous ne pouvez supprimer que vos propres besoins."))
    was_deleted = need.deleted_at is not None
    need.deleted_at = utcnow()
    session.add(need)
    events.announce(session, NeedStatusChanged(need, need.status, was_deleted=was_deleted))
    session.commit()


def count_needs_by(session: Session, author: User) -> int:
    return session.exec(select(func.count()).where(Need.author_id == author.id)).one()
