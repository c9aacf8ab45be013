"""The documentation of the JSON API: its OpenAPI document (/api/v1/openapi.json) and the
content of its docs page (/api/v1/docs), from one table, ENDPOINTS (what each operation does,
its query parameters, examples), the app's routes (paths and methods) and the shapes of
app.syndication.api_schemas (request bodies and answers): they cannot drift apart. The page's
section on webhooks is app.syndication.webhook_docs.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.openapi.utils import get_openapi

from app.syndication import api_schemas
from app.syndication.api_schemas import MAX_LIMIT, PREFIX
from app.syndication.webhook_docs import webhooks_docs
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

NEED_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "title": "Un service de transport solidaire pour les rendez-vous médicaux",
    "url": "https://bourse.example.org/needs/42-un-service-de-transport-solidaire",
    "excerpt": "Beaucoup de personnes âgées de Mérignac renoncent à des soins faute de…",
    "body_html": "<p>Beaucoup de personnes âgées de Mérignac renoncent à des soins…</p>",
    "theme": {"slug": "mobilite", "name": "Mobilité"},
    "territory": {"slug": "merignac", "name": "Mérignac"},
    "supports": 17,
    "comments": 4,
    "status": "published",
    "idea": {
        "id": 7,
        "url": "https://bourse.example.org/ideas/7-transport-solidaire",
        "stage": "studying",
    },
    "author": {"display_name": "Camille"},
    "created_at": "2026-10-02T09:15:00+00:00",
    "updated_at": "2026-10-03T18:40:12+00:00",
    "demand": {
        "has_need": 9,
        "would_use": 5,
        "could_help": 2,
        "org_could_support": 1,
        "offline": 12,
    },
    "answer": {
        "body_html": "<p>Nous étudions ce besoin avec le CCAS de Mérignac.</p>",
        "at": "2026-10-05T14:30:00+00:00",
    },
}
# The author supports their own need, as « j'ai ce besoin » (app.board.supports).
NEW_NEED_EXAMPLE = {
    **NEED_EXAMPLE,
    "status": "pending",
    "supports": 1,
    "comments": 0,
    "answer": None,
}
NEW_NEED_EXAMPLE["demand"] = dict.fromkeys(NEED_EXAMPLE["demand"], 0) | {"has_need": 1}
IDEA_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "title": "Transport solidaire",
    "url": "https://bourse.example.org/ideas/7-transport-solidaire",
    "summary_html": "<p>Des chauffeurs bénévoles et salariés en insertion…</p>",
    "stage": "studying",
    "stage_label": "À l'étude",
    "theme": {"slug": "mobilite", "name": "Mobilité"},
    "territory": {"slug": "merignac", "name": "Mérignac"},
    "needs": 3,
    "supports": 41,
    "supporters": 36,
    "carrier_call_open": False,
    "enterprise": None,
    "stage_changed_at": "2026-10-20T10:00:00+00:00",
    "created_at": "2026-10-10T08:00:00+00:00",
    "updated_at": "2026-10-20T10:00:00+00:00",
}
PROBLEM_EXAMPLE: dict[str, Any] = {
    "type": "about:blank",
    "title": "Requête invalide",
    "status": 400,
    "detail": "Certains paramètres ne sont pas valables.",
    "errors": {"limit": "La limite doit être un nombre entier de 1 à 100 (par défaut 20)."},
}
CATEGORY_EXAMPLE = {
    "slug": "mobilite",
    "name": "Mobilité",
    "name_en": "Mobility",
    "archived": False,
}

_LIMIT = ("limit", N_("Nombre d'éléments par page, de 1 à 100 (20 par défaut)."), "20")
_CURSOR = (
    "cursor",
    N_("La valeur next_cursor de la page précédente ; absent pour la première page."),
    "",
)
_THEME = ("theme", N_("Slug d'une thématique (voir /api/v1/themes)."), "mobilite")
_TERRITORY = ("territory", N_("Slug d'un territoire (voir /api/v1/territories)."), "merignac")

# (method, path) → what the docs page and the OpenAPI description say about it: summary,
# description, query parameters (name, meaning, example), the shape of the answer (`answer`)
# and of the request body (`request_model`), examples of both.
ENDPOINTS: list[dict[str, Any]] = [
    {
        "method": "GET",
        "path": f"{PREFIX}/needs",
        "answer": api_schemas.NeedPage,
        "summary": N_("Liste des besoins publics"),
        "description": N_(
            "Les besoins visibles sur le site, avec les filtres du tableau. La pagination par "
            "curseur ne répète ni ne saute aucun besoin, même si d'autres sont publiés entre "
            "deux pages."
        ),
        "params": [
            ("sort", N_("Tri : recent (défaut), top, trending ou discussed."), "recent"),
            _THEME,
            _TERRITORY,
            ("status", N_("open (besoins ouverts) ou covered (déjà couverts)."), "open"),
            (
                "answer",
                N_("yes : avec une réponse de la fabrique ; no : encore sans réponse."),
                "yes",
            ),
            (
                "stage",
                N_(
                    "Besoins repris dans une idée publique à cette étape : detected, studying, "
                    "seeking_carrier, launching, launched ou abandoned."
                ),
                "studying",
            ),
            ("q", N_("Recherche plein texte dans les titres et descriptions."), "transport"),
            _LIMIT,
            _CURSOR,
        ],
        "example": {
            "items": [NEED_EXAMPLE],
            "next_cursor": "WyIyMDI2LTEwLTAyVDA5OjE1OjAwKzAwOjAwIiw0Ml0",
        },
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/needs/{{need_id}}",
        "answer": api_schemas.Need,
        "summary": N_("Un besoin public"),
        "description": N_("404 si le besoin n'existe pas ou n'est pas public."),
        "params": [],
        "example": NEED_EXAMPLE,
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/ideas",
        "answer": api_schemas.IdeaPage,
        "summary": N_("Liste des idées publiques"),
        "description": N_(
            "Les idées que la fabrique a rendues publiques, les plus récentes d'abord."
        ),
        "params": [
            (
                "stage",
                N_(
                    "Étape : detected, studying, seeking_carrier, launching, launched ou abandoned."
                ),
                "studying",
            ),
            _THEME,
            _TERRITORY,
            _LIMIT,
            _CURSOR,
        ],
        "example": {"items": [IDEA_EXAMPLE], "next_cursor": None},
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/ideas/{{idea_id}}",
        "answer": api_schemas.Idea,
        "summary": N_("Une idée publique"),
        "description": N_("404 si l'idée n'existe pas ou n'est pas publique."),
        "params": [],
        "example": IDEA_EXAMPLE,
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/themes",
        "answer": api_schemas.CategoryPage,
        "summary": N_("Les thématiques"),
        "description": N_("Toutes les thématiques ; les archivées restent utilisables en filtre."),
        "params": [],
        "example": {"items": [CATEGORY_EXAMPLE], "next_cursor": None},
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/territories",
        "answer": api_schemas.CategoryPage,
        "summary": N_("Les territoires"),
        "description": N_("Tous les territoires ; les archivés restent utilisables en filtre."),
        "params": [],
        "example": {
            "items": [{"slug": "merignac", "name": "Mérignac", "name_en": None, "archived": False}],
            "next_cursor": None,
        },
    },
    {
        "method": "GET",
        "path": f"{PREFIX}/stats",
        "answer": api_schemas.Stats,
        "summary": N_("Les chiffres de l'impact"),
        "description": N_("Les chiffres de la page Impact (filtres year et territory)."),
        "params": [
            ("year", N_("Une année, par exemple 2026."), "2026"),
            _TERRITORY,
        ],
        "example": {
            "ideas": {
                "detected": 110,
                "studied": 54,
                "carrier_found": 14,
                "launched": 10,
                "abandoned": 31,
            },
            "enterprises": 10,
            "jobs": 40,
            "ideas_from_board": 17,
            "board_share": 0.15,
            "needs": 412,
            "supports": 3870,
            "comments": 655,
            "filters": {"year": 2026, "territory": {"slug": "merignac", "name": "Mérignac"}},
        },
    },
    {
        "method": "POST",
        "path": f"{PREFIX}/needs",
        "answer": api_schemas.Need,
        "summary": N_("Proposer un besoin"),
        "description": N_(
            "Mêmes règles que le formulaire : validation, modération (le besoin peut être "
            "« pending » en attendant sa relecture) et limites anti-abus. Un en-tête "
            "Idempotency-Key évite les doublons en cas de nouvel envoi."
        ),
        "auth": True,
        "params": [],
        "request_model": api_schemas.NewNeed,
        "request": {
            "title": "Un service de transport solidaire pour les rendez-vous médicaux",
            "body": "Beaucoup de personnes âgées renoncent à des soins faute de transport.",
            "theme": "mobilite",
            "territory": "merignac",
        },
        "example": NEW_NEED_EXAMPLE,
    },
    {
        "method": "PUT",
        "path": f"{PREFIX}/needs/{{need_id}}/support",
        "answer": api_schemas.SupportAnswer,
        "summary": N_("Soutenir un besoin (« Moi aussi »)"),
        "description": N_("Idempotent : soutenir deux fois compte une seule fois."),
        "auth": True,
        "params": [],
        "example": {"need_id": 42, "supported": True, "supports": 18},
    },
    {
        "method": "DELETE",
        "path": f"{PREFIX}/needs/{{need_id}}/support",
        "answer": api_schemas.SupportAnswer,
        "summary": N_("Retirer son soutien"),
        "description": N_("Idempotent : sans soutien, ne change rien."),
        "auth": True,
        "params": [],
        "example": {"need_id": 42, "supported": False, "supports": 17},
    },
    {
        "method": "POST",
        "path": f"{PREFIX}/needs/{{need_id}}/comments",
        "answer": api_schemas.Comment,
        "summary": N_("Commenter un besoin"),
        "description": N_(
            "Un commentaire, ou une réponse avec parent_id. Il peut être « pending » s'il "
            "attend la modération."
        ),
        "auth": True,
        "params": [],
        "request_model": api_schemas.NewComment,
        "request": {"body": "Je connais une association qui pourrait aider.", "parent_id": None},
        "example": {
            "id": 310,
            "need_id": 42,
            "parent_id": None,
            "url": "https://bourse.example.org/needs/42-un-service-de-transport-solidaire#comment-310",
            "status": "published",
            "body_html": "<p>Je connais une association qui pourrait aider.</p>",
            "author": {"display_name": "Camille"},
            "created_at": "2026-10-04T12:00:00+00:00",
        },
    },
    {
        "method": "POST",
        "path": f"{PREFIX}/reports",
        "answer": api_schemas.ReportAnswer,
        "summary": N_("Signaler un contenu"),
        "description": N_(
            "kind : need, comment ou user ; reason : spam, abusive, personal_data, off_topic "
            "ou other (avec detail)."
        ),
        "auth": True,
        "params": [],
        "request_model": api_schemas.NewReport,
        "request": {"kind": "need", "id": 42, "reason": "spam", "detail": ""},
        "example": {"id": 5, "kind": "need", "target_id": 42, "reason": "spam", "status": "open"},
    },
]


def api_routes(app_routes: list[Any]) -> list[Any]:
    """The /api/v1 routes of the app (included routers flattened), docs routes excepted."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before routers were included lazily
        candidates: list[Any] = list(app_routes)
    else:
        candidates = list(iter_route_contexts(app_routes))
    return [
        r
        for r in candidates
        if (getattr(r, "path", None) or "").startswith(PREFIX + "/")
        and getattr(r, "include_in_schema", True)
    ]


def openapi_document(app_routes: list[Any], base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of /api/v1 from the app's routes: parameters, examples
    and descriptions from ENDPOINTS, the shapes of bodies and answers from api_schemas."""
    schema = get_openapi(
        title=_("Bourse à initiatives — API"),
        version="1.0.0",
        description=_(
            "Les besoins et les idées publics en JSON. Lecture libre (CORS pour toute origine, "
            "ETag, Cache-Control) ; écriture avec un jeton d'accès personnel "
            "(Authorization: Bearer). Erreurs au format application/problem+json."
        ),
        routes=api_routes(app_routes),
        servers=[{"url": base_url}],
    )
    for operations in schema.get("paths", {}).values():
        operations.pop("options", None)  # CORS preflights are not operations
        operations.pop("head", None)  # every GET answers HEAD too
    schema["components"] = {
        # FastAPI's own (its validation errors) are never answered here: the shapes are ours.
        "schemas": api_schemas.component_schemas(),
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": _("Jeton d'accès personnel"),
            }
        },
    }
    problem = {
        "application/problem+json": {
            "schema": api_schemas.ref(api_schemas.Problem),
            "example": PROBLEM_EXAMPLE,
        }
    }
    for endpoint in ENDPOINTS:
        operation = (
            schema.get("paths", {}).get(endpoint["path"], {}).get(endpoint["method"].lower())
        )
        if operation is None:
            continue
        # Through variables: a literal key inside _() would be extracted as a message.
        summary, description = endpoint["summary"], endpoint["description"]
        operation["summary"] = _(summary)
        operation["description"] = _(description)
        parameters = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        for name, text, example in endpoint["params"]:
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": False,
                "description": _(text),
                "schema": (
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
                    if name == "limit"
                    else {"type": "string"}
                ),
            }
            if name == "limit":
                parameter["allowEmptyValue"] = True  # `limit=` is the default, as a form sends
            if example:
                parameter["example"] = int(example) if name == "limit" else example
            parameters.append(parameter)
        for parameter in parameters:
            if parameter.get("in") == "path":
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["example"] = 42
        if parameters:
            operation["parameters"] = parameters
        if "request" in endpoint:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": api_schemas.request_schema(endpoint["request_model"]),
                        "example": endpoint["request"],
                    }
                },
            }
        responses: dict[str, Any] = {}
        ok = "201" if endpoint["method"] == "POST" else "200"
        responses[ok] = {
            "description": _("Réponse"),
            "content": {
                "application/json": {
                    "schema": api_schemas.ref(endpoint["answer"]),
                    "example": endpoint["example"],
                }
            },
        }
        if endpoint["method"] == "GET":
            responses["304"] = {"description": _("Inchangé depuis l'ETag envoyé (If-None-Match)")}
            responses["400"] = {"description": _("Paramètre invalide"), "content": problem}
        else:
            operation["security"] = [{"bearer": []}]
            responses["401"] = {
                "description": _("Jeton absent, invalide ou révoqué"),
                "content": problem,
            }
            responses["400"] = {"description": _("Corps de requête illisible"), "content": problem}
            responses["403"] = {
                "description": _(
                    "Compte bloqué, ou action non permise (signaler son propre contenu…)"
                ),
                "content": problem,
            }
            responses["422"] = {"description": _("Données invalides"), "content": problem}
            responses["429"] = {"description": _("Trop de requêtes"), "content": problem}
        if endpoint["path"].endswith("/support"):
            # A merge, hiding or deletion committed while the request was running.
            responses["409"] = {
                "description": _("Le besoin a changé pendant la requête : relisez-le"),
                "content": problem,
            }
        if "{" in endpoint["path"] or endpoint["path"].endswith("/reports"):
            responses["404"] = {"description": _("Introuvable ou non public"), "content": problem}
        if endpoint["path"].endswith("/reports"):
            responses["409"] = {
                "description": _("Ce contenu a déjà été signalé par ce compte"),
                "content": problem,
            }
        operation["responses"] = responses
    return schema


def example_call(base_url: str, endpoint: dict[str, Any]) -> str:
    """A curl command calling the endpoint with its examples."""
    path = endpoint["path"].replace("{need_id}", "42").replace("{idea_id}", "7")
    url = base_url + path
    query = [f"{name}={example}" for name, _text, example in endpoint["params"] if example][:2]
    if query:
        url += "?" + "&".join(query)
    lines = [f"curl -X {endpoint['method']} '{url}'"]
    if endpoint.get("auth"):
        lines.append("  -H 'Authorization: Bearer bourse_…'")
    if "request" in endpoint:
        lines.append("  -H 'Content-Type: application/json'")
        lines.append("  -d '" + json.dumps(endpoint["request"], ensure_ascii=False) + "'")
    return " \\\n".join(lines)


def docs_context(base_url: str) -> dict[str, Any]:
    """What the docs page (/api/v1/docs) shows, in the reader's language."""
    endpoints = [
        {
            "anchor": f"{e['method'].lower()}-"
            + e["path"].strip("/").replace("/", "-").replace("{", "").replace("}", ""),
            "method": e["method"],
            "path": e["path"],
            "summary": _(e["summary"]),
            "description": _(e["description"]),
            "auth": e.get("auth", False),
            "params": [{"name": n, "text": _(t), "example": x} for n, t, x in e["params"]],
            "call": example_call(base_url, e),
            "response": json.dumps(e["example"], ensure_ascii=False, indent=2)
            if e["example"] is not None
            else "",
        }
        for e in ENDPOINTS
    ]
    return {
        "intro": _(
            "Les besoins et les idées publics de la Bourse à initiatives, en JSON, pour vos "
            "sites et applications. La lecture est libre : aucune clé n'est nécessaire, et "
            "les réponses peuvent être lues depuis n'importe quel site (CORS)."
        ),
        "auth_note": _(
            "Pour écrire (proposer un besoin, soutenir, commenter, signaler), créez un jeton "
            "d'accès personnel depuis votre compte et envoyez-le dans l'en-tête "
            "« Authorization: Bearer <jeton> ». Le cookie de session du navigateur ne suffit pas."
        ),
        "errors_note": _(
            'Les listes répondent {"items": [...], "next_cursor": ...} : passez '
            "next_cursor dans le paramètre cursor pour la page suivante ; null signifie la "
            "dernière page. Les erreurs sont au format application/problem+json, avec un "
            "message par champ dans « errors »."
        ),
        "endpoints": endpoints,
        "webhooks": webhooks_docs(NEED_EXAMPLE),
        "labels": {
            "title": _("API de la Bourse à initiatives"),
            "openapi": _("Description OpenAPI (openapi.json)"),
            "toc": _("Points d'accès"),
            "auth": _("jeton d'accès personnel nécessaire"),
            "params": _("Paramètres"),
            "name": _("Nom"),
            "meaning": _("Signification"),
            "example": _("Exemple"),
            "call": _("Exemple d'appel"),
            "response": _("Exemple de réponse"),
        },
    }
