"""`bourse seed-demo`: idempotent demo content (SPEC §1 and §3).

Running it twice changes nothing: rows are looked up by their natural key (slug, e-mail) first.
The demo accounts have known passwords so a newcomer can try every role at once; outside
development their passwords are random and not printed.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.board.models import Territory, Theme
from app.settings import Env, Settings

THEMES = [
    ("emploi-insertion", "Emploi et insertion", "Employment and integration"),
    ("mobilite", "Mobilité", "Mobility"),
    ("alimentation", "Alimentation", "Food"),
    ("logement", "Logement", "Housing"),
    ("sante-handicap", "Santé et handicap", "Health and disability"),
    ("vieillissement", "Vieillissement", "Ageing"),
    ("petite-enfance-famille", "Petite enfance et famille", "Early childhood and family"),
    ("culture-loisirs", "Culture et loisirs", "Culture and leisure"),
    ("environnement", "Environnement", "Environment"),
    ("services-entreprises", "Services aux entreprises", "Services to businesses"),
]

TERRITORIES = [
    ("bordeaux", "Bordeaux"),
    ("merignac", "Mérignac"),
    ("pessac", "Pessac"),
    ("begles", "Bègles"),
    ("blanquefort", "Blanquefort"),
    ("talence", "Talence"),
    ("floirac", "Floirac"),
    ("libourne", "Libournais"),
]

DEMO_ACCOUNTS = [
    ("admin@demo.bourse.example", "Administratrice démo", Role.admin, "demo-admin-2026"),
    ("equipe@demo.bourse.example", "Chargée de mission démo", Role.staff, "demo-equipe-2026"),
    ("moderation@demo.bourse.example", "Modérateur démo", Role.moderator, "demo-moderation-2026"),
    (
        "habitante@demo.bourse.example",
        "Habitante de Mérignac",
        Role.resident,
        "demo-habitante-2026",
    ),
]


def seed_demo(session: Session, settings: Settings) -> list[str]:
    report: list[str] = []
    for position, (slug, name, name_en) in enumerate(THEMES):
        if session.exec(select(Theme).where(Theme.slug == slug)).first() is None:
            session.add(Theme(slug=slug, name=name, name_en=name_en, position=position))
    for position, (slug, name) in enumerate(TERRITORIES):
        if session.exec(select(Territory).where(Territory.slug == slug)).first() is None:
            session.add(Territory(slug=slug, name=name, name_en=name, position=position))
    session.commit()
    report.append(f"Thématiques : {len(THEMES)}, territoires : {len(TERRITORIES)}.")

    show_passwords = settings.env == Env.development
    for email, name, role, demo_password in DEMO_ACCOUNTS:
        if accounts.user_by_email(session, email) is None:
            password = demo_password if show_passwords else secrets.token_urlsafe(24)
            accounts.create_user(
                session,
                email,
                display_name=name,
                password=password,
                role=role,
                verified=True,
                locale="fr",
            )
        if show_passwords and role in (Role.admin, Role.staff):
            report.append(f"Compte démo {role.value} : {email} / {demo_password}")
    return report
