"""Where a need came from (NeedSource), in words: the byline of needs collected offline and
the labels of the moderation area's forms and counts."""

from __future__ import annotations

from datetime import date

from app.board.models import Need, NeedSource
from app.web.i18n import format_date
from app.web.i18n import gettext as _
from app.web.i18n import lazy_gettext as N_

SOURCE_LABELS: dict[str, str] = {
    NeedSource.online.value: N_("Déposé en ligne"),
    NeedSource.street_survey.value: N_("Micro-trottoir"),
    NeedSource.meeting.value: N_("Réunion ou atelier"),
    NeedSource.phone.value: N_("Appel téléphonique"),
    NeedSource.partner.value: N_("Relayé par un partenaire"),
    NeedSource.other.value: N_("Autre rencontre"),
}
# What staff may pick in the form: every source but « online » (that one is the board's).
OFFLINE_SOURCES = [s.value for s in NeedSource if s is not NeedSource.online]


def source_name(source: str) -> str:
    """The French (or current locale's) name of a source code."""
    return _(SOURCE_LABELS.get(source, SOURCE_LABELS[NeedSource.other.value]))


def source_label(need: Need) -> str:
    """The provenance of a need in one line, e.g. « Micro-trottoir — Marché de Capeyron,
    12 novembre 2026 — relayé par le centre social ». Empty for needs posted online."""
    if need.source == NeedSource.online.value:
        return ""
    details = [d for d in (need.source_event, _long_date(need.source_date)) if d]
    label = source_name(need.source)
    if details:
        label = f"{label} — {', '.join(details)}"
    if need.source_partner:
        label = f"{label} — " + _("relayé par %(partner)s", partner=need.source_partner)
    return label


def _long_date(value: date | None) -> str:
    return format_date(value) if value else ""  # type: ignore[arg-type]
