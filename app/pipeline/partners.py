"""Partners of the fabrique (issue 5 item 6): funders, technical partners and « capteurs »
(organisations that detect needs), their logos, their links to ideas, and the public page.

- The slug is made once from the name and never changes: partners' embed codes use it as
  `ref=` (issue 6), so renaming a partner keeps its slug.
- A logo goes through the same checks as documents (app.pipeline.uploads), images only and at
  most 2 MB; SVG is refused because it can carry scripts.
- Archiving hides a partner from the public page, the logo URL and the lists staff pick from;
  its links to ideas stay, for the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import UploadFile
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit
from app.core.db import utcnow
from app.core.settings import Settings, get_settings
from app.core.text import slugify
from app.pipeline import uploads
from app.pipeline.models import Idea, IdeaPartner, Partner, PartnerKind, PartnerLink
from app.pipeline.panels import PANELS
from app.pipeline.permissions import ensure_staff
from app.pipeline.service import get_idea
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

NAME_MIN, NAME_MAX = 2, 120
WEBSITE_MAX = 500
DESCRIPTION_MAX = 2000
SLUG_MAX = 70  # room for a « -2 » suffix within the column's 80

KIND_LABELS = {
    PartnerKind.town.value: N_("Commune"),
    PartnerKind.department.value: N_("Département"),
    PartnerKind.region.value: N_("Région"),
    PartnerKind.state_service.value: N_("Service de l'État"),
    PartnerKind.foundation.value: N_("Fondation"),
    PartnerKind.bank.value: N_("Banque"),
    PartnerKind.network.value: N_("Réseau"),
    PartnerKind.company.value: N_("Entreprise"),
    PartnerKind.association.value: N_("Association"),
}

# role → (the Partner column, its label, the public page's heading)
ROLES = {
    "funder": ("is_funder", N_("Financeur"), N_("Financeurs")),
    "technical": ("is_technical", N_("Partenaire technique"), N_("Partenaires techniques")),
    "capteur": ("is_capteur", N_("Capteur"), N_("Capteurs")),
}
ROLE_HINTS = {
    "funder": N_("finance des études ou des lancements"),
    "technical": N_("accompagne, prête des locaux, ouvre son réseau"),
    "capteur": N_("repère des besoins sur le territoire"),
}

LINK_LABELS = {
    PartnerLink.detected_by.value: N_("Détectée par"),
    PartnerLink.funded_by.value: N_("Financée par"),
    PartnerLink.supported_by.value: N_("Accompagnée par"),
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def link_label(link: str) -> str:
    return _(LINK_LABELS[link]) if link in LINK_LABELS else link


def roles_of(partner: Partner) -> list[str]:
    return [role for role, (column, _l, _h) in ROLES.items() if getattr(partner, column)]


def role_labels(partner: Partner) -> list[str]:
    return [_(ROLES[role][1]) for role in roles_of(partner)]


def logo_url(partner: Partner) -> str | None:
    """The public logo address; the stored name in the query lets browsers cache it for long
    and still see a new logo at once."""
    if not partner.logo_file:
        return None
    return f"/partners/{partner.slug}/logo?v={partner.logo_file[:8]}"


def _settings(session: Session) -> Settings:
    return session.info.get("settings") or get_settings()


# --- reading ----------------------------------------------------------------------------------


def get_partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(_("Ce partenaire n'existe pas."))
    return partner


def list_partners(session: Session, actor: User, *, archived: bool = False) -> list[Partner]:
    ensure_staff(actor)
    statement = select(Partner)
    if archived:
        statement = statement.where(Partner.archived_at.is_not(None))  # type: ignore[union-attr]
    else:
        statement = statement.where(Partner.archived_at.is_(None))  # type: ignore[union-attr]
    return list(session.exec(statement.order_by(Partner.name, Partner.id)))  # type: ignore[arg-type]


def active_partners(session: Session) -> list[Partner]:
    return list(
        session.exec(
            select(Partner)
            .where(Partner.archived_at.is_(None))  # type: ignore[union-attr]
            .order_by(Partner.name, Partner.id)  # type: ignore[arg-type]
        )
    )


def logo_file(session: Session, slug: str) -> tuple[Partner, Path]:
    """The logo of a partner shown publicly (not archived), for GET /partners/{slug}/logo."""
    partner = session.exec(select(Partner).where(Partner.slug == slug)).first()
    if partner is None or partner.archived_at is not None or not partner.logo_file:
        raise NotFound(_("Ce logo n'existe pas."))
    path = uploads.stored_path(uploads.logos_dir(_settings(session)), partner.logo_file)
    if path is None or not path.is_file():
        raise NotFound(_("Ce logo n'existe pas."))
    return partner, path


@dataclass
class PublicPartner:
    partner: Partner
    kind: str
    logo: str | None
    ideas: list[Idea] = field(default_factory=list)


def public_partners(session: Session) -> list[tuple[str, str, list[PublicPartner]]]:
    """The public page: (role, heading, partners) for each role that has partners, each with
    the public ideas it is linked to (never a private one)."""
    partners = active_partners(session)
    ids = [p.id for p in partners]
    ideas: dict[int, list[Idea]] = {}
    if ids:
        rows = session.exec(
            select(IdeaPartner.partner_id, Idea)
            .join(Idea, Idea.id == IdeaPartner.idea_id)  # type: ignore[arg-type]
            .where(IdeaPartner.partner_id.in_(ids), Idea.is_public.is_(True))  # type: ignore[attr-defined]
            .order_by(Idea.title, Idea.id)  # type: ignore[arg-type]
        ).all()
        for partner_id, idea in rows:
            shown = ideas.setdefault(int(partner_id), [])
            if all(i.id != idea.id for i in shown):  # one line per idea, whatever the links
                shown.append(idea)
    groups = []
    for role, (column, _label, heading) in ROLES.items():
        members = [
            PublicPartner(p, kind_label(p.kind), logo_url(p), ideas.get(p.id, []))  # type: ignore[arg-type]
            for p in partners
            if getattr(p, column)
        ]
        if members:
            groups.append((role, _(heading), members))
    return groups


# --- writing ----------------------------------------------------------------------------------


@dataclass
class PartnerInput:
    name: str = ""
    kind: str = ""
    roles: list[str] = field(default_factory=list)
    website: str = ""
    description: str = ""


def clean_website(raw: str) -> tuple[str | None, str | None]:
    """(the address, None) or (None, an error message). Only http and https, with a host."""
    value = (raw or "").strip()
    if not value:
        return None, None
    if len(value) > WEBSITE_MAX:
        return None, _("L'adresse doit faire au plus %(max)s caractères.", max=WEBSITE_MAX)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not host
        or any(c.isspace() or ord(c) < 32 for c in value)
    ):
        return None, _(
            "Indiquez une adresse complète commençant par https:// (ou http://), "
            "par exemple https://www.merignac.com."
        )
    return value, None


def validate_partner(data: PartnerInput) -> PartnerInput:
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        errors["name"] = _(
            "Le nom doit faire entre %(min)s et %(max)s caractères.", min=NAME_MIN, max=NAME_MAX
        )
    if data.kind not in KIND_LABELS:
        errors["kind"] = _("Choisissez le type de partenaire dans la liste.")
    roles = [role for role in ROLES if role in data.roles]
    if not roles or any(role not in ROLES for role in data.roles):
        errors["roles"] = _("Cochez au moins un rôle : financeur, partenaire technique ou capteur.")
    website, website_error = clean_website(data.website)
    if website_error:
        errors["website"] = website_error
    description = (data.description or "").replace("\x00", "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _(
            "La description doit faire au plus %(max)s caractères.", max=DESCRIPTION_MAX
        )
    if errors:
        raise Invalid(errors)
    return PartnerInput(
        name=name, kind=data.kind, roles=roles, website=website or "", description=description
    )


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name, max_length=SLUG_MAX)
    if base == "besoin" and "besoin" not in name.lower():  # slugify's fallback
        base = "partenaire"
    taken = set(
        session.exec(
            select(Partner.slug).where(Partner.slug.startswith(base))  # type: ignore[attr-defined]
        ).all()
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _snapshot(partner: Partner) -> dict[str, Any]:
    return {
        "name": partner.name,
        "slug": partner.slug,
        "kind": partner.kind,
        "roles": roles_of(partner),
        "website": partner.website,
        "description": partner.description,
        "logo": partner.logo_file,
    }


def _save_logo(session: Session, logo: UploadFile | None) -> uploads.StoredFile | None:
    if logo is None or not uploads.has_file(logo):
        return None
    settings = _settings(session)
    return uploads.save_upload(
        logo,
        allowed=uploads.LOGO_TYPES,
        max_bytes=uploads.logo_limit(settings),
        directory=uploads.logos_dir(settings),
        field="logo",
    )


def _apply(partner: Partner, data: PartnerInput) -> None:
    partner.name = data.name
    partner.kind = data.kind
    for role, (column, _label, _heading) in ROLES.items():
        setattr(partner, column, role in data.roles)
    partner.website = data.website or None
    partner.description = data.description


def create_partner(
    session: Session, actor: User, data: PartnerInput, *, logo: UploadFile | None = None
) -> Partner:
    ensure_staff(actor)
    data = validate_partner(data)
    stored = _save_logo(session, logo)
    try:
        now = utcnow()
        partner = Partner(slug=_unique_slug(session, data.name), created_at=now, updated_at=now)
        _apply(partner, data)
        if stored:
            partner.logo_file, partner.logo_type = stored.stored_name, stored.content_type
        session.add(partner)
        session.flush()
        audit.record(
            session, actor, "partner.create", "partner", partner.id, after=_snapshot(partner)
        )
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        uploads.remove_file(stored.path if stored else None)
        raise Conflict(
            _("Un partenaire de ce nom vient d'être créé par quelqu'un d'autre : réessayez.")
        ) from exc
    except BaseException:
        session.rollback()
        uploads.remove_file(stored.path if stored else None)
        raise
    session.refresh(partner)
    return partner


def update_partner(
    session: Session,
    actor: User,
    partner_id: int,
    data: PartnerInput,
    *,
    logo: UploadFile | None = None,
    remove_logo: bool = False,
) -> Partner:
    """Edits a partner; its slug never changes. A new logo replaces the old one (whose file is
    removed once the change is committed)."""
    ensure_staff(actor)
    partner = get_partner(session, partner_id)
    data = validate_partner(data)
    stored = _save_logo(session, logo)
    before = _snapshot(partner)
    old_logo = partner.logo_file
    try:
        _apply(partner, data)
        if stored:
            partner.logo_file, partner.logo_type = stored.stored_name, stored.content_type
        elif remove_logo:
            partner.logo_file, partner.logo_type = None, None
        partner.updated_at = utcnow()
        session.add(partner)
        audit.record(
            session,
            actor,
            "partner.update",
            "partner",
            partner.id,
            before=before,
            after=_snapshot(partner),
        )
        session.commit()
    except BaseException:
        session.rollback()
        uploads.remove_file(stored.path if stored else None)
        raise
    if old_logo and old_logo != partner.logo_file:
        logos = uploads.logos_dir(_settings(session))
        uploads.remove_file(uploads.stored_path(logos, old_logo))
    session.refresh(partner)
    return partner


def set_archived(session: Session, actor: User, partner_id: int, *, archived: bool) -> Partner:
    ensure_staff(actor)
    partner = get_partner(session, partner_id)
    if (partner.archived_at is not None) == archived:
        return partner
    partner.archived_at = utcnow() if archived else None
    partner.updated_at = utcnow()
    session.add(partner)
    audit.record(
        session,
        actor,
        "partner.archive" if archived else "partner.restore",
        "partner",
        partner.id,
        before={"archived": not archived},
        after={"archived": archived},
    )
    session.commit()
    session.refresh(partner)
    return partner


# --- links to ideas ---------------------------------------------------------------------------


def link_partner(
    session: Session, actor: User, idea_id: int, partner_id: int | None, link: str
) -> IdeaPartner:
    ensure_staff(actor)
    idea = get_idea(session, idea_id)
    errors: dict[str, str] = {}
    partner = session.get(Partner, partner_id) if partner_id is not None else None
    if partner is None or partner.archived_at is not None:
        errors["partner_id"] = _("Choisissez un partenaire dans la liste.")
    if link not in LINK_LABELS:
        errors["link"] = _("Choisissez le lien : détectée, financée ou accompagnée par.")
    if errors:
        raise Invalid(errors)
    assert partner is not None
    duplicate = _(
        "%(partner)s est déjà lié à cette idée ainsi (« %(link)s »).",
        partner=partner.name,
        link=link_label(link),
    )
    exists = session.exec(
        select(IdeaPartner.id).where(
            IdeaPartner.idea_id == idea.id,
            IdeaPartner.partner_id == partner.id,
            IdeaPartner.link == link,
        )
    ).first()
    if exists is not None:
        raise Invalid({"partner_id": duplicate})
    row = IdeaPartner(idea_id=idea.id, partner_id=partner.id, link=link)  # type: ignore[arg-type]
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same link added at the same moment by someone else
        session.rollback()
        raise Invalid({"partner_id": duplicate}) from exc
    audit.record(
        session,
        actor,
        "idea.partner_link",
        "idea",
        idea.id,
        after={"partner_id": partner.id, "partner": partner.name, "link": link},
    )
    session.commit()
    session.refresh(row)
    return row


def unlink_partner(session: Session, actor: User, idea_id: int, link_id: int) -> None:
    ensure_staff(actor)
    idea = get_idea(session, idea_id)
    row = session.get(IdeaPartner, link_id)
    if row is None or row.idea_id != idea.id:
        raise NotFound(_("Ce lien n'existe pas ou plus."))
    partner = session.get(Partner, row.partner_id)
    audit.record(
        session,
        actor,
        "idea.partner_unlink",
        "idea",
        idea.id,
        before={
            "partner_id": row.partner_id,
            "partner": partner.name if partner else None,
            "link": row.link,
        },
    )
    session.delete(row)
    session.commit()


def partners_of_idea(session: Session, idea: Idea) -> list[tuple[IdeaPartner, Partner]]:
    return [
        (link, partner)
        for link, partner in session.exec(
            select(IdeaPartner, Partner)
            .join(Partner, Partner.id == IdeaPartner.partner_id)  # type: ignore[arg-type]
            .where(IdeaPartner.idea_id == idea.id)
            .order_by(IdeaPartner.link, Partner.name, IdeaPartner.id)  # type: ignore[arg-type]
        ).all()
    ]


def partners_panel(session: Session, idea: Idea, user: User) -> dict[str, Any]:
    """Context of templates/pipeline/_partners.html on the staff idea page."""
    return {
        "idea_partners": partners_of_idea(session, idea),
        "partners_choices": active_partners(session),
        "partner_link_labels": LINK_LABELS,
        "partner_kind_label": kind_label,
    }


PANELS.append(partners_panel)
