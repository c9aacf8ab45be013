"""The staff idea file (/moderation/ideas/{id}): everything the page shows (the idea, its needs,
partners, timeline, the stages it may move to and what is missing before the next one, each
stage's data, milestones, internal comments, and the panels other modules register), and the
answers of the forms posted from it: a 303 back to the right section once saved, or the page
again with the refused form's errors (422) or the reason someone else got there first (409).

Not a routes module: the idea routes, the board's move form, the stage forms and the panels'
own routes (documents, partners, applications) all answer through it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from app.accounts.models import User
from app.board.models import NEED_STATUS_LABELS, Territory, Theme
from app.core.db import utcnow
from app.pipeline import idea_sections, service, stage_data
from app.pipeline.models import (
    STAGE_ORDER,
    Idea,
    IdeaPartner,
    Partner,
    PartnerLink,
    Stage,
)
from app.pipeline.panels import panels_for
from app.pipeline.queries import public_demand
from app.web import freshness
from app.web.errors import Invalid
from app.web.i18n import get_locale
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_
from app.web.templating import render

# The idea page's panels written in other modules register themselves when imported.
for _module in ("app.pipeline.documents", "app.pipeline.partners", "app.pipeline.applications"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise

LINK_LABELS = {
    PartnerLink.detected_by.value: N_("Détectée par"),
    PartnerLink.funded_by.value: N_("Financée par"),
    PartnerLink.supported_by.value: N_("Accompagnée par"),
}
SAVED_NOTICES = {
    "idea": N_("Idée enregistrée."),
    "created": N_("Idée créée."),
    "study": N_("Étude d'opportunité enregistrée."),
    "call": N_("Appel à porteurs enregistré."),
    "carrier": N_("Porteur retenu enregistré."),
    # Redirect of « Retenir ce porteur » (app/pipeline/application_routes.py).
    "carrier_selected": N_("Candidature retenue : la personne est prévenue qu'elle porte l'idée."),
    "enterprise": N_("Entreprise enregistrée."),
    "milestones": N_("Étapes de lancement enregistrées."),
    "comment": N_("Commentaire ajouté."),
    "needs": N_("Besoins ajoutés à l'idée."),
    "moved": N_("L'idée a changé d'étape."),
    # Redirects of the panels' own routes (documents, partners), with ?done=.
    "document_added": N_("Document ajouté."),
    "document_deleted": N_("Document supprimé."),
    "partner_linked": N_("Partenaire lié à l'idée."),
    "partner_unlinked": N_("Lien avec le partenaire retiré."),
}


def in_stage_since(moment: datetime) -> str:
    """« depuis 3 semaines »: how long the idea has been at its stage."""
    elapsed = (utcnow() - moment).total_seconds()
    # A page rendered once for the team (app/web/personal.py) is kept only while these words
    # stay true.
    if elapsed < 60:
        freshness.expires_at(time.time() + 60 - elapsed)
        return _("depuis un instant")
    freshness.expires_at(time.time() + freshness.relative_text_lasts(elapsed))
    age = format_timedelta(timedelta(seconds=elapsed), threshold=1.1, locale=get_locale())
    return _("depuis %(age)s", age=age)


def form_text(form: FormData, name: str, limit: int = 100_000) -> str:
    """A posted text field, at most `limit` characters ("" when absent or a file)."""
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def move_options(idea: Idea, reached: set[str]) -> list[tuple[str, str]]:
    """The stages the idea may move to now (a note given where one is needed)."""
    return [
        (stage, service.stage_label(stage))
        for stage in service.STAGE_LABELS
        if not service.transition_errors(idea, stage, note="-", reached=reached)
    ]


@dataclass(frozen=True)
class MoveChoice:
    """One stage in the idea page's « Nouvelle étape » list."""

    value: str
    label: str
    disabled: bool = False  # the next stage while its information is missing
    backward: bool = False


def _move_choices(idea: Idea, reached: set[str]) -> list[MoveChoice]:
    """The stages the idea may move to now, in the ladder's order, steps back marked as such,
    and the next stage shown but disabled while its information is missing (the page lists
    what to fill in, with links), so the list never starts on a step backwards."""
    allowed = dict(move_options(idea, reached))
    following = next_stage(idea)
    choices = []
    for stage in service.STAGE_LABELS:
        backward = service.is_backward(idea, stage)
        if stage in allowed:
            label = allowed[stage]
            if backward:
                label = _("← %(stage)s (retour en arrière)", stage=label)
            choices.append(MoveChoice(stage, label, backward=backward))
        elif stage == following:
            label = _("%(stage)s (à compléter d'abord)", stage=service.stage_label(stage))
            choices.append(MoveChoice(stage, label, disabled=True))
    return choices


def next_stage(idea: Idea) -> str | None:
    """The stage after the idea's on the ladder (None once launched, or abandoned)."""
    if idea.stage not in STAGE_ORDER or idea.stage == Stage.launched.value:
        return None
    return STAGE_ORDER[STAGE_ORDER.index(Stage(idea.stage)) + 1].value


def next_requirements(idea: Idea) -> list[str]:
    """What is missing before the next stage (empty: the idea may move on)."""
    return list(_next_missing(idea).values())


def _next_missing(idea: Idea) -> dict[str, str]:
    """field → what to fill in before the next stage (the fields' ids are `f-<field>`)."""
    following = next_stage(idea)
    if following is None:
        return {}
    return service.transition_errors(idea, following, note="-")


# --- the idea page -----------------------------------------------------------------------------


def _form_values(idea: Idea) -> dict[str, Any]:
    enterprise = stage_data.enterprise_input(idea)
    return {
        "study_notes": idea.study_notes,
        "verdict": idea.verdict or "",
        "carrier_call": idea.carrier_call,
        "carrier_name": idea.carrier_name or "",
        **{name: getattr(enterprise, name) for name in stage_data.ENTERPRISE_FIELDS},
        "to_stage": "",
        "note": "",
        "internal_note": False,
        "need_ids": "",
        "milestone-label": "",
        "comment-body": "",
    }


def render_idea_page(
    request: Request,
    session: Session,
    user: User,
    idea: Idea,
    *,
    form: str = "",
    errors: dict[str, str] | None = None,
    submitted: Mapping[str, Any] | None = None,
    form_error: str | None = None,
    notice: str | None = None,
    saved: str = "",
    extra: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The idea page; after a refused form, with its name (`form`), errors and what was typed
    (`submitted`), or a panel's own context (`extra`: its errors and values)."""
    values = _form_values(idea)
    values.update(submitted or {})
    reached = service.reached_stages(session, idea)
    needs = service.linked_needs(session, idea)
    partners = session.exec(
        select(IdeaPartner, Partner)
        .join(Partner, col(Partner.id) == IdeaPartner.partner_id)
        .where(IdeaPartner.idea_id == idea.id)
        .order_by(col(IdeaPartner.link), col(Partner.name))
    ).all()
    theme = session.get(Theme, idea.theme_id) if idea.theme_id else None
    territory = session.get(Territory, idea.territory_id) if idea.territory_id else None
    following = next_stage(idea)
    context: dict[str, Any] = {
        "idea": idea,
        "theme": theme,
        "territory": territory,
        "needs": needs,
        "supports_total": sum(n.supports_count for n in needs),
        # Distinct people behind its public needs, per concern and every territory (issue 17).
        "demand": public_demand(session, [idea.id])[idea.id],  # type: ignore[list-item]
        "need_status_labels": NEED_STATUS_LABELS,
        "partners": partners,
        "link_labels": LINK_LABELS,
        "timeline": service.timeline(session, idea),
        "move_options": _move_choices(idea, reached),
        "next_stage": following,
        "next_requirements": _next_missing(idea),
        "milestones": stage_data.milestones(session, idea),
        "comments": stage_data.comments(session, idea),
        "stage_label": service.stage_label,
        "origin_labels": service.ORIGIN_LABELS,
        "verdict_labels": service.VERDICT_LABELS,
        "legal_form_labels": stage_data.LEGAL_FORM_LABELS,
        "since": in_stage_since,
        "today": date.today().isoformat(),
        "values": values,
        "form": form,
        "errors": errors or {},
        "form_error": form_error,
        "notice": notice,
        "limits": {
            "study_notes": stage_data.STUDY_NOTES_MAX,
            "carrier_call": stage_data.CARRIER_CALL_MAX,
            "carrier_name": stage_data.CARRIER_NAME_MAX,
            "enterprise_name": stage_data.ENTERPRISE_NAME_MAX,
            "website": stage_data.WEBSITE_MAX,
            "jobs": stage_data.JOBS_MAX,
            "milestone": stage_data.MILESTONE_MAX,
            "comment": stage_data.COMMENT_MAX,
            "note": service.NOTE_MAX,
        },
        "section": "ideas",
    }
    context.update(panels_for(session, idea, user))
    context.update(extra or {})
    # The current stage's section first; folded sections open where the person has something
    # to do or to see (app/pipeline/idea_sections.py).
    linked_fields = list(context["next_requirements"])
    if context["form"] == "move":
        linked_fields += list(context["errors"])
    place = idea_sections.notice_place(saved)
    if context["notice"] and place:
        # Said where the person comes back to, not at the top of the page.
        context["section_notice"] = (place, context["notice"])
        context["notice"] = None
    context["sections"] = idea_sections.idea_sections(
        idea.stage,
        refused=idea_sections.refused_forms(context),
        saved=saved,
        fields=linked_fields,
        also_open=["needs"] if context.get("need_q") else [],
    )
    return render(request, "pipeline/idea.html", context, status_code=status_code)


def saved_redirect(idea_id: int, what: str, anchor: str) -> RedirectResponse:
    """Back to the idea page once a form is saved: `what` names the notice (SAVED_NOTICES),
    `anchor` the section it is said in."""
    return RedirectResponse(f"/moderation/ideas/{idea_id}?saved={what}#{anchor}", status_code=303)


def refused_page(
    request: Request,
    session: Session,
    user: User,
    idea_id: int,
    form: str,
    exc: Invalid,
    submitted: Mapping[str, Any],
    *,
    prefix: str = "",
) -> Response:
    """The idea page again with a refused form's errors and what was typed (422), each field
    named as the page names it: with the form's `prefix` (`milestone-`, `comment-`)."""
    session.rollback()
    idea = service.get_idea(session, idea_id)
    errors = {f"{prefix}{key}": message for key, message in exc.errors.items()}
    submitted = {f"{prefix}{key}": value for key, value in submitted.items()}
    return render_idea_page(
        request,
        session,
        user,
        idea,
        form=form,
        errors=errors,
        submitted=submitted,
        status_code=422,
    )
