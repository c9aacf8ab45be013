"""Pipeline use cases: create an idea, promote needs into one, move it through the stages.

Stage rules (SPEC §4, issue 5), checked by `transition_errors()` before anything is written:
- forward one stage at a time (detected → studying → seeking_carrier → launching → launched);
  skipping a stage is refused, because each stage has data the next one relies on;
- entering `seeking_carrier` needs a « viable » study verdict and a public call for carriers;
  entering `launching` needs a carrier; entering `launched` needs the enterprise's name, legal
  form, launch date and jobs created (0 is a valid number);
- backwards to any earlier stage, with a note saying why and a ticked confirmation (a step back
  is announced to the public and to everyone behind the needs);
- `abandoned` from any stage but `launched`, with a reason; an abandoned idea can be reopened
  into any stage it had reached, with a note.
Every move: the stage the person saw is in the UPDATE's WHERE (two people moving the same card
cannot both win), one StageChange row (the timeline), one audit entry, and, when the idea is
public, a notification to the authors, supporters and followers of its needs — all in one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, union, update
from sqlmodel import Session, select

from app.accounts.models import User
from app.board.badges import PROVIDERS, NeedBadge
from app.board.models import PUBLIC_NEED_STATUSES, Follow, Need, Support
from app.core import audit, events
from app.core.db import utcnow
from app.core.text import render_markdown, slugify
from app.pipeline.events import IdeaPublished, IdeaStageChanged, IdeaUnpublished
from app.pipeline.models import (
    STAGE_ORDER,
    Idea,
    IdeaNeed,
    Origin,
    Partner,
    PartnerLink,
    Stage,
    StageChange,
    Verdict,
)
from app.pipeline.permissions import ensure_staff
from app.web.errors import Conflict, Invalid, NotFound
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

TITLE_MIN, TITLE_MAX = 5, 140
SUMMARY_MAX = 10_000
NOTE_MAX = 2000

STAGE_LABELS = {
    Stage.detected.value: N_("Détectée"),
    Stage.studying.value: N_("À l'étude"),
    Stage.seeking_carrier.value: N_("Recherche de porteur"),
    Stage.launching.value: N_("En lancement"),
    Stage.launched.value: N_("Entreprise créée"),
    Stage.abandoned.value: N_("Abandonnée"),
}

ORIGIN_LABELS = {
    Origin.resident.value: N_("Habitant·e (la Bourse)"),
    Origin.town.value: N_("Commune"),
    Origin.association.value: N_("Association"),
    Origin.company.value: N_("Entreprise"),
    Origin.fabrique.value: N_("La fabrique"),
    Origin.carrier.value: N_("Porteur ou entrepreneur (incubateur)"),
}

VERDICT_LABELS = {
    Verdict.viable.value: N_("Viable"),
    Verdict.not_viable.value: N_("Non viable"),
    Verdict.to_complete.value: N_("À compléter"),
}


def stage_label(stage: str) -> str:
    return _(STAGE_LABELS[stage]) if stage in STAGE_LABELS else stage


def get_idea(session: Session, idea_id: int) -> Idea:
    idea = session.get(Idea, idea_id)
    if idea is None:
        raise NotFound(_("Cette idée n'existe pas."))
    return idea


# --- creating ideas ---------------------------------------------------------------------------


@dataclass
class IdeaInput:
    title: str = ""
    summary: str = ""
    theme_id: int | None = None
    territory_id: int | None = None
    origin: str = Origin.resident.value
    partner_id: int | None = None  # the detecting partner (« capteur »), for other origins
    is_public: bool = False


def validate_idea(session: Session, data: IdeaInput, *, from_needs: bool) -> IdeaInput:
    errors: dict[str, str] = {}
    title = " ".join((data.title or "").split())
    summary = (data.summary or "").replace("\x00", "").strip()
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        errors["title"] = _(
            "Le titre doit faire entre %(min)s et %(max)s caractères.", min=TITLE_MIN, max=TITLE_MAX
        )
    if len(summary) > SUMMARY_MAX:
        errors["summary"] = _("Le résumé doit faire au plus %(max)s caractères.", max=SUMMARY_MAX)
    origin = Origin.resident.value if from_needs else data.origin
    if origin not in ORIGIN_LABELS:
        errors["origin"] = _("Choisissez l'origine de l'idée.")
    if data.partner_id is not None:
        partner = session.get(Partner, data.partner_id)
        if partner is None or partner.archived_at is not None:
            errors["partner_id"] = _("Ce partenaire n'existe pas.")
    if errors:
        raise Invalid(errors)
    return IdeaInput(
        title=title,
        summary=summary,
        theme_id=data.theme_id,
        territory_id=data.territory_id,
        origin=origin,
        partner_id=data.partner_id,
        is_public=data.is_public,
    )


BECOMES_IDEA = N_("Le besoin « %(need)s » devient une idée suivie par la fabrique : « %(idea)s ».")


def create_idea(
    session: Session,
    actor: User,
    data: IdeaInput,
    *,
    need_ids: Iterable[int] = (),
    commit: bool = True,
) -> Idea:
    """Creates an idea at `detected`, from needs (origin « resident », set automatically) or
    from another origin with its detecting partner. The needs must be public and not already in
    an idea. Audited; the people behind the needs are told when the idea is public."""
    ensure_staff(actor)
    need_ids = list(dict.fromkeys(need_ids))
    data = validate_idea(session, data, from_needs=bool(need_ids))
    needs = _promotable_needs(session, need_ids)
    now = utcnow()
    idea = Idea(
        title=data.title,
        slug=slugify(data.title),
        summary=data.summary,
        summary_html=render_markdown(data.summary),
        theme_id=data.theme_id,
        territory_id=data.territory_id,
        origin=data.origin,
        is_public=data.is_public,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    session.add(idea)
    session.flush()
    for need in needs:
        session.add(IdeaNeed(idea_id=idea.id, need_id=need.id, created_at=now))  # type: ignore[arg-type]
    if data.partner_id is not None:
        from app.pipeline.models import IdeaPartner

        session.add(
            IdeaPartner(
                idea_id=idea.id,  # type: ignore[arg-type]
                partner_id=data.partner_id,
                link=PartnerLink.detected_by.value,
            )
        )
    session.add(
        StageChange(
            idea_id=idea.id,  # type: ignore[arg-type]
            from_stage=None,
            to_stage=Stage.detected.value,
            actor_id=actor.id,
            actor_name=actor.display_name[:60],
            created_at=now,
        )
    )
    audit.record(
        session,
        actor,
        "idea.create",
        "idea",
        idea.id,
        after={
            "title": idea.title,
            "origin": idea.origin,
            "needs": [n.id for n in needs],
            "partner_id": data.partner_id,
        },
    )
    if idea.is_public:
        _notify_needs(session, actor, needs, BECOMES_IDEA, idea)
        events.announce(session, IdeaPublished(idea))
    if commit:
        session.commit()
        session.refresh(idea)
    return idea


def _promotable_needs(session: Session, need_ids: list[int]) -> list[Need]:
    if not need_ids:
        return []
    needs = list(session.exec(select(Need).where(Need.id.in_(need_ids))))  # type: ignore[union-attr]
    found = {n.id for n in needs}
    missing = [i for i in need_ids if i not in found]
    bad = [n for n in needs if n.deleted_at is not None or n.status not in PUBLIC_NEED_STATUSES]
    if missing or bad:
        raise Invalid({"needs": _("Seuls des besoins publiés peuvent devenir une idée.")})
    taken = session.exec(
        select(IdeaNeed.need_id).where(IdeaNeed.need_id.in_(need_ids))  # type: ignore[attr-defined]
    ).all()
    if taken:
        raise Invalid(
            {"needs": _("Un de ces besoins fait déjà partie d'une idée : retirez-le d'abord.")}
        )
    return needs


def link_needs(session: Session, actor: User, idea: Idea, need_ids: Iterable[int]) -> None:
    """Adds more needs to an existing idea (audited, committed)."""
    ensure_staff(actor)
    needs = _promotable_needs(session, list(dict.fromkeys(need_ids)))
    for need in needs:
        session.add(IdeaNeed(idea_id=idea.id, need_id=need.id))  # type: ignore[arg-type]
    audit.record(
        session, actor, "idea.link_needs", "idea", idea.id, after={"needs": [n.id for n in needs]}
    )
    if idea.is_public:
        _notify_needs(session, actor, needs, BECOMES_IDEA, idea)
    session.commit()


def visibility_changed(session: Session, actor: User, idea: Idea) -> None:
    """After `idea.is_public` changed, before commit. Made public: the people behind its needs
    learn of it as if it had been created public (a private idea told them nothing), and
    partners' webhooks get `idea.published`. Made private: `idea.unpublished`, id only.
    Flipping back and forth tells the needs' people again: staff rarely do it, and each time
    the idea did come back into view."""
    if idea.is_public:
        public = [
            need
            for need in linked_needs(session, idea)
            if need.status in PUBLIC_NEED_STATUSES and need.deleted_at is None
        ]
        _notify_needs(session, actor, public, BECOMES_IDEA, idea)
        events.announce(session, IdeaPublished(idea))
    else:
        events.announce(session, IdeaUnpublished(idea))


# --- moving through the stages ----------------------------------------------------------------


def reached_stages(session: Session, idea: Idea) -> set[str]:
    return set(
        session.exec(select(StageChange.to_stage).where(StageChange.idea_id == idea.id)).all()
    )


def transition_errors(
    idea: Idea, to_stage: str, *, note: str, reached: set[str] | None = None
) -> dict[str, str]:
    """Why `idea` cannot move to `to_stage` now (empty: it can). See the module docstring."""
    current = idea.stage
    if to_stage not in STAGE_LABELS:
        return {"stage": _("Cette étape n'existe pas.")}
    if to_stage == current:
        return {"stage": _("L'idée est déjà à cette étape.")}
    note = note.strip()
    if to_stage == Stage.abandoned.value:
        if current == Stage.launched.value:
            return {"stage": _("Une entreprise créée ne peut pas être abandonnée.")}
        if not note:
            return {"note": _("Indiquez la raison de l'abandon.")}
        return {}
    target = STAGE_ORDER.index(Stage(to_stage))
    if current == Stage.abandoned.value:
        if reached is not None and to_stage not in reached:
            return {"stage": _("Une idée abandonnée ne reprend qu'à une étape déjà atteinte.")}
        if not note:
            return {"note": _("Expliquez pourquoi l'idée reprend.")}
        return {}
    here = STAGE_ORDER.index(Stage(current))
    if target < here:
        if not note:
            return {
                "note": _("Revenir à une étape précédente demande une note qui explique pourquoi.")
            }
        return {}
    if target > here + 1:
        return {"stage": _("Passez les étapes une par une : chacune a ses propres informations.")}
    return _entry_requirements(idea, to_stage)


def is_backward(idea: Idea, to_stage: str) -> bool:
    """A move to an earlier stage of the ladder (not abandoning, not reopening)."""
    if idea.stage not in STAGE_ORDER or to_stage not in STAGE_ORDER:
        return False
    return STAGE_ORDER.index(Stage(to_stage)) < STAGE_ORDER.index(Stage(idea.stage))


def _entry_requirements(idea: Idea, to_stage: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if to_stage == Stage.seeking_carrier.value:
        if idea.verdict != Verdict.viable.value:
            errors["verdict"] = _(
                "L'étude d'opportunité doit conclure « viable » avant de chercher un porteur."
            )
        if not idea.carrier_call.strip():
            errors["carrier_call"] = _(
                "Rédigez l'appel à porteurs (le profil recherché) avant de le publier."
            )
    elif to_stage == Stage.launching.value:
        if not (idea.carrier_name or "").strip():
            errors["carrier_name"] = _("Choisissez d'abord le porteur du projet.")
    elif to_stage == Stage.launched.value:
        if not (idea.enterprise_name or "").strip():
            errors["enterprise_name"] = _("Indiquez le nom de l'entreprise créée.")
        if not idea.legal_form:
            errors["legal_form"] = _("Indiquez la forme juridique de l'entreprise.")
        if idea.launch_date is None:
            errors["launch_date"] = _("Indiquez la date de création de l'entreprise.")
        if idea.jobs_created is None:
            errors["jobs_created"] = _("Indiquez le nombre d'emplois créés (0 si aucun).")
    return errors


def move_idea(
    session: Session,
    actor: User,
    idea_id: int,
    to_stage: str,
    *,
    seen_stage: str,
    note: str = "",
    public_note: bool = True,
    confirmed_backward: bool = False,
) -> Idea:
    ensure_staff(actor)
    idea = get_idea(session, idea_id)
    note = (note or "").replace("\x00", "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid({"note": _("La note doit faire au plus %(max)s caractères.", max=NOTE_MAX)})
    if idea.stage != seen_stage:
        raise _moved_meanwhile(session, idea)
    errors = transition_errors(idea, to_stage, note=note, reached=reached_stages(session, idea))
    if is_backward(idea, to_stage) and not confirmed_backward:
        errors["confirm_backward"] = _(
            "Cochez la case pour confirmer le retour de « %(here)s » à « %(there)s ».",
            here=stage_label(idea.stage),
            there=stage_label(to_stage),
        )
    if errors:
        raise Invalid(errors)
    now = utcnow()
    values: dict[str, object] = {"stage": to_stage, "stage_changed_at": now, "updated_at": now}
    if to_stage == Stage.abandoned.value:
        values["abandon_reason"] = note
    elif seen_stage == Stage.abandoned.value:
        values["abandon_reason"] = ""  # reopened: the reason stays in the timeline only
    result = session.exec(
        update(Idea)  # type: ignore[call-overload]
        .where(Idea.id == idea.id, Idea.stage == seen_stage)
        .values(**values)
    )
    if result.rowcount != 1:
        session.rollback()
        raise _moved_meanwhile(session, get_idea(session, idea_id))
    session.add(
        StageChange(
            idea_id=idea.id,  # type: ignore[arg-type]
            from_stage=seen_stage,
            to_stage=to_stage,
            actor_id=actor.id,
            actor_name=actor.display_name[:60],
            note=note,
            is_public=public_note,
            created_at=now,
        )
    )
    audit.record(
        session,
        actor,
        "idea.move",
        "idea",
        idea.id,
        reason=note,
        before={"stage": seen_stage},
        after={"stage": to_stage},
    )
    session.refresh(idea)
    events.announce(session, IdeaStageChanged(idea, seen_stage))
    if idea.is_public:
        _notify_needs(
            session,
            actor,
            linked_needs(session, idea),
            N_("L'idée « %(idea)s », née du besoin « %(need)s », passe à l'étape : %(stage)s."),
            idea,
        )
    session.commit()
    session.refresh(idea)
    return idea


def _moved_meanwhile(session: Session, idea: Idea) -> Conflict:
    last = session.exec(
        select(StageChange).where(StageChange.idea_id == idea.id).order_by(StageChange.id.desc())  # type: ignore[union-attr]
    ).first()
    who = last.actor_name if last else _("quelqu'un d'autre")
    return Conflict(
        _(
            "Cette idée a déjà été déplacée par %(who)s (étape : %(stage)s) : rechargez la page.",
            who=who,
            stage=stage_label(idea.stage),
        )
    )


# --- reading ----------------------------------------------------------------------------------


def linked_needs(session: Session, idea: Idea) -> list[Need]:
    return list(
        session.exec(
            select(Need)
            .join(IdeaNeed, IdeaNeed.need_id == Need.id)  # type: ignore[arg-type]
            .where(IdeaNeed.idea_id == idea.id)
            .order_by(Need.id)  # type: ignore[arg-type]
        )
    )


def idea_of_needs(session: Session, need_ids: Iterable[int]) -> dict[int, Idea]:
    """need id → its idea, for the stage badge on need cards and pages (one query)."""
    ids = list(need_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(IdeaNeed.need_id, Idea)
        .join(Idea, Idea.id == IdeaNeed.idea_id)  # type: ignore[arg-type]
        .where(IdeaNeed.need_id.in_(ids))  # type: ignore[attr-defined]
    ).all()
    return {int(need_id): idea for need_id, idea in rows}


def timeline(session: Session, idea: Idea, *, public_only: bool = False) -> list[StageChange]:
    statement = select(StageChange).where(StageChange.idea_id == idea.id)
    if public_only:
        statement = statement.where(StageChange.is_public.is_(True))  # type: ignore[attr-defined]
    return list(session.exec(statement.order_by(StageChange.id)))  # type: ignore[arg-type]


def support_totals(session: Session, idea_ids: Iterable[int]) -> dict[int, int]:
    """idea id → total supports of its linked needs (for the pipeline board's cards)."""
    ids = list(idea_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(IdeaNeed.idea_id, func.coalesce(func.sum(Need.supports_count), 0))
        .join(Need, Need.id == IdeaNeed.need_id)  # type: ignore[arg-type]
        .where(IdeaNeed.idea_id.in_(ids))  # type: ignore[attr-defined]
        .group_by(IdeaNeed.idea_id)
    ).all()
    return {idea_id: int(total) for idea_id, total in rows}


def _stage_badges(session: Session, need_ids: list[int]) -> dict[int, NeedBadge]:
    # Only ideas staff made public: a private idea is the fabrique's internal work, and its
    # stage would tell residents more than staff chose to say.
    return {
        need_id: NeedBadge(
            label=_("Idée : %(stage)s", stage=stage_label(idea.stage)),
            url=f"/ideas/{idea.id}-{idea.slug}",
        )
        for need_id, idea in idea_of_needs(session, need_ids).items()
        if idea.is_public
    }


PROVIDERS.append(_stage_badges)


# --- notifications ----------------------------------------------------------------------------


def _notify_needs(
    session: Session, actor: User, needs: Iterable[Need], template: str, idea: Idea
) -> None:
    """Tells the author, supporters and followers of the idea's needs (kind « pipeline »: in-app,
    and e-mail per their preference), each person once per event whatever the number of its
    needs they are behind: about the first of them, in the idea's order of needs."""
    from app.board.notifications import notify

    # By id, as linked_needs() gives them: each person hears about the same need at every
    # event (whatever order the caller loaded them in), so app.board.notifications can bring
    # their unread row up to date instead of adding one.
    needs = sorted(needs, key=lambda need: need.id or 0)
    ids = [need.id for need in needs if need.id is not None]
    # Supporters and followers of all the needs in one statement, deduplicated by person
    # below (issue 17): one notification per event, whatever the number of needs.
    behind: dict[int, set[int]] = {}
    if ids:
        pairs = union(
            select(Support.need_id, Support.user_id).where(Support.need_id.in_(ids)),  # type: ignore[attr-defined]
            select(Follow.need_id, Follow.user_id).where(Follow.need_id.in_(ids)),  # type: ignore[attr-defined]
        )
        for need_id, user_id in session.execute(pairs):
            behind.setdefault(need_id, set()).add(user_id)
    first_need: dict[int, Need] = {}
    for need in needs:
        people = behind.get(need.id, set())  # type: ignore[arg-type]
        if need.author_id is not None:
            people.add(need.author_id)
        for person in sorted(people):
            first_need.setdefault(person, need)
    by_need: dict[int, tuple[Need, list[int]]] = {}
    for person, need in first_need.items():
        by_need.setdefault(need.id, (need, []))[1].append(person)  # type: ignore[arg-type]
    for need, people_of_need in by_need.values():

        def message(title: str = need.title) -> str:  # in each recipient's language
            return _(template, need=title, idea=idea.title, stage=stage_label(idea.stage))

        notify(session, "pipeline", people_of_need, need=need, actor=actor, message=message)
