"""The account notices a page shows after a redirect (`?notice=…`): a fixed list, so the URL
cannot inject text. The board's pages show them too (after signing in, deleting a need)."""

from __future__ import annotations

from starlette.requests import Request

from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

NOTICES = {
    "verified": N_("Votre adresse e-mail est confirmée. Bienvenue !"),
    "verified_sign_in": N_(
        "Votre adresse e-mail est confirmée. Connectez-vous pour participer, avec votre mot de "
        "passe ou un lien de connexion."
    ),
    "logged_out": N_("Vous êtes déconnecté·e."),
    "logged_out_everywhere": N_("Vous êtes déconnecté·e de tous vos appareils."),
    "password_reset": N_(
        "Votre mot de passe a été changé : vos appareils sont déconnectés et vos jetons "
        "d'accès personnels révoqués. Vous pouvez vous connecter."
    ),
    "password_changed": N_(
        "Votre mot de passe a été changé. Vos autres appareils sont déconnectés."
    ),
    "profile_saved": N_("Vos informations sont enregistrées."),
    "verification_sent": N_("Un nouveau lien de confirmation vous a été envoyé."),
    "verification_not_sent": N_(
        "Plusieurs liens vous ont été envoyés il y a peu : regardez aussi dans vos courriers "
        "indésirables, ou réessayez dans un quart d'heure."
    ),
    "token_revoked": N_("Le jeton a été révoqué."),
    "welcome": N_("Vous êtes connecté·e."),
    "need_deleted": N_("Votre besoin a été supprimé."),
    "account_deleted": N_(
        "Votre compte et vos contributions ont été supprimés. Un e-mail vous le confirme."
    ),
}


def notice_for(request: Request) -> str | None:
    key = request.query_params.get("notice", "")
    return _(NOTICES[key]) if key in NOTICES else None
