"""Staff edits of an idea: its description, each stage's data (study, call for carriers,
enterprise), the launch milestones and the internal comments.

Each function follows load → authorise → validate → execute → audit → commit. The data of
every stage stays editable whatever the current stage (staff write the study before moving the
idea), with one limit: once an idea has passed a stage, the data that let it in cannot be
emptied (an idea « en lancement » keeps its carrier, a created enterprise keeps its name), so
the pipeline's figures never count an idea that lacks what its stage promises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit
from app.core.clock import local_today
from app.core.db import utcnow
from app.core.text import render_markdown, slugify
from app.pipeline import service
from app.pipeline.models import (
    STAGE_ORDER,
    Idea,
    IdeaComment,
    LegalForm,
    Milestone,
    Stage,
)
from app.pipeline.permissions import ensure_staff
from app.web.errors import Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.urls import web_address_error

STUDY_NOTES_MAX = 50_000
CARRIER_CALL_MAX = 10_000
CARRIER_NAME_MAX = 120
ENTERPRISE_NAME_MAX = 120
WEBSITE_MAX = 500
JOBS_MAX = 10_000
MILESTONE_MAX = 200
MILESTONES_PER_IDEA = 100
COMMENT_MAX = 10_000

LEGAL_FORM_LABELS = {
    LegalForm.association.value: N_("Association"),
    LegalForm.scop.value: N_("SCOP"),
    LegalForm.scic.value: N_("SCIC"),
    LegalForm.sas_esus.value: N_("SAS ESUS"),
    LegalForm.other.value: N_("Autre"),
}


def _clean_text(value: str | None) -> str:
    return (value or "").replace("\x00", "").replace("\r\n", "\n").strip()


def _one_line(value: str | None) -> str:
    return " ".join((value or "").replace("\x00", "").split())


def _save(
    session: Session,
    actor: User,
    idea: Idea,
    changes: dict[str, Any],
    before_commit: Callable[[dict[str, Any]], None] | None = None,
) -> Idea:
    """Applies the changed fields, with one « idea.update » audit entry listing them before and
    after; commits. Nothing changed: nothing written. `before_commit` gets the changed fields'
    old values once the new ones are set, to add what goes in the same transaction."""
    changed = {k: v for k, v in changes.items() if getattr(idea, k) != v}
    if not changed:
        return idea
    _keep_passed_stages(idea, changed)
    before = {k: getattr(idea, k) for k in changed}
    for key, value in changed.items():
        setattr(idea, key, value)
    idea.updated_at = utcnow()
    session.add(idea)
    # Long texts are summarised in the log (their length), not copied in full.
    audit.record(
        session,
        actor,
        "idea.update",
        "idea",
        idea.id,
        before={k: _loggable(k, v) for k, v in before.items()},
        after={k: _loggable(k, v) for k, v in changed.items()},
    )
    if before_commit is not None:
        before_commit(before)
    session.commit()
    session.refresh(idea)
    return idea


_LONG_FIELDS = {"summary", "summary_html", "study_notes", "carrier_call"}


def _loggable(key: str, value: Any) -> Any:
    if key in _LONG_FIELDS and isinstance(value, str) and len(value) > 300:
        return value[:300] + "…"
    return value


def _keep_passed_stages(idea: Idea, changed: dict[str, Any]) -> None:
    """Refuses to empty the data a stage the idea has passed required (see the docstring)."""
    if idea.stage not in STAGE_ORDER:  # abandoned: nothing to keep consistent
        return
    here = STAGE_ORDER.index(Stage(idea.stage))
    after = SimpleNamespace(**{f: getattr(idea, f) for f in Idea.model_fields})
    for key, value in changed.items():
        setattr(after, key, value)
    errors: dict[str, str] = {}
    for stage in STAGE_ORDER[1 : here + 1]:
        for field, message in service._entry_requirements(after, stage.value).items():  # type: ignore[arg-type]
            if field in changed:
                errors[field] = _(
                    "%(reason)s (l'idée a déjà passé l'étape « %(stage)s » : revenez d'abord "
                    "à l'étape précédente)",
                    reason=message.rstrip("."),
                    stage=service.stage_label(stage.value),
                )
    if errors:
        raise Invalid(errors)


def _load(session: Session, actor: User | None, idea_id: int) -> tuple[User, Idea]:
    actor = ensure_staff(actor)
    return actor, service.get_idea(session, idea_id)


# --- the idea itself ------------------------------------------------------------------------


@dataclass
class IdeaEdit:
    title: str = ""
    summary: str = ""
    theme_id: int | None = None
    territory_id: int | None = None
    is_public: bool = False


def update_idea(session: Session, actor: User | None, idea_id: int, data: IdeaEdit) -> Idea:
    actor, idea = _load(session, actor, idea_id)
    checked = service.validate_idea(
        session,
        service.IdeaInput(
            title=data.title,
            summary=data.summary,
            theme_id=data.theme_id,
            territory_id=data.territory_id,
            origin=idea.origin,
            is_public=data.is_public,
        ),
        from_needs=False,
    )
    changes: dict[str, Any] = {
        "title": checked.title,
        "summary": checked.summary,
        "theme_id": checked.theme_id,
        "territory_id": checked.territory_id,
        "is_public": checked.is_public,
    }
    if checked.title != idea.title:
        changes["slug"] = slugify(checked.title)
    if checked.summary != idea.summary:
        changes["summary_html"] = render_markdown(checked.summary)

    def visibility(before: dict[str, Any]) -> None:
        if "is_public" in before:
            service.visibility_changed(session, actor, idea)

    return _save(session, actor, idea, changes, before_commit=visibility)


# --- studying ------------------------------------------------------------------------------


def _study_changes(idea: Idea, values: Mapping[str, str]) -> dict[str, Any]:
    notes = _clean_text(values.get("study_notes"))
    verdict = (values.get("verdict") or "").strip()
    errors: dict[str, str] = {}
    if len(notes) > STUDY_NOTES_MAX:
        errors["study_notes"] = _(
            "Les notes d'étude doivent faire au plus %(max)s caractères.", max=STUDY_NOTES_MAX
        )
    if verdict and verdict not in service.VERDICT_LABELS:
        errors["verdict"] = _("Choisissez un verdict dans la liste.")
    if errors:
        raise Invalid(errors)
    return {"study_notes": notes, "verdict": verdict or None}


# --- seeking_carrier -----------------------------------------------------------------------


def _call_changes(idea: Idea, values: Mapping[str, str]) -> dict[str, Any]:
    """The call for carriers (the profile sought), published on the idea's public page."""
    call = _clean_text(values.get("carrier_call"))
    if len(call) > CARRIER_CALL_MAX:
        raise Invalid(
            {
                "carrier_call": _(
                    "L'appel à porteurs doit faire au plus %(max)s caractères.",
                    max=CARRIER_CALL_MAX,
                )
            }
        )
    return {"carrier_call": call}


def _carrier_changes(idea: Idea, values: Mapping[str, str]) -> dict[str, Any]:
    """A carrier who did not apply, typed by name (a structure the fabrique approached), its
    own action, apart from the call's text. A carrier retained from an application is changed
    through that application's status instead (« Retenir ce porteur »,
    app.pipeline.applications), so the applicant is told and the application does not stay
    « Retenue » for somebody else."""
    name = _one_line(values.get("carrier_name"))
    if len(name) > CARRIER_NAME_MAX:
        raise Invalid(
            {
                "carrier_name": _(
                    "Le nom du porteur doit faire au plus %(max)s caractères.",
                    max=CARRIER_NAME_MAX,
                )
            }
        )
    if idea.carrier_application_id is not None and name != _one_line(idea.carrier_name):
        raise Invalid(
            {
                "carrier_name": _(
                    "Ce porteur a été retenu sur sa candidature : pour en changer, changez "
                    "d'abord le statut de sa candidature."
                )
            }
        )
    return {"carrier_name": name or None}


# --- launched ------------------------------------------------------------------------------


@dataclass
class EnterpriseInput:
    enterprise_name: str = ""
    legal_form: str = ""
    jobs_created: str = ""
    launch_date: str = ""
    enterprise_website: str = ""


def validate_enterprise(data: EnterpriseInput, *, today: date | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = _one_line(data.enterprise_name)
    if len(name) > ENTERPRISE_NAME_MAX:
        errors["enterprise_name"] = _(
            "Le nom doit faire au plus %(max)s caractères.", max=ENTERPRISE_NAME_MAX
        )
    legal_form = (data.legal_form or "").strip()
    if legal_form and legal_form not in LEGAL_FORM_LABELS:
        errors["legal_form"] = _("Choisissez une forme juridique dans la liste.")
    jobs: int | None = None
    raw_jobs = (data.jobs_created or "").strip()
    if raw_jobs:
        if not raw_jobs.isascii() or not raw_jobs.isdigit() or len(raw_jobs) > 6:
            errors["jobs_created"] = _(
                "Indiquez un nombre entier d'emplois, entre 0 et %(max)s.", max=JOBS_MAX
            )
        else:
            jobs = int(raw_jobs)
            if jobs > JOBS_MAX:
                errors["jobs_created"] = _(
                    "Indiquez un nombre entier d'emplois, entre 0 et %(max)s.", max=JOBS_MAX
                )
    launched_on: date | None = None
    raw_date = (data.launch_date or "").strip()
    if raw_date:
        try:
            launched_on = date.fromisoformat(raw_date) if len(raw_date) == 10 else None
        except ValueError:
            launched_on = None
        if launched_on is None:
            errors["launch_date"] = _("Indiquez une date valide (jour, mois, année).")
        elif launched_on > (today or local_today()):
            errors["launch_date"] = _("La date de création ne peut pas être dans le futur.")
        elif launched_on.year < 1900:
            errors["launch_date"] = _("Indiquez une date valide (jour, mois, année).")
    website = (data.enterprise_website or "").strip()
    if website:
        too_long = _("L'adresse doit faire au plus %(max)s caractères.", max=WEBSITE_MAX)
        if website_error := web_address_error(website, WEBSITE_MAX, too_long):
            errors["enterprise_website"] = website_error
    if errors:
        raise Invalid(errors)
    return {
        "enterprise_name": name or None,
        "legal_form": legal_form or None,
        "jobs_created": jobs,
        "launch_date": launched_on,
        "enterprise_website": website or None,
    }


def enterprise_input(idea: Idea) -> EnterpriseInput:
    return EnterpriseInput(
        enterprise_name=idea.enterprise_name or "",
        legal_form=idea.legal_form or "",
        jobs_created="" if idea.jobs_created is None else str(idea.jobs_created),
        launch_date=idea.launch_date.isoformat() if idea.launch_date else "",
        enterprise_website=idea.enterprise_website or "",
    )


ENTERPRISE_FIELDS = [f.name for f in fields(EnterpriseInput)]


# --- the stage forms of the idea page ---------------------------------------------------------


@dataclass(frozen=True)
class StageForm:
    """A form of stage data on the staff idea page: the fields it posts, and what turns their
    values into the idea's columns (raising Invalid with a message per field)."""

    fields: tuple[str, ...]
    changes: Callable[[Idea, Mapping[str, str]], dict[str, Any]]


# Form name (its section's anchor and its « saved » notice) → the form.
STAGE_FORMS: dict[str, StageForm] = {
    "study": StageForm(("study_notes", "verdict"), _study_changes),
    "call": StageForm(("carrier_call",), _call_changes),
    "carrier": StageForm(("carrier_name",), _carrier_changes),
    "enterprise": StageForm(
        tuple(ENTERPRISE_FIELDS),
        lambda idea, values: validate_enterprise(EnterpriseInput(**values)),
    ),
}

# How much of each posted field is read: twice a long text's limit, so that one too long is
# refused with its message rather than cut without a word.
FIELD_READ_LIMITS: dict[str, int] = {
    "study_notes": STUDY_NOTES_MAX * 2,
    "verdict": 40,
    "carrier_call": CARRIER_CALL_MAX * 2,
    "carrier_name": 1000,
    **dict.fromkeys(ENTERPRISE_FIELDS, 1000),
}


def save_stage_form(
    session: Session, actor: User | None, idea_id: int, form: str, values: Mapping[str, str]
) -> Idea:
    """Saves one stage form (a key of STAGE_FORMS) from the values posted: load → authorise →
    validate → one audited write of the columns that changed."""
    actor, idea = _load(session, actor, idea_id)
    return _save(session, actor, idea, STAGE_FORMS[form].changes(idea, values))


# --- launching: the milestone checklist --------------------------------------------------------


def milestones(session: Session, idea: Idea) -> list[Milestone]:
    return list(
        session.exec(
            select(Milestone)
            .where(Milestone.idea_id == idea.id)
            .order_by(Milestone.position, Milestone.id)  # type: ignore[arg-type]
        )
    )


def _milestone_label(label: str) -> str:
    label = _one_line(label)
    if not label:
        raise Invalid({"label": _("Décrivez l'étape à franchir.")})
    if len(label) > MILESTONE_MAX:
        raise Invalid(
            {"label": _("L'intitulé doit faire au plus %(max)s caractères.", max=MILESTONE_MAX)}
        )
    return label


def _load_milestone(
    session: Session, actor: User | None, idea_id: int, milestone_id: int
) -> tuple[User, Idea, Milestone]:
    actor, idea = _load(session, actor, idea_id)
    milestone = session.get(Milestone, milestone_id)
    if milestone is None or milestone.idea_id != idea.id:
        raise NotFound(_("Cette étape de lancement n'existe pas."))
    return actor, idea, milestone


def _touch(session: Session, idea: Idea) -> None:
    idea.updated_at = utcnow()
    session.add(idea)


def add_milestone(session: Session, actor: User | None, idea_id: int, label: str) -> Milestone:
    actor, idea = _load(session, actor, idea_id)
    label = _milestone_label(label)
    count, last = session.exec(
        select(func.count(), func.max(Milestone.position)).where(Milestone.idea_id == idea.id)
    ).one()
    if count >= MILESTONES_PER_IDEA:
        raise Invalid(
            {"label": _("Une idée compte au plus %(max)s étapes.", max=MILESTONES_PER_IDEA)}
        )
    milestone = Milestone(idea_id=idea.id, label=label, position=(last or 0) + 1)  # type: ignore[arg-type]
    session.add(milestone)
    session.flush()
    _touch(session, idea)
    audit.record(
        session,
        actor,
        "idea.milestone.add",
        "idea",
        idea.id,
        after={"milestone_id": milestone.id, "label": label},
    )
    session.commit()
    return milestone


def rename_milestone(
    session: Session, actor: User | None, idea_id: int, milestone_id: int, label: str
) -> Milestone:
    actor, idea, milestone = _load_milestone(session, actor, idea_id, milestone_id)
    label = _milestone_label(label)
    if label == milestone.label:
        return milestone
    before = milestone.label
    milestone.label = label
    session.add(milestone)
    _touch(session, idea)
    audit.record(
        session,
        actor,
        "idea.milestone.rename",
        "idea",
        idea.id,
        before={"milestone_id": milestone.id, "label": before},
        after={"milestone_id": milestone.id, "label": label},
    )
    session.commit()
    return milestone


def set_milestone_done(
    session: Session, actor: User | None, idea_id: int, milestone_id: int, done: bool
) -> Milestone:
    actor, idea, milestone = _load_milestone(session, actor, idea_id, milestone_id)
    if (milestone.done_at is not None) == done:
        return milestone
    milestone.done_at = utcnow() if done else None
    session.add(milestone)
    _touch(session, idea)
    audit.record(
        session,
        actor,
        "idea.milestone.done" if done else "idea.milestone.undone",
        "idea",
        idea.id,
        after={"milestone_id": milestone.id, "label": milestone.label},
    )
    session.commit()
    return milestone


def delete_milestone(session: Session, actor: User | None, idea_id: int, milestone_id: int) -> None:
    actor, idea, milestone = _load_milestone(session, actor, idea_id, milestone_id)
    audit.record(
        session,
        actor,
        "idea.milestone.delete",
        "idea",
        idea.id,
        before={"milestone_id": milestone.id, "label": milestone.label},
    )
    session.delete(milestone)
    _touch(session, idea)
    session.commit()


def move_milestone(
    session: Session, actor: User | None, idea_id: int, milestone_id: int, direction: str
) -> None:
    """Swaps the milestone with its neighbour above (`up`) or below (`down`); positions are
    renumbered 1…n on the way, so they stay distinct whatever happened before."""
    actor, idea, milestone = _load_milestone(session, actor, idea_id, milestone_id)
    if direction not in ("up", "down"):
        raise Invalid({"direction": _("Choisissez de monter ou de descendre l'étape.")})
    items = milestones(session, idea)
    index = next(i for i, m in enumerate(items) if m.id == milestone.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            session.add(item)
    _touch(session, idea)
    audit.record(
        session,
        actor,
        "idea.milestone.move",
        "idea",
        idea.id,
        after={"milestone_id": milestone.id, "direction": direction},
    )
    session.commit()


# --- internal comments ---------------------------------------------------------------------


def comments(session: Session, idea: Idea) -> list[IdeaComment]:
    return list(
        session.exec(
            select(IdeaComment).where(IdeaComment.idea_id == idea.id).order_by(IdeaComment.id)  # type: ignore[arg-type]
        )
    )


def add_comment(session: Session, actor: User | None, idea_id: int, body: str) -> IdeaComment:
    actor, idea = _load(session, actor, idea_id)
    body = _clean_text(body)
    if not body:
        raise Invalid({"body": _("Écrivez votre commentaire.")})
    if len(body) > COMMENT_MAX:
        raise Invalid(
            {"body": _("Le commentaire doit faire au plus %(max)s caractères.", max=COMMENT_MAX)}
        )
    comment = IdeaComment(
        idea_id=idea.id,  # type: ignore[arg-type]
        author_id=actor.id,
        author_name=actor.display_name[:60],
        body=body,
        body_html=render_markdown(body),
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        actor,
        "idea.comment",
        "idea",
        idea.id,
        after={"comment_id": comment.id, "body": _loggable("summary", body)},
    )
    session.commit()
    return comment
