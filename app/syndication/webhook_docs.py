"""The webhooks' part of the API docs page (/api/v1/docs): the events a partner's site can be
called for, an example call, and how to check its signature (Python and PHP snippets, the
Python one run by tests/syndication/test_webhook_docs.py). The payloads reuse the API's JSON
shapes (app.syndication.serialize), so the example need is the API docs' own.

Split from app.syndication.api_docs, which calls it for the docs page.
"""

from __future__ import annotations

import json
from typing import Any

from app.syndication import webhooks
from app.web.i18n import gettext as _

_VERIFY_PYTHON = """import hashlib, hmac, time

def signature_is_valid(secret: str, header: str, body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    if abs(time.time() - int(parts["t"])) > 300:  # refuse replays
        return False
    signed = parts["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])"""

_VERIFY_PHP = """<?php
// WordPress ou PHP : $body = file_get_contents('php://input');
function bourse_signature_is_valid(string $secret, string $header, string $body): bool {
    parse_str(str_replace(',', '&', $header), $parts);
    if (abs(time() - (int) $parts['t']) > 300) return false;
    $expected = hash_hmac('sha256', $parts['t'] . '.' . $body, $secret);
    return hash_equals($expected, $parts['v1'] ?? '');
}"""


def webhooks_docs(need_example: dict[str, Any]) -> dict[str, Any]:
    """The docs page's section on webhooks: events, an example call (carrying
    `need_example`, the API's example need), checking signatures."""
    example = {
        "id": "5f0c6a9e-2b7e-4d55-9a55-0d1c2f6b8e41",
        "event": "need.published",
        "created_at": "2026-10-02T09:15:00.000000+00:00",
        "site": "https://bourse.example.org",
        "data": {"need": need_example},
    }
    request_lines = [
        "POST https://partenaire.example/bourse-webhook",
        "Content-Type: application/json; charset=utf-8",
        f"{webhooks.EVENT_HEADER}: need.published",
        f"{webhooks.DELIVERY_HEADER}: 5f0c6a9e-2b7e-4d55-9a55-0d1c2f6b8e41",
        f"{webhooks.SIGNATURE_HEADER}: t=1790000000,v1=3b9f…",
        "",
        json.dumps(example, ensure_ascii=False, indent=2),
    ]
    return {
        "title": _("Webhooks : être prévenu des changements"),
        "intro": _(
            "L'équipe de la fabrique peut enregistrer l'adresse HTTPS de votre site pour qu'il "
            "reçoive un appel POST en JSON à chaque événement choisi, plutôt que d'interroger "
            "l'API. Demandez-le à l'équipe : elle vous donnera le secret qui signe les appels."
        ),
        "events_caption": _("Événements"),
        "events": [
            ("need.published", _("Un besoin vient d'être publié (data.need).")),
            (
                "need.status_changed",
                _(
                    "Le statut public d'un besoin a changé (data.need, data.previous_status) : "
                    "déjà couvert, masqué, fusionné, supprimé…"
                ),
            ),
            (
                "idea.stage_changed",
                _(
                    "Une idée publique est passée à une autre étape (data.idea, "
                    "data.previous_stage)."
                ),
            ),
            (
                "idea.published",
                _(
                    "Une idée est devenue publique : créée publique ou rendue publique par "
                    "l'équipe (data.idea)."
                ),
            ),
            (
                "idea.unpublished",
                _(
                    "Une idée publique a été retirée du public : retirez-la aussi "
                    "(data.idea ne contient que son identifiant)."
                ),
            ),
            ("comment.published", _("Un commentaire a été publié (data.comment, data.need).")),
            ("ping", _("Un essai envoyé depuis la page de l'équipe.")),
        ],
        "request_title": _("Exemple d'appel reçu"),
        "request": "\n".join(request_lines),
        "privacy": _(
            "Les données ont la même forme que dans l'API. Rien de caché n'est envoyé : un "
            "besoin qui n'est plus public n'est décrit que par son identifiant et son statut, "
            "une idée retirée du public par son seul identifiant, et les idées non publiques "
            "ne donnent lieu à aucun autre appel."
        ),
        "verify_title": _("Vérifier la signature"),
        "verify": _(
            "L'en-tête {header} contient t (l'heure d'envoi, en secondes Unix) et v1, le "
            "HMAC-SHA256 en hexadécimal, avec votre secret, du texte « t.corps » où corps est "
            "le corps brut reçu. Refusez les appels dont la signature ne correspond pas ou dont "
            "t a plus de cinq minutes. L'identifiant {delivery} reste le même à chaque nouvel "
            "essai : il permet d'ignorer un événement déjà traité."
        ).format(header=webhooks.SIGNATURE_HEADER, delivery=webhooks.DELIVERY_HEADER),
        "python": _VERIFY_PYTHON,
        "php": _VERIFY_PHP,
        "retries": _(
            "Répondez par un code 2xx dans les 10 secondes. Sinon (erreur, délai dépassé, "
            "redirection), l'envoi est retenté plus tard, à intervalles croissants : dix "
            "essais en tout, sur environ huit heures et demie."
        ),
    }
