"""Issue 14's whole story, in one browser test, the way people do it (Chromium, JavaScript on,
French): a resident signs up from the board and posts a need, and a similar one is suggested;
a moderator publishes it; a neighbour supports it (« Moi aussi ») and comments; a moderator
hides it and restores it; staff qualify it, promote it with the similar need into one idea, take
the idea through the opportunity study (viable) and publish a call for carriers; the neighbour
applies; staff select the carrier and record the enterprise; the need's page says « Entreprise
créée »; a town's website, on another origin, embeds the list with /embed.js.

Every step leaves a screenshot in test-results/whole-story/NN-step.png. With
BOURSE_DOCS_SCREENSHOTS=1 (`make screenshots`), the test also writes the README's pictures into
docs/ at 1280×800.

The people with a role (moderator, staff) and the neighbourhood around the story (other needs
and ideas, so the pages look like a fabrique's) are written in the database by the fixture;
everything the story is about is done through the pages.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from app import PROJECT_ROOT
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.board.comments import post_comment
from app.board.models import Need
from app.board.service import NeedInput, create_need
from app.board.supports import add_support
from app.core.db import make_engine, utcnow
from app.core.settings import ModerationMode
from app.pipeline import service as pipeline
from app.pipeline.models import Idea
from tests.e2e.conftest import seed_categories
from tests.e2e.test_partner_embed_journey import partner_site

pytestmark = pytest.mark.e2e

PASSWORD = "mot-de-passe-histoire"
SHOTS = PROJECT_ROOT / "test-results" / "whole-story"
DOCS = PROJECT_ROOT / "docs"
VIEWPORT = {"width": 1280, "height": 800}
# caret="initial": hiding the text caret (Playwright's default) injects a <style> element, which
# the site's CSP refuses with a console error; the test counts those as the product's errors.
SCREENSHOT: dict[str, Any] = {"full_page": True, "caret": "initial"}

OUR_NEED = "Un garage solidaire pour réparer sa voiture à petit prix"
SIMILAR_NEED = "Un garage solidaire où apprendre à réparer sa voiture soi-même"
IDEA = "Garage solidaire de Mérignac et Pessac"
ENTERPRISE = "Le Garage des Jalles"

# The neighbourhood: published needs by residents of the area, (title, body, theme, territory,
# days ago, supporters). The similar need comes first.
NEIGHBOURHOOD = [
    (
        SIMILAR_NEED,
        "Beaucoup d'entre nous savent changer une ampoule, pas des plaquettes de frein. Un "
        "atelier avec des outils, un pont et un mécanicien pour conseiller, ouvert le samedi, "
        "permettrait de garder sa voiture en état sans payer le prix d'un garage.",
        "mobilite",
        "pessac",
        12,
        3,
    ),
    (
        "Une épicerie solidaire ouverte le samedi à Bègles",
        "L'épicerie sociale du quartier ferme le vendredi soir. Les familles qui travaillent en "
        "semaine n'y ont jamais accès. Une ouverture le samedi matin, même courte, changerait "
        "beaucoup de choses.",
        "alimentation",
        "begles",
        20,
        6,
    ),
    (
        "Une crèche aux horaires décalés pour les parents qui commencent à 5 h",
        "Aides-soignantes, agents d'entretien, caristes : nous commençons avant l'ouverture "
        "des crèches. Il faudrait quelques places dès 5 h du matin près de la zone d'activité.",
        "petite-enfance-famille",
        "merignac",
        9,
        5,
    ),
    (
        "Des petits travaux à domicile pour les personnes âgées isolées",
        "Changer une ampoule, fixer une barre d'appui, monter un meuble : ma mère de 84 ans ne "
        "trouve personne pour ces petits travaux, et les artisans ne se déplacent pas pour si "
        "peu.",
        "vieillissement",
        "blanquefort",
        30,
        4,
    ),
    (
        "Un transport accompagné vers les rendez-vous médicaux",
        "Sans voiture, aller à une consultation à l'hôpital Haut-Lévêque prend une demi-journée "
        "en bus. Un service de transport accompagné, à prix solidaire, manque à Mérignac.",
        "sante-handicap",
        "merignac",
        5,
        2,
    ),
    (
        "Un atelier de réparation de vélos près de la gare de Pessac",
        "Beaucoup de salariés viennent à vélo jusqu'à la gare. Une crevaison, un frein qui lâche "
        "et c'est la journée qui commence mal : un atelier ouvert tôt rendrait service à tous.",
        "mobilite",
        "pessac",
        45,
        3,
    ),
    (
        "Un lieu pour faire ses devoirs après le collège à Floirac",
        "Beaucoup de collégiens rentrent seuls et n'ont pas de calme à la maison. Une salle "
        "ouverte de 17 h à 19 h, avec deux ou trois adultes pour aider, serait précieuse.",
        "petite-enfance-famille",
        "floirac",
        3,
        1,
    ),
]

# The ideas already in the pipeline around the story: (title, origin, stage, the need it comes
# from or None, enterprise (name, legal form, jobs) when launched).
PIPELINE = [
    ("Conciergerie d'insertion des zones d'activité", "town", "launched", None,
     ("Club services 33", "scic", 12)),
    ("Épicerie solidaire du samedi", "resident", "studying",
     "Une épicerie solidaire ouverte le samedi à Bègles", None),
    ("Petits travaux à domicile pour les aînés", "resident", "seeking_carrier",
     "Des petits travaux à domicile pour les personnes âgées isolées", None),
    ("Crèche aux horaires décalés", "resident", "detected",
     "Une crèche aux horaires décalés pour les parents qui commencent à 5 h", None),
    ("Atelier vélo de la gare", "resident", "launching",
     "Un atelier de réparation de vélos près de la gare de Pessac", None),
    ("Recyclerie de jouets et de matériel de puériculture", "association", "detected", None, None),
    ("Blanchisserie d'insertion pour les Ehpad", "company", "launched", None,
     ("Linge & Lien", "sas_esus", 7)),
]  # fmt: skip

NEIGHBOURS = [
    ("Amel B.", "amel"),
    ("Jean-Pierre L.", "jean-pierre"),
    ("Nadia K.", "nadia"),
    ("Thomas R.", "thomas"),
    ("Odile V.", "odile"),
    ("Mamadou S.", "mamadou"),
]


@dataclass
class World:
    moderator: str
    staff: str
    neighbour: str
    newcomer: str
    needs: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(live_server) -> World:  # type: ignore[no-untyped-def]
    """The people with a role, a neighbour with an account, and the area's other needs and
    ideas. The newcomer has no account yet: she signs up in the story."""
    engine = make_engine(live_server.settings.sqlalchemy_url)
    now = utcnow()
    with Session(engine) as session:
        session.info["settings"] = live_server.settings
        seed_categories(session)

        def person(email: str, name: str, role: Role = Role.resident) -> User:
            return accounts.create_user(
                session, email, display_name=name, password=PASSWORD, role=role, verified=True
            )

        moderator = person("paul.moderation@histoire.example", "Paul (modération)", Role.moderator)
        staff = person("claire.fabrique@histoire.example", "Claire (la fabrique)", Role.staff)
        neighbour = person("karim.d@histoire.example", "Karim D.")
        people = [person(f"{key}@histoire.example", name) for name, key in NEIGHBOURS]

        needs: dict[str, int] = {}
        for n, (title, body, theme, territory, days, supporters) in enumerate(NEIGHBOURHOOD):
            author = people[n % len(people)]
            need = create_need(
                session,
                author,
                NeedInput(title=title, body=body, theme=theme, territory=territory),
                mode=ModerationMode.post,
                rate_limits=False,
            )
            for other in [p for p in people if p is not author][:supporters]:
                add_support(session, need, other)
            # Posted some days ago, so the board reads like a living one.
            need.created_at = need.updated_at = now - timedelta(days=days, hours=n)
            session.add(need)
            session.commit()
            needs[title] = need.id  # type: ignore[assignment]
        post_comment(
            session,
            needs[SIMILAR_NEED],
            people[2],
            "Bonne idée ! Mon fils saurait aider le samedi, il est en CAP mécanique.",
        )
        for title, origin, stage, need_title, enterprise in PIPELINE:
            _idea_at_stage(
                session,
                staff,
                title,
                origin,
                stage,
                [needs[need_title]] if need_title else [],
                enterprise,
            )
        world = World(
            moderator=moderator.email,
            staff=staff.email,
            neighbour=neighbour.email,
            newcomer="amina.k@histoire.example",
            needs=needs,
        )
    engine.dispose()
    return world


def _idea_at_stage(  # type: ignore[no-untyped-def]
    session: Session, staff: User, title, origin, stage, need_ids, enterprise
) -> None:
    """An idea taken to `stage`: each stage's information written straight on the idea (this
    is scenery; the story fills the same fields through the page), each move by the service
    the page calls, so the timeline and the figures are the real ones."""
    idea = pipeline.create_idea(
        session,
        staff,
        pipeline.IdeaInput(title=title, origin=origin, is_public=True),
        need_ids=need_ids,
    )
    idea_id = idea.id
    ladder = ["detected", "studying", "seeking_carrier", "launching", "launched"]
    for step in ladder[1 : ladder.index(stage) + 1]:
        idea = session.get(Idea, idea_id)  # type: ignore[assignment]
        if step == "seeking_carrier":
            idea.study_notes = "Marché confirmé par l'étude d'opportunité."
            idea.verdict = "viable"
            idea.carrier_call = "Une structure de l'insertion prête à porter le projet."
        elif step == "launching":
            idea.carrier_name = "Association Rebonds"
        elif step == "launched":
            idea.enterprise_name, idea.legal_form, idea.jobs_created = enterprise
            idea.launch_date = date.today() - timedelta(days=90)
        session.add(idea)
        session.commit()
        pipeline.move_idea(session, staff, idea_id, step, seen_stage=idea.stage)  # type: ignore[arg-type]
    # At its stage for some weeks already, as ideas are (the board says « depuis … »).
    idea = session.get(Idea, idea_id)  # type: ignore[assignment]
    idea.stage_changed_at = utcnow() - timedelta(days=9 * (len(title) % 7) + 4)
    session.add(idea)
    session.commit()


# --- the browser side ------------------------------------------------------------------------


class Story:
    """Numbered screenshots of the story's steps (test artefacts), and the README's pictures
    when BOURSE_DOCS_SCREENSHOTS=1."""

    def __init__(self) -> None:
        self.step = 0
        self.docs = os.environ.get("BOURSE_DOCS_SCREENSHOTS") == "1"
        shutil.rmtree(SHOTS, ignore_errors=True)
        SHOTS.mkdir(parents=True)

    def failed(self, pages: dict[str, Any]) -> None:
        """Where each person's browser was when a step failed."""
        for who, page in pages.items():
            if not page.is_closed():
                page.screenshot(path=SHOTS / f"failed-{who}.png", **SCREENSHOT)

    def shot(self, page: Any, name: str) -> None:
        self.step += 1
        page.screenshot(path=SHOTS / f"{self.step:02d}-{name}.png", **SCREENSHOT)

    def picture(self, page: Any, name: str, start: str = "") -> None:
        """docs/<name>.png: the window (1280×800), scrolled down to `start` when given so the
        picture shows what the page is for rather than its header."""
        if self.docs:
            DOCS.mkdir(exist_ok=True)
            if start:
                page.locator(start).first.evaluate(
                    "el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 16)"
                )
            page.screenshot(path=DOCS / f"{name}.png", **{**SCREENSHOT, "full_page": False})


def _open(browser: Any, errors: list[str]) -> Any:
    """A person's own browser: French, desktop-sized, script and CSP errors collected."""
    context = browser.new_context(locale="fr-FR", viewport=VIEWPORT)
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Failed to load resource" not in m.text
            and errors.append(f"{page.url}: {m.text}")
        ),
    )
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    return page


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/account/login")
    page.get_by_label("Adresse e-mail").first.fill(email)
    page.locator("#f-password").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.get_by_role("link", name="Mon compte").wait_for()


def _unfold(page: Any, section: str) -> None:
    """Opens a folded section of the staff idea page (a `<details>`), as a person clicks its
    heading; an open one (or a page without folding) is left as it is."""
    folded = page.locator(f"section#{section} > details:not([open])")
    if folded.count():
        folded.locator("summary").first.click()


def _mobility_needs(page: Any, base: str) -> None:
    """The qualification lists, filtered on the theme « Mobilité » as staff narrow them (the
    lists are paged, and other browser tests of the session add needs to them)."""
    page.goto(base + "/moderation/qualification")
    page.get_by_label("Thématique").select_option(label="Mobilité")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"theme=mobilite"))


def _move_idea(page: Any, stage: str) -> None:
    """« Changer d'étape » on the staff idea page, to the stage named `stage`."""
    page.get_by_label("Nouvelle étape", exact=True).select_option(label=stage)
    page.get_by_role("button", name="Changer d'étape").click()
    page.get_by_text("L'idée a changé d'étape.").wait_for()
    page.locator("#summary-title + .idea-facts .stage-badge", has_text=stage).wait_for()


def test_the_whole_story_from_a_need_to_an_enterprise(browser, live_server, world: World):  # type: ignore[no-untyped-def]
    story = Story()
    pages: dict[str, Any] = {}
    errors: list[str] = []
    try:
        _tell(story, pages, errors, browser, live_server, world)
    except Exception:
        story.failed(pages)
        raise
    finally:
        for page in pages.values():
            page.context.close()
    assert not errors, "\n".join(errors)
    _check_the_record(live_server, world)


def _tell(
    story: Story, pages: dict[str, Any], errors: list[str], browser, live_server, world: World
) -> None:  # type: ignore[no-untyped-def]
    def person(who: str) -> Any:
        pages[who] = _open(browser, errors)
        return pages[who]

    base = live_server.url

    # 1. Amina finds the board, wants to post, creates her account on the way.
    amina = person("amina")
    amina.goto(base + "/")
    amina.get_by_role("heading", level=1).first.wait_for()
    story.shot(amina, "board")
    amina.get_by_role("link", name="Proposer un besoin").first.click()
    amina.get_by_role("link", name="Créer un compte").last.click()
    amina.get_by_role("heading", name="Créer un compte").wait_for()
    amina.get_by_label("Adresse e-mail").fill(world.newcomer)
    amina.get_by_label("Nom affiché").fill("Amina K.")
    amina.get_by_label("Mot de passe (facultatif)").fill(PASSWORD)
    story.shot(amina, "signup")
    amina.get_by_role("button", name="Créer mon compte").click()
    amina.get_by_role("heading", name="Vérifiez vos e-mails").wait_for()
    assert amina.get_by_text(world.newcomer).first.is_visible()
    story.shot(amina, "check-email")

    # The confirmation link from the e-mail brings her back to the form she wanted.
    amina.goto(live_server.last_link(world.newcomer, "/account/verify"))
    amina.get_by_role("button", name="Confirmer mon adresse").click()
    amina.get_by_role("heading", name="Proposer un besoin").wait_for()

    # 2. She types her need; a similar one is suggested while she types.
    amina.get_by_label("Titre").press_sequentially(OUR_NEED, delay=5)
    amina.locator("#similar").get_by_role("link", name=SIMILAR_NEED).wait_for()
    amina.get_by_label("Description").fill(
        "Quand la voiture tombe en panne, c'est le travail qui est menacé : beaucoup d'entre "
        "nous n'ont pas les moyens d'un garage classique. Un **garage solidaire**, avec des "
        "tarifs selon les revenus, aiderait les personnes en insertion à garder leur emploi."
    )
    amina.get_by_label("Thématique (conseillé)").select_option(label="Mobilité")
    amina.get_by_label("Territoire (conseillé)").select_option(label="Mérignac")
    story.shot(amina, "need-form-similar")
    amina.get_by_role("button", name="Publier le besoin").click()
    amina.get_by_role("heading", name=OUR_NEED).wait_for()
    # An account's first need waits for a moderator (moderation mode « first-post »).
    amina.get_by_text("En attente de validation").first.wait_for()
    our_need_url = amina.url.split("?")[0]
    story.shot(amina, "need-pending")

    # 3. Paul, moderator, publishes it from the queue.
    paul = person("paul")
    _log_in(paul, base, world.moderator)
    paul.get_by_role("link", name="Modération").first.click()
    paul.get_by_role("link", name="Ouvrir la file de modération").click()
    item = paul.locator("[data-queue-item]", has_text=OUR_NEED)
    item_id = item.get_attribute("id")
    item.get_by_role("button", name="Valider", exact=True).click()
    # The item gives way to a line saying it is done (htmx swaps it in place).
    paul.locator(f"#{item_id}[data-queue-done]").wait_for()
    story.shot(paul, "queue-approved")

    # 4. Karim, a neighbour, finds it on the board, supports it and comments.
    karim = person("karim")
    _log_in(karim, base, world.neighbour)
    karim.goto(base + "/")
    karim.get_by_role("link", name=OUR_NEED).click()
    karim.get_by_role("heading", name=OUR_NEED).wait_for()
    karim.get_by_role("button", name=re.compile("Moi aussi")).click()
    karim.get_by_role("button", name=re.compile("Moi aussi")).and_(
        karim.locator("[aria-pressed=true]")
    ).wait_for()
    assert karim.get_by_text("2 soutiens").first.is_visible()
    karim.get_by_label("Votre commentaire").fill(
        "Pareil pour moi : ma voiture est au garage depuis trois semaines, faute de pouvoir "
        "payer la réparation. Je peux aider, j'ai été mécanicien."
    )
    karim.get_by_role("button", name="Publier le commentaire").click()
    karim.get_by_text("j'ai été mécanicien").wait_for()
    story.shot(karim, "supported-and-commented")

    # 5. Paul hides it, taking it for a duplicate of the Pessac one, then restores it.
    paul.goto(our_need_url)
    box = paul.get_by_role("region", name="Modération", exact=True)
    box.get_by_label("Motif (obligatoire pour refuser)").select_option(
        label="Doublon d'un besoin déjà publié"
    )
    box.get_by_label("Précision pour l'auteur·e").fill("Un besoin très proche existe à Pessac.")
    box.get_by_role("button", name="Masquer", exact=True).click()
    paul.get_by_text("Ce besoin est masqué").wait_for()
    story.shot(paul, "need-hidden")
    # Amina, the author, is the one who is told why.
    amina.goto(our_need_url)
    amina.get_by_text("Motif : Doublon d'un besoin déjà publié").wait_for()
    box.get_by_role("button", name="Rétablir").click()
    box.get_by_role("button", name="Masquer", exact=True).wait_for()
    assert paul.get_by_text("Ce besoin est masqué").count() == 0
    story.shot(paul, "need-restored")

    # 6. Claire, at the fabrique, qualifies both garage needs and promotes them into one idea.
    claire = person("claire")
    _log_in(claire, base, world.staff)
    for title in (SIMILAR_NEED, OUR_NEED):
        _mobility_needs(claire, base)
        claire.get_by_role("link", name=title, exact=True).click()
        claire.get_by_role("heading", name="Qualifier le besoin").wait_for()
        claire.get_by_label("Étiquettes").fill("garage solidaire, insertion")
        claire.get_by_label("Note interne").fill("À rapprocher de l'autre besoin de garage.")
        claire.get_by_label("Qualifié", exact=True).check()
        claire.get_by_role("button", name="Enregistrer la qualification").click()
        claire.get_by_text("Qualification enregistrée.").wait_for()
    story.shot(claire, "qualified")
    _mobility_needs(claire, base)
    for title in (OUR_NEED, SIMILAR_NEED):
        claire.get_by_label(f"Choisir « {title} »").check()
    story.shot(claire, "qualification-lists")
    claire.get_by_role("button", name="Promouvoir la sélection en une idée").click()
    claire.get_by_role("heading", name="Promouvoir en idée").wait_for()
    claire.get_by_label("Titre").fill(IDEA)
    claire.get_by_label("Résumé").fill(
        "Un garage associatif, à tarifs solidaires, qui répare les voitures des personnes en "
        "insertion et apprend à chacun à entretenir la sienne."
    )
    claire.get_by_label("Publique").check()
    story.shot(claire, "promote")
    claire.get_by_role("button", name="Créer l'idée à partir de ces besoins").click()
    claire.get_by_text("Idée créée.").wait_for()
    idea_staff_url = claire.url.split("?")[0]
    story.shot(claire, "idea-created")

    # 7. The opportunity study: viable; then the call for carriers is published.
    _move_idea(claire, "À l'étude")
    _unfold(claire, "study")
    claire.get_by_label("Notes d'étude").fill(
        "Environ 1 200 ménages sans solution de réparation abordable sur les deux communes ; "
        "deux garages d'insertion existent à Bordeaux, aucun à l'ouest de la rocade."
    )
    claire.get_by_label("Verdict").select_option(label="Viable")
    claire.get_by_role("button", name="Enregistrer l'étude").click()
    claire.get_by_text("Étude d'opportunité enregistrée.").wait_for()
    _unfold(claire, "call")
    claire.get_by_label("Appel à porteurs : le profil recherché").fill(
        "Nous cherchons une structure de l'insertion par l'activité économique, ou un garage "
        "prêt à ouvrir un atelier solidaire, pour porter le projet."
    )
    claire.get_by_role("button", name=re.compile("^Enregistrer l'appel")).click()
    claire.get_by_text("Appel à porteurs enregistré.").wait_for()
    _move_idea(claire, "Recherche de porteur")
    story.shot(claire, "call-for-carriers")

    # 8. Karim sees the call from the need's page and applies.
    karim.goto(our_need_url)
    karim.get_by_role("link", name="Idée : Recherche de porteur").click()
    karim.get_by_role("heading", name=IDEA).wait_for()
    story.shot(karim, "public-idea-call")
    karim.get_by_role("link", name="Je veux porter ce projet").click()
    karim.get_by_label("Votre motivation").fill(
        "Mécanicien pendant quinze ans, je veux transmettre mon métier et aider les habitants "
        "du quartier à garder leur voiture, donc leur travail."
    )
    karim.get_by_label("Votre structure (facultatif)").fill("Association Roues Libres")
    karim.get_by_label("Comment vous joindre").fill("06 12 34 56 78, en semaine après 17 h")
    karim.get_by_role("button", name="Envoyer ma candidature").click()
    karim.get_by_role("heading", name="Votre candidature").wait_for()
    story.shot(karim, "applied")

    # 9. Claire selects him, the launch begins, the enterprise is recorded.
    claire.goto(idea_staff_url)
    _unfold(claire, "call")
    claire.get_by_role("link", name="Examiner les candidatures").click()
    claire.get_by_role("heading", name="Candidatures de porteurs").wait_for()
    claire.get_by_label("Statut").select_option(label="Retenue")
    claire.get_by_role("button", name="Enregistrer").click()
    claire.get_by_text("porteur retenu : Association Roues Libres").wait_for()
    story.shot(claire, "carrier-selected")
    claire.get_by_role("link", name=IDEA).click()
    _move_idea(claire, "En lancement")
    _unfold(claire, "enterprise")
    claire.get_by_label("Nom de l'entreprise").fill(ENTERPRISE)
    claire.get_by_label("Forme juridique").select_option(label="SCIC")
    claire.get_by_label("Emplois créés").fill("4")
    claire.get_by_label("Date de création").fill(date.today().isoformat())
    claire.get_by_role("button", name="Enregistrer l'entreprise").click()
    claire.get_by_text("Entreprise enregistrée.").wait_for()
    _move_idea(claire, "Entreprise créée")
    story.shot(claire, "enterprise-created")

    # 10. The need's page, seen by anyone, says the enterprise exists.
    visitor = person("visitor")
    visitor.goto(our_need_url)
    visitor.get_by_role("link", name="Idée : Entreprise créée").wait_for()
    story.shot(visitor, "need-enterprise-created")

    # 11. The town of Mérignac builds the widget and pastes it on its own website.
    visitor.goto(base + "/partners/embed")
    visitor.get_by_label("Territoire").select_option(label="Mérignac")
    visitor.wait_for_function(
        "() => document.getElementById('embed-preview-frame').src.includes('territory=merignac')"
    )
    code = visitor.get_by_label(re.compile("Code à coller")).input_value()
    story.shot(visitor, "embed-builder")
    with partner_site(_town_page(code)) as site:
        assert not site.startswith(base)
        town = person("town")
        town.goto(site + "/vie-locale/besoins")
        frame = town.frame_locator("iframe")
        frame.get_by_role("link", name=OUR_NEED).wait_for()
        town.wait_for_function("document.querySelector('iframe').style.height !== ''")
        story.shot(town, "partner-site")
        story.picture(town, "embed")

    # The README's pictures, seen by a visitor and by the team.
    visitor.goto(base + "/")
    visitor.get_by_role("link", name=OUR_NEED).wait_for()
    story.picture(visitor, "board", start=".board-filters")
    visitor.goto(our_need_url)
    visitor.get_by_role("heading", name=OUR_NEED).wait_for()
    story.picture(visitor, "need")
    visitor.goto(base + "/impact")
    visitor.get_by_role("heading", name="L'impact de la fabrique").wait_for()
    story.shot(visitor, "impact")
    story.picture(visitor, "impact", start="#key-title")
    claire.goto(base + "/moderation/ideas")
    claire.locator(f"#idea-{idea_staff_url.rsplit('/', 1)[1]}").wait_for()
    story.shot(claire, "staff-idea-board")
    story.picture(claire, "ideas-board", start=".pipeline-jump")


def _town_page(code: str) -> bytes:
    """The town's own page, with the code copied from /partners/embed pasted in."""
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<title>Vie locale · Ville de Mérignac</title><style>"
        "body{margin:0;font-family:Georgia,serif;background:#f4f1ea;color:#222}"
        "header{background:#0b4f6c;color:#fff;padding:1rem 2rem;font:bold 1.4rem sans-serif}"
        "nav{background:#e3ddd0;padding:.5rem 2rem;font:0.95rem sans-serif}"
        "main{max-width:46rem;margin:1.5rem auto;padding:0 1rem}"
        "</style></head><body><header>Ville de Mérignac</header>"
        "<nav>Accueil › Vie locale › Besoins des habitants</nav><main>"
        "<h1>Ce qui manque près de chez vous</h1>"
        "<p>Les besoins que les Mérignacais ont déposés sur la Bourse à initiatives de la "
        "fabrique. Vous aussi, dites « moi aussi » ou proposez le vôtre.</p>"
        + code
        + "<p>Une question ? La maison des associations vous répond au 05 56 00 00 00.</p>"
        "</main></body></html>"
    ).encode()


def _check_the_record(live_server: Any, world: World) -> None:
    """What the pages did is in the database: one idea from both needs, launched."""
    from sqlmodel import select

    from app.pipeline.models import CarrierApplication, Idea, IdeaNeed

    engine = make_engine(live_server.settings.sqlalchemy_url)
    with Session(engine) as session:
        idea = session.exec(select(Idea).where(Idea.title == IDEA)).one()
        assert idea.stage == "launched" and idea.enterprise_name == ENTERPRISE
        assert idea.carrier_name == "Association Roues Libres"
        linked = set(session.exec(select(IdeaNeed.need_id).where(IdeaNeed.idea_id == idea.id)))
        ours = session.exec(select(Need).where(Need.title == OUR_NEED)).one()
        assert linked == {ours.id, world.needs[SIMILAR_NEED]}
        assert ours.status == "published" and ours.supports_count == 2
        applied = session.exec(
            select(CarrierApplication).where(CarrierApplication.idea_id == idea.id)
        ).one()
        assert applied.status == "selected"
    engine.dispose()


def test_docs_pictures_are_small_enough() -> None:
    """The README's pictures stay light (they are committed)."""
    for picture in sorted(Path(DOCS).glob("*.png")):
        assert picture.stat().st_size < 256_000, picture.name
