"""« Today » as the people of the site count days: the date in France (the fabrique, its staff
and the residents it serves), whatever the server's time zone — the day a need was met
offline, an idea launched, a partner's visitors were counted, an export was made."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TIMEZONE = ZoneInfo("Europe/Paris")


def local_today() -> date:
    return datetime.now(LOCAL_TIMEZONE).date()
