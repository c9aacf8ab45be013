"""Demo pipeline: partners and about 110 ideas whose funnel resembles the fabrique of SPEC §1
(54 opportunity studies, 10 social enterprises, about 40 jobs, about 15% of ideas from the
board), with the Mérignac concierge service told from the resident's need to the enterprise.

Written as rows (not through app.pipeline.service) because a history spanning fifteen years
needs past dates; every row still obeys the service's rules (one stage at a time, a viable
verdict before the call for carriers, a carrier before launch, the enterprise's data once
launched, a reason for each abandonment), which tests/test_demo.py checks. Idempotent: ideas
are found by title, partners by slug.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from app.accounts.models import User
from app.board.models import Need, Territory, Theme
from app.core.text import render_markdown, slugify
from app.ops.demo import content
from app.pipeline.models import (
    STAGE_ORDER,
    CarrierApplication,
    Idea,
    IdeaNeed,
    IdeaPartner,
    Milestone,
    Origin,
    Partner,
    Stage,
    StageChange,
    Verdict,
)

# (slug, name, kind, funder, technical, capteur, website)
PARTNERS = [
    (
        "ville-de-merignac",
        "Ville de Mérignac",
        "town",
        True,
        False,
        True,
        "https://www.merignac.com",
    ),
    ("ville-de-pessac", "Ville de Pessac", "town", True, False, True, "https://www.pessac.fr"),
    ("ville-de-begles", "Ville de Bègles", "town", True, False, True, None),
    ("ville-de-blanquefort", "Ville de Blanquefort", "town", True, False, True, None),
    ("bordeaux-metropole", "Bordeaux Métropole", "town", True, False, False, None),
    ("departement-gironde", "Département de la Gironde", "department", True, False, False, None),
    ("region-nouvelle-aquitaine", "Région Nouvelle-Aquitaine", "region", True, False, False, None),
    ("dreets", "Services de l'État (DREETS)", "state_service", True, False, False, None),
    ("caisse-des-depots", "Caisse des Dépôts", "bank", True, False, False, None),
    (
        "fondation-solidaire-demo",
        "Fondation solidaire (démo)",
        "foundation",
        True,
        False,
        False,
        None,
    ),
    ("france-active", "France Active", "network", False, True, False, None),
    ("urscop", "Union régionale des Scop", "network", False, True, False, None),
    ("cress", "Chambre régionale de l'ESS", "network", False, True, True, None),
    ("reseau-insertion", "Réseau régional de l'insertion", "association", False, True, True, None),
]

CONCIERGE_TITLE = "Une conciergerie d'insertion pour la zone d'activités de Mérignac"
CONCIERGE_NEED = "Une conciergerie pour les salariés de la zone d'activités de Mérignac"
CALL_TITLE = "Un service de réparation de vélos à domicile et en entreprise"

# Jobs of the ten enterprises (about forty in all, as the fabrique reported).
JOBS = [6, 5, 4, 3, 2, 5, 4, 3, 6, 2]
LEGAL_FORMS = ["association", "scic", "scop", "sas_esus", "association"]
ABANDON_REASONS = [
    "L'étude de marché montre une demande trop faible pour un modèle économique durable.",
    "Un service équivalent a ouvert entre-temps sur le territoire.",
    "Aucun porteur de projet n'a été trouvé malgré l'appel.",
    "Les financements nécessaires au démarrage n'ont pas pu être réunis.",
    "Le besoin relève d'un service public : l'idée a été transmise à la commune.",
]
PLACES = [
    "Mérignac",
    "Pessac",
    "Bègles",
    "Blanquefort",
    "Bordeaux",
    "Talence",
    "Floirac",
    "Libourne",
]


@dataclass(frozen=True)
class _Plan:
    final: str  # the stage the idea is in today
    reached: str  # the furthest forward stage it reached (for abandoned ideas)


def _plans() -> list[_Plan]:
    """110 ideas: 10 launched, 3 launching, 5 seeking a carrier, 8 studying, 28 abandoned
    after their study (54 studied in all), 45 detected and 11 abandoned at detection."""
    plans = [_Plan("launched", "launched")] * 10
    plans += [_Plan("launching", "launching")] * 3
    plans += [_Plan("seeking_carrier", "seeking_carrier")] * 5
    plans += [_Plan("studying", "studying")] * 8
    plans += [_Plan("abandoned", "studying")] * 22
    plans += [_Plan("abandoned", "seeking_carrier")] * 6
    plans += [_Plan("detected", "detected")] * 45
    plans += [_Plan("abandoned", "detected")] * 11
    return plans


def seed_demo_pipeline(session: Session, people: dict[str, User], now: datetime) -> int:
    """Writes what is missing; returns how many ideas were added."""
    partners = _ensure_partners(session, now)
    existing = set(session.scalars(select(Idea.title)))
    staff = people["equipe"]
    themes = {t.slug: t.id for t in session.scalars(select(Theme))}
    territories = {t.slug: t.id for t in session.scalars(select(Territory))}
    added = 0
    if CONCIERGE_TITLE not in existing:
        _concierge(session, staff, partners, themes, territories, now)
        added += 1
    if CALL_TITLE not in existing:
        _open_call(session, staff, people, partners, themes, territories, now)
        added += 1
    rng = random.Random(2010)
    # The two stories above are one launched idea (resident's need) and one seeking a carrier.
    plans = _plans()
    plans.remove(_Plan("launched", "launched"))
    plans.remove(_Plan("seeking_carrier", "seeking_carrier"))
    rng.shuffle(plans)
    board_needs = list(
        session.scalars(
            select(Need.id)
            .where(Need.status == "published", Need.author_id.is_not(None))  # type: ignore[union-attr]
            .where(
                Need.title.in_([n.title for n in content.DEMO_NEEDS if n.title != CONCIERGE_NEED])
            )  # type: ignore[attr-defined]
            .order_by(Need.id)
        )
    )
    linked = set(session.scalars(select(IdeaNeed.need_id)))
    free_needs = [n for n in board_needs if n not in linked]
    jobs = iter(JOBS[1:])
    theme_ids = sorted(themes.values())
    territory_ids = sorted(territories.values())
    for index, plan in enumerate(plans):
        service, theme_slug = content.SERVICES[index % len(content.SERVICES)]
        place = PLACES[index % len(PLACES)]
        title = f"{service[0].upper()}{service[1:]} à {place}"
        if title in existing:
            continue
        # About 15% of all ideas come from the board: every seventh generated idea.
        from_board = index % 7 == 3
        origin = (
            Origin.resident.value
            if from_board
            else rng.choice(["town", "town", "association", "company", "fabrique"])
        )
        created = now - timedelta(days=rng.randint(60, 5400))
        idea = Idea(
            title=title,
            slug=slugify(title),
            summary=f"Idée repérée à {place} : {service}. Fiche de démonstration.",
            theme_id=themes.get(theme_slug) or rng.choice(theme_ids),
            territory_id=rng.choice(territory_ids),
            origin=origin,
            created_by_id=staff.id,
            created_at=created,
            updated_at=created,
            stage_changed_at=created,
        )
        idea.summary_html = render_markdown(idea.summary)
        session.add(idea)
        session.flush()
        if from_board and free_needs:
            session.add(IdeaNeed(idea_id=idea.id, need_id=free_needs.pop(0), created_at=created))  # type: ignore[arg-type]
        if origin == "town":
            town = rng.choice([p for p in partners.values() if p.kind == "town" and p.is_capteur])
            session.add(IdeaPartner(idea_id=idea.id, partner_id=town.id, link="detected_by"))  # type: ignore[arg-type]
        _history(
            session, idea, plan, staff, rng, now, next(jobs, 3) if plan.final == "launched" else 0
        )
        if plan.final in ("launched", "launching"):
            for partner in rng.sample([p for p in partners.values() if p.is_funder], 2):
                session.add(IdeaPartner(idea_id=idea.id, partner_id=partner.id, link="funded_by"))  # type: ignore[arg-type]
        added += 1
    session.commit()  # one transaction for the generated history: all of it or nothing
    seed_demo_referrals(session, partners)
    return added


# Towns that put the widget on their website, and how busy their pages are (visits a day).
REFERRING_PARTNERS = {"ville-de-merignac": 14, "ville-de-pessac": 6, "ville-de-begles": 3}
REFERRAL_DAYS = 400


def seed_demo_referrals(session: Session, partners: dict[str, Partner]) -> int:
    """Daily counters of visits, needs and supports that came through the towns' embeds, over
    about thirteen months, so the partner pages show figures; written once per partner."""
    from app.core.clock import local_today
    from app.syndication.models import PartnerReferralDay

    rng = random.Random(2026)
    today = local_today()
    written = 0
    for slug, daily in REFERRING_PARTNERS.items():
        partner = partners.get(slug)
        if (
            partner is None
            or session.scalars(
                select(PartnerReferralDay.day).where(PartnerReferralDay.partner_id == partner.id)
            ).first()
        ):
            continue
        for age in range(REFERRAL_DAYS):
            # The widget went up gradually: fewer visits a year ago than today.
            visits = rng.randint(0, 2 * daily) * (REFERRAL_DAYS - age) // REFERRAL_DAYS
            if not visits:
                continue
            session.add(
                PartnerReferralDay(
                    partner_id=partner.id,  # type: ignore[arg-type]
                    day=today - timedelta(days=age),
                    visits=visits,
                    needs_posted=sum(rng.random() < 0.02 for _ in range(visits)),
                    supports=sum(rng.random() < 0.12 for _ in range(visits)),
                )
            )
            written += 1
    session.commit()
    return written


def _ensure_partners(session: Session, now: datetime) -> dict[str, Partner]:
    found = {p.slug: p for p in session.scalars(select(Partner))}
    for slug, name, kind, funder, technical, capteur, website in PARTNERS:
        if slug not in found:
            partner = Partner(
                slug=slug,
                name=name,
                kind=kind,
                is_funder=funder,
                is_technical=technical,
                is_capteur=capteur,
                website=website,
                description="Partenaire de démonstration.",
                created_at=now - timedelta(days=4000),
                updated_at=now - timedelta(days=4000),
            )
            session.add(partner)
            found[slug] = partner
    session.commit()
    return found


def _move(
    session: Session, idea: Idea, to: str, when: datetime, staff: User, note: str = ""
) -> None:
    session.add(
        StageChange(
            idea_id=idea.id,  # type: ignore[arg-type]
            from_stage=idea.stage,
            to_stage=to,
            actor_id=staff.id,
            actor_name=staff.display_name,
            note=note,
            created_at=when,
        )
    )
    idea.stage = to
    idea.stage_changed_at = when
    idea.updated_at = when


def _history(
    session: Session,
    idea: Idea,
    plan: _Plan,
    staff: User,
    rng: random.Random,
    now: datetime,
    jobs: int,
) -> None:
    """Stage changes from creation to today, each stage's data filled before moving on."""
    session.add(
        StageChange(
            idea_id=idea.id,  # type: ignore[arg-type]
            from_stage=None,
            to_stage=Stage.detected.value,
            actor_id=staff.id,
            actor_name=staff.display_name,
            created_at=idea.created_at,
        )
    )
    when = idea.created_at
    span = (now - idea.created_at) / 8
    target = STAGE_ORDER.index(Stage(plan.reached))
    for stage in STAGE_ORDER[1 : target + 1]:
        when = when + span * rng.uniform(0.5, 1.0)
        if stage == Stage.seeking_carrier:
            idea.study_notes = (
                "Étude d'opportunité : demande confirmée, modèle économique à l'équilibre "
                "en trois ans."
            )
            idea.verdict = Verdict.viable.value
            idea.carrier_call = (
                "Nous cherchons une structure de l'économie sociale et solidaire prête à "
                "porter ce service."
            )
            idea.is_public = True
        if stage == Stage.launching:
            idea.carrier_name = rng.choice(
                [
                    "Association Trait d'union (démo)",
                    "SCIC Les Communs (démo)",
                    "Entreprise d'insertion Rebonds (démo)",
                ]
            )
        if stage == Stage.launched:
            idea.enterprise_name = f"{idea.title.split(' à ')[0][:60]} (démo)"
            idea.legal_form = rng.choice(LEGAL_FORMS)
            idea.jobs_created = jobs
            idea.launch_date = when.date()
        _move(session, idea, stage.value, when, staff)
    if plan.final == Stage.studying.value:
        idea.study_notes = "Étude en cours : entretiens avec les acteurs du territoire."
    if plan.final == "abandoned":
        if plan.reached != "detected":
            idea.study_notes = "Étude d'opportunité menée avec les partenaires du territoire."
            idea.verdict = (
                Verdict.not_viable.value if plan.reached == "studying" else Verdict.viable.value
            )
        reason = rng.choice(ABANDON_REASONS)
        _move(session, idea, "abandoned", when + span * 0.5, staff, reason)
        idea.abandon_reason = reason
    if plan.final == "launching":
        for position, label in enumerate(
            [
                "Statuts déposés",
                "Local trouvé",
                "Premiers financements obtenus",
                "Recrutement de l'équipe",
            ]
        ):
            session.add(
                Milestone(
                    idea_id=idea.id,  # type: ignore[arg-type]
                    label=label,
                    position=position,
                    done_at=when + timedelta(days=10 * (position + 1)) if position < 2 else None,
                )
            )


def _concierge(
    session: Session,
    staff: User,
    partners: dict[str, Partner],
    themes: dict[str, int],
    territories: dict[str, int],
    now: datetime,
) -> None:
    """SPEC §1: the town of Mérignac spots the need, the fabrique studies it, finds a carrier
    and helps launch an insertion concierge service; a resident's need on the board is linked
    to the idea, so she follows the story."""
    created = now - timedelta(days=210)
    idea = Idea(
        title=CONCIERGE_TITLE,
        slug=slugify(CONCIERGE_TITLE),
        summary=(
            "Les salariés de la zone d'activités manquent de temps pour leurs démarches du "
            "quotidien (pressing, cordonnerie, colis, petites réparations). Une conciergerie "
            "tenue par une entreprise d'insertion leur rend ces services sur place et crée des "
            "emplois pour des personnes éloignées de l'emploi."
        ),
        theme_id=themes.get("services-entreprises"),
        territory_id=territories.get("merignac"),
        origin=Origin.town.value,
        is_public=True,
        created_by_id=staff.id,
        created_at=created,
        updated_at=created,
        stage_changed_at=created,
    )
    idea.summary_html = render_markdown(idea.summary)
    session.add(idea)
    session.flush()
    need = session.scalars(select(Need).where(Need.title == CONCIERGE_NEED)).first()
    if need is not None:
        session.add(IdeaNeed(idea_id=idea.id, need_id=need.id, created_at=created))  # type: ignore[arg-type]
    for slug, link in (
        ("ville-de-merignac", "detected_by"),
        ("ville-de-merignac", "funded_by"),
        ("bordeaux-metropole", "funded_by"),
        ("departement-gironde", "funded_by"),
        ("reseau-insertion", "supported_by"),
    ):
        session.add(IdeaPartner(idea_id=idea.id, partner_id=partners[slug].id, link=link))  # type: ignore[arg-type]
    session.add(
        StageChange(
            idea_id=idea.id,  # type: ignore[arg-type]
            to_stage="detected",
            actor_id=staff.id,
            actor_name=staff.display_name,
            note="Besoin relayé par la Ville de Mérignac, capteur de l'idée.",
            created_at=created,
        )
    )
    story = [
        (
            "studying",
            30,
            "Deux pistes étudiées : un restaurant d'insertion ou une conciergerie d'entreprise.",
        ),
        ("seeking_carrier", 95, "Étude concluante : la conciergerie d'entreprise est retenue."),
        ("launching", 140, "Porteur choisi après plusieurs rencontres."),
        ("launched", 200, "La conciergerie ouvre ses portes au cœur de la zone d'activités."),
    ]
    idea.study_notes = (
        "Comparaison de conciergeries d'entreprise ailleurs en France ; une vingtaine "
        "d'entreprises de la zone interrogées ; modèle mixte : abonnement des employeurs et "
        "prestations payées par les salariés."
    )
    idea.verdict = Verdict.viable.value
    idea.carrier_call = (
        "Une structure d'insertion par l'activité économique, ou une personne prête à en créer "
        "une, pour tenir une conciergerie au service des salariés de la zone."
    )
    idea.carrier_name = "Association Services Partagés (démo)"
    idea.enterprise_name = "Conciergerie solidaire de Mérignac (démo)"
    idea.legal_form = "association"
    idea.jobs_created = JOBS[0]
    idea.launch_date = (created + timedelta(days=200)).date()
    idea.enterprise_website = None
    for stage, days, note in story:
        _move(session, idea, stage, created + timedelta(days=days), staff, note)
    session.commit()


def _open_call(
    session: Session,
    staff: User,
    people: dict[str, User],
    partners: dict[str, Partner],
    themes: dict[str, int],
    territories: dict[str, int],
    now: datetime,
) -> None:
    """An idea looking for its carrier today, with two residents' applications."""
    created = now - timedelta(days=120)
    idea = Idea(
        title=CALL_TITLE,
        slug=slugify(CALL_TITLE),
        summary=(
            "Des salariés viendraient au travail à vélo s'ils pouvaient le faire réparer sans "
            "perdre une demi-journée. Un atelier mobile passerait dans les entreprises et les "
            "quartiers."
        ),
        theme_id=themes.get("mobilite"),
        territory_id=territories.get("pessac"),
        origin=Origin.fabrique.value,
        is_public=True,
        created_by_id=staff.id,
        created_at=created,
        updated_at=created,
        stage_changed_at=created,
        study_notes="Une quinzaine d'employeurs intéressés ; matériel : un vélo cargo équipé.",
        verdict=Verdict.viable.value,
        carrier_call=(
            "Nous cherchons une personne ou une structure passionnée de vélo, prête à créer une "
            "activité d'atelier mobile avec des salariés en insertion."
        ),
    )
    idea.summary_html = render_markdown(idea.summary)
    session.add(idea)
    session.flush()
    session.add(
        IdeaPartner(idea_id=idea.id, partner_id=partners["france-active"].id, link="supported_by")
    )  # type: ignore[arg-type]
    session.add(
        StageChange(
            idea_id=idea.id,  # type: ignore[arg-type]
            to_stage="detected",
            actor_id=staff.id,
            actor_name=staff.display_name,
            created_at=created,
        )
    )
    _move(session, idea, "studying", created + timedelta(days=20), staff)
    _move(
        session,
        idea,
        "seeking_carrier",
        created + timedelta(days=90),
        staff,
        "Appel à porteurs publié.",
    )
    for key, organisation, motivation in (
        ("thomas", "", "Mécanicien vélo depuis dix ans, je veux lancer mon activité et embaucher."),
        (
            "nadia",
            "Association Roue Libre (démo)",
            "Notre atelier associatif veut se développer vers les entreprises.",
        ),
    ):
        session.add(
            CarrierApplication(
                idea_id=idea.id,  # type: ignore[arg-type]
                user_id=people[key].id,  # type: ignore[arg-type]
                motivation=motivation,
                experience="Voir la motivation.",
                organisation=organisation,
                contact=people[key].email,
                created_at=created + timedelta(days=100),
                updated_at=created + timedelta(days=100),
            )
        )
    session.commit()
