"""Qualification of needs by staff: theme, territory, free tags, an internal note and the
« qualifié » mark, and the lists staff work from (to qualify; qualified, not yet promoted).

Everything here is internal except the theme and territory, which the public sees: when staff
change them, the author is told. The internal note and the tags are never shown publicly (no
public template or query reads them).

Writes follow load → authorise → validate → execute → audit → notify → commit, in one
transaction; a form re-rendered with errors has written nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.models import PUBLIC_NEED_STATUSES, Need, NeedStatus, Territory, Theme
from app.board.service import active_category
from app.core import audit
from app.core.db import utcnow
from app.core.text import slugify
from app.moderation.models import NeedTag, Tag
from app.moderation.permissions import ensure_can_qualify
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import localized_name

TAG_MAX = 40  # characters in one tag's name
TAGS_PER_NEED = 10
NOTE_MAX = 5000
PER_PAGE = 20
SUGGESTIONS_MAX = 20  # tags the autocomplete answers with
DATALIST_MAX = 200  # tags listed in the page's own <datalist> (works without JavaScript)

# Control characters other than tab and newlines (PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- tags --------------------------------------------------------------------------------------


def tag_slug(name: str) -> str | None:
    """The tag's slug, or None when the name has no Latin letter or digit to make one from
    (slugify falls back to « besoin » then, which would merge unrelated tags)."""
    slug = slugify(name, max_length=60)
    if slug == "besoin" and slugify(f"{name} besoin") != "besoin-besoin":
        return None
    return slug


def parse_tags(raw: str) -> list[tuple[str, str]]:
    """(slug, name) pairs from a comma-separated text: each name trimmed with single spaces,
    duplicates (same slug) dropped, first spelling kept. Invalid({"tags": …}) when a tag is too
    long, has nothing to make a slug from, or there are too many."""
    pairs: dict[str, str] = {}
    for part in _CONTROL.sub("", raw or "").split(","):
        name = " ".join(part.split())
        if not name:
            continue
        if len(name) > TAG_MAX:
            raise Invalid(
                {
                    "tags": _(
                        "L'étiquette « %(tag)s… » est trop longue : %(max)s caractères au plus.",
                        tag=name[:TAG_MAX],
                        max=TAG_MAX,
                    )
                }
            )
        slug = tag_slug(name)
        if slug is None:
            raise Invalid(
                {
                    "tags": _(
                        "L'étiquette « %(tag)s » doit contenir au moins une lettre ou un chiffre.",
                        tag=name,
                    )
                }
            )
        pairs.setdefault(slug, name)
    if len(pairs) > TAGS_PER_NEED:
        raise Invalid(
            {
                "tags": _(
                    "%(max)s étiquettes au plus par besoin (vous en avez indiqué %(count)s).",
                    max=TAGS_PER_NEED,
                    count=len(pairs),
                )
            }
        )
    return list(pairs.items())


def get_or_create_tags(session: Session, pairs: list[tuple[str, str]]) -> list[Tag]:
    """The tags with these slugs, created when missing (in the caller's transaction). Two staff
    members creating the same new tag at once: the unique slug stops the second insert, inside a
    savepoint, and the existing row is reused."""
    if not pairs:
        return []
    slugs = [slug for slug, _name in pairs]
    found = {t.slug: t for t in session.exec(select(Tag).where(Tag.slug.in_(slugs)))}  # type: ignore[attr-defined]
    tags = []
    for slug, name in pairs:
        tag = found.get(slug)
        if tag is None:
            tag = Tag(slug=slug, name=name)
            try:
                with session.begin_nested():
                    session.add(tag)
            except IntegrityError:
                tag = session.exec(select(Tag).where(Tag.slug == slug)).one()
        tags.append(tag)
    return tags


def tags_of(session: Session, need_ids: list[int]) -> dict[int, list[Tag]]:
    """Each need's tags, by name (one query for a whole list)."""
    result: dict[int, list[Tag]] = {need_id: [] for need_id in need_ids}
    if not need_ids:
        return result
    rows = session.exec(
        select(NeedTag.need_id, Tag)
        .join(Tag, Tag.id == NeedTag.tag_id)  # type: ignore[arg-type]
        .where(NeedTag.need_id.in_(need_ids))  # type: ignore[attr-defined]
        .order_by(Tag.name, Tag.id)
    )
    for need_id, tag in rows:
        result[need_id].append(tag)
    return result


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matching_tags(session: Session, typed: str, limit: int = SUGGESTIONS_MAX) -> list[Tag]:
    """Tags whose slug starts with (then contains) what was typed, most used first within each
    group. An empty text lists the most used tags."""
    probe = tag_slug(typed) if typed.strip() else ""
    if probe is None:
        return []
    uses = (
        select(NeedTag.tag_id, func.count().label("uses"))
        .group_by(NeedTag.tag_id)  # type: ignore[arg-type]
        .subquery()
    )
    statement = select(Tag).outerjoin(uses, uses.c.tag_id == Tag.id)
    order: list[Any] = []
    if probe:
        pattern = _escape_like(probe)
        statement = statement.where(Tag.slug.like(f"%{pattern}%", escape="\\"))  # type: ignore[attr-defined]
        starts = Tag.slug.like(f"{pattern}%", escape="\\")  # type: ignore[attr-defined]
        order.append(starts.desc())
    order += [func.coalesce(uses.c.uses, 0).desc(), Tag.name, Tag.id]
    return list(session.exec(statement.order_by(*order).limit(limit)))


def suggestions(session: Session, typed: str, limit: int = SUGGESTIONS_MAX) -> list[str]:
    """Completions of a comma-separated tag field: the whole field with its last (partly typed)
    tag completed, so a plain <datalist> can offer them (the browser replaces the field's value
    with the option chosen). Tags already in the field are not offered again."""
    typed = _CONTROL.sub("", typed or "")[:2000]
    *done, last = typed.split(",")
    kept = [" ".join(p.split()) for p in done if p.strip()]
    kept_slugs = {tag_slug(name) for name in kept}
    prefix = "".join(f"{name}, " for name in kept)
    names = []
    for tag in matching_tags(session, " ".join(last.split()), limit + len(kept_slugs)):
        if tag.slug not in kept_slugs:
            names.append(prefix + tag.name)
    return names[:limit]


# --- the qualification form ---------------------------------------------------------------------


@dataclass
class QualificationInput:
    """What staff typed in the qualification form (kept as typed to re-render it)."""

    theme: str = ""  # slug, empty for none
    territory: str = ""  # slug, empty for none
    tags: str = ""  # comma-separated
    internal_note: str = ""
    qualified: bool = False
    seen: str = ""  # fingerprint of the qualification the form was rendered from

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> QualificationInput:
        def text(name: str) -> str:
            return str(form.get(name, "") or "")

        return cls(
            theme=text("theme"),
            territory=text("territory"),
            tags=text("tags"),
            internal_note=text("internal_note"),
            qualified=text("qualified") in ("1", "on", "true"),
            seen=text("seen")[:64],
        )

    @classmethod
    def from_need(cls, session: Session, need: Need) -> QualificationInput:
        state = current_state(session, need)
        return cls(
            theme=state["theme"] or "",
            territory=state["territory"] or "",
            tags=", ".join(state["tags"]),
            internal_note=need.internal_note,
            qualified=need.qualified_at is not None,
            seen=fingerprint(state),
        )


def current_state(session: Session, need: Need) -> dict[str, Any]:
    """The need's qualification as the audit log records it (slugs and names, not ids)."""
    theme = session.get(Theme, need.theme_id) if need.theme_id else None
    territory = session.get(Territory, need.territory_id) if need.territory_id else None
    return {
        "theme": theme.slug if theme else None,
        "territory": territory.slug if territory else None,
        "tags": [t.name for t in tags_of(session, [need.id])[need.id]],  # type: ignore[index,list-item]
        "internal_note": need.internal_note,
        "qualified": need.qualified_at is not None,
    }


def fingerprint(state: Mapping[str, Any]) -> str:
    raw = repr(sorted(state.items())).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def load_qualifiable(session: Session, need_id: int, *, for_update: bool = False) -> Need:
    statement = select(Need).where(Need.id == need_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    need = session.exec(statement).first()
    if need is None:
        raise NotFound(_("Ce besoin n'existe pas."))
    return need


def qualification_refusal(need: Need) -> str | None:
    """Why this need cannot be qualified, or None."""
    if need.deleted_at is not None:
        return _("Ce besoin a été supprimé : il ne peut plus être qualifié.")
    if need.status == NeedStatus.merged.value:
        return _(
            "Ce besoin a été fusionné dans un autre : qualifiez plutôt le besoin qui le regroupe."
        )
    return None


def _category(
    session: Session, model: type[Theme] | type[Territory], slug: str, current_id: int | None
) -> Theme | Territory | None:
    # A theme archived since the need was classed stays selectable for that need: saving the
    # form without touching it must not fail.
    if current_id is not None and slug:
        current = session.get(model, current_id)
        if current is not None and current.slug == slug:
            return current
    return active_category(session, model, slug)  # type: ignore[no-any-return]


@dataclass
class QualificationResult:
    need: Need
    changed: dict[str, Any] = field(default_factory=dict)


def qualify_need(
    session: Session, user: User | None, need_id: int, data: QualificationInput
) -> QualificationResult:
    """Saves the qualification of a need. Nothing is written when the input is invalid, when
    the need cannot be qualified, or when someone else changed it since the form was shown."""
    # load (locked on PostgreSQL: a second staff member waits, then sees the conflict)
    need = load_qualifiable(session, need_id, for_update=True)
    # authorise
    staff = ensure_can_qualify(user)
    refusal = qualification_refusal(need)
    if refusal:
        raise Conflict(refusal)
    # validate
    errors: dict[str, str] = {}
    theme = territory = None
    try:
        theme = _category(session, Theme, data.theme, need.theme_id)
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        territory = _category(session, Territory, data.territory, need.territory_id)
    except Invalid as exc:
        errors.update(exc.errors)
    pairs: list[tuple[str, str]] = []
    try:
        pairs = parse_tags(data.tags)
    except Invalid as exc:
        errors.update(exc.errors)
    note = _CONTROL.sub("", data.internal_note or "").strip()
    if len(note) > NOTE_MAX:
        errors["internal_note"] = _(
            "La note interne doit faire au plus %(max)s caractères (elle en fait %(length)s).",
            max=NOTE_MAX,
            length=len(note),
        )
    if errors:
        raise Invalid(errors)
    before = current_state(session, need)
    if data.seen and data.seen != fingerprint(before):
        raise Conflict(
            _(
                "Ce besoin a été qualifié par %(who)s entre-temps : voici sa version, "
                "reprenez vos modifications.",
                who=_last_qualifier(session, need_id),
            )
        )
    # execute
    tags = get_or_create_tags(session, pairs)
    wanted = {t.id for t in tags}
    existing = set(
        session.exec(select(NeedTag.tag_id).where(NeedTag.need_id == need.id))  # type: ignore[call-overload]
    )
    for tag_id in existing - wanted:
        link = session.get(NeedTag, (need.id, tag_id))
        if link is not None:
            session.delete(link)
    for tag_id in wanted - existing:
        session.add(NeedTag(need_id=need.id, tag_id=tag_id))  # type: ignore[arg-type]
    need.theme_id = theme.id if theme else None
    need.territory_id = territory.id if territory else None
    need.internal_note = note
    if data.qualified and need.qualified_at is None:
        need.qualified_at = utcnow()
        need.qualified_by_id = staff.id
    elif not data.qualified:
        need.qualified_at = None
        need.qualified_by_id = None
    session.add(need)
    session.flush()
    after = {
        "theme": theme.slug if theme else None,
        "territory": territory.slug if territory else None,
        "tags": sorted((t.name for t in tags), key=str.casefold),
        "internal_note": note,
        "qualified": need.qualified_at is not None,
    }
    before["tags"] = sorted(before["tags"], key=str.casefold)
    changed = {k for k in after if after[k] != before[k]}
    result = QualificationResult(need=need, changed={k: after[k] for k in changed})
    if not changed:
        session.commit()  # nothing to trace: saving an unchanged form is not an action
        return result
    # audit
    audit.record(
        session,
        staff,
        "need.qualify",
        "need",
        need.id,
        before={k: before[k] for k in sorted(changed)},
        after={k: after[k] for k in sorted(changed)},
    )
    # notify: the theme and territory are public; the author is told when staff reclass it
    if changed & {"theme", "territory"} and need.author_id is not None:
        from app.board.notifications import notify

        notify(
            session,
            "moderation",
            [need.author_id],
            need=need,
            actor=staff,
            message=lambda: _(
                "L'équipe de la fabrique a reclassé votre besoin « %(title)s » : thématique "
                "%(theme)s, territoire %(territory)s.",
                title=need.title,
                theme=localized_name(theme) if theme else _("non précisée"),
                territory=localized_name(territory) if territory else _("non précisé"),
            ),
        )
    session.commit()
    session.refresh(need)
    return result


def _last_qualifier(session: Session, need_id: int) -> str:
    from app.core.audit import AuditEntry

    last = session.exec(
        select(AuditEntry.actor_name)
        .where(
            AuditEntry.target_kind == "need",
            AuditEntry.target_id == need_id,
            AuditEntry.action == "need.qualify",
        )
        .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    ).first()
    return last or _("un autre membre de l'équipe")


# --- the lists ----------------------------------------------------------------------------------


@dataclass
class ListFilters:
    theme: Theme | None = None
    territory: Territory | None = None
    tag: Tag | None = None
    todo_page: int = 1
    done_page: int = 1
    idea_page: int = 1


@dataclass
class NeedList:
    needs: list[Need]
    total: int
    page: int
    has_next: bool


def _base(filters: ListFilters):  # type: ignore[no-untyped-def]
    statement = select(Need).where(
        Need.status.in_(PUBLIC_NEED_STATUSES),  # type: ignore[attr-defined]
        Need.deleted_at.is_(None),  # type: ignore[union-attr]
    )
    if filters.theme is not None:
        statement = statement.where(Need.theme_id == filters.theme.id)
    if filters.territory is not None:
        statement = statement.where(Need.territory_id == filters.territory.id)
    if filters.tag is not None:
        statement = statement.where(
            Need.id.in_(select(NeedTag.need_id).where(NeedTag.tag_id == filters.tag.id))  # type: ignore[union-attr]
        )
    return statement


def not_yet_promoted(statement):  # type: ignore[no-untyped-def]
    """Keeps only needs no idea was made from yet (no row in the pipeline's idea_needs): the
    ones waiting for the pipeline. The one place that knows what « promoted » means."""
    # Imported here: moderation and pipeline are siblings above the board (CONVENTIONS), and
    # this is the only point where the qualification lists look at the pipeline.
    from app.pipeline.models import IdeaNeed

    return statement.where(
        Need.id.not_in(select(IdeaNeed.need_id))  # type: ignore[union-attr]
    )


def already_promoted(statement):  # type: ignore[no-untyped-def]
    """The other side of not_yet_promoted: needs an idea was made from."""
    from app.pipeline.models import IdeaNeed

    return statement.where(Need.id.in_(select(IdeaNeed.need_id)))  # type: ignore[union-attr]


@dataclass(frozen=True)
class IdeaRef:
    """The idea a need belongs to (one at most), as the qualification pages name it."""

    id: int
    title: str
    stage: str

    @property
    def stage_label(self) -> str:
        from app.pipeline.service import stage_label

        return stage_label(self.stage)


def ideas_of(session: Session, need_ids: list[int]) -> dict[int, IdeaRef]:
    """need id → the idea it was promoted into, for the needs that were."""
    from app.pipeline.models import Idea, IdeaNeed

    if not need_ids:
        return {}
    rows = session.exec(
        select(IdeaNeed.need_id, Idea.id, Idea.title, Idea.stage)
        .join(Idea, Idea.id == IdeaNeed.idea_id)  # type: ignore[arg-type]
        .where(IdeaNeed.need_id.in_(need_ids))  # type: ignore[attr-defined]
    )
    return {need_id: IdeaRef(idea_id, title, stage) for need_id, idea_id, title, stage in rows}  # type: ignore[arg-type]


def _page(session: Session, statement, page: int) -> NeedList:  # type: ignore[no-untyped-def]
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = list(
        session.exec(
            statement.order_by(Need.supports_count.desc(), Need.id.desc())  # type: ignore[attr-defined]
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
    )
    return NeedList(needs=rows[:PER_PAGE], total=total, page=page, has_next=len(rows) > PER_PAGE)


def to_qualify(session: Session, filters: ListFilters) -> NeedList:
    """Public needs not qualified yet, most supported first."""
    statement = _base(filters).where(Need.qualified_at.is_(None))  # type: ignore[union-attr]
    return _page(session, statement, filters.todo_page)


def qualified_not_promoted(session: Session, filters: ListFilters) -> NeedList:
    """Qualified public needs waiting for the pipeline, most supported first."""
    statement = not_yet_promoted(_base(filters).where(Need.qualified_at.is_not(None)))  # type: ignore[union-attr]
    return _page(session, statement, filters.done_page)


def qualified_in_ideas(session: Session, filters: ListFilters) -> NeedList:
    """Qualified public needs already promoted into an idea (shown with it), most supported
    first: a need qualified after its promotion stays in sight."""
    statement = already_promoted(_base(filters).where(Need.qualified_at.is_not(None)))  # type: ignore[union-attr]
    return _page(session, statement, filters.idea_page)


def note_first_line(note: str, length: int = 120) -> str:
    line = next((line.strip() for line in (note or "").splitlines() if line.strip()), "")
    return line if len(line) <= length else line[: length - 1].rstrip() + "…"
