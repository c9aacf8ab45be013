"""The demand dossier of an idea as CSV (/moderation/ideas/{id}/dossier.csv): the page's
content in one « long » table, a row per fact, its `section` saying what the row is, so that a
spreadsheet filters it and a script reads it with one header:

- `idea`: `kind` names a field of the idea (title, stage, origin…), `text` its value;
- `need`: one per linked need (`status`, `theme`, `territory`, `date` of posting, `kind` its
  source, `label` its provenance, `count` its supports, `url`);
- `people`: distinct people behind the public needs, `kind` « total », a concern or
  « unspecified »; `territory`: `label` the territory (empty: none named), `count` people;
- `month`: `date` YYYY-MM, `kind` « new_people », a concern, « cumulative » or (when people
  were met offline) « offline », `count`;
- `comment`: every published comment of the public needs, the oldest first (`author`,
  `kind` « team » for the fabrique's team, `text` verbatim as written, `url`);
- `offline_collection`: the people met offline about a public need (`count`, `kind` how,
  `label` where, `territory`, `date`, `author` who recorded it, `text` the team's note);
- `offline`: the needs collected offline (`kind` source, `label` event, `date` of collection,
  `author` who recorded it, `text` the partner who relayed it);
- `partner`: `kind` the link (detected_by…), `label` its name, `text` its kind, `url` its site;
  `partner_referrals`: `label` the partner, `kind` visits / needs_posted / supports since
  `date`, over the whole site.

Cells that a spreadsheet would run as formulas are quoted (app.pipeline.export._safe_cell). The
comments are read in batches and written as they come: the file may be long, the memory not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session

from app.pipeline.dossier import (
    Dossier,
    all_comments,
    build_dossier,
    concern_label,
)
from app.pipeline.export import _safe_cell
from app.web.i18n import gettext as _

CSV_COLUMNS = [
    "section",
    "need_id",
    "need_title",
    "date",
    "status",
    "theme",
    "territory",
    "kind",
    "label",
    "count",
    "author",
    "text",
    "url",
]
BATCH = 500


def _row(section: str, **values: Any) -> list[Any]:
    unknown = set(values) - set(CSV_COLUMNS)
    assert not unknown, unknown
    values["section"] = section
    return [_safe_cell("" if values.get(name) is None else values[name]) for name in CSV_COLUMNS]


def _head_rows(dossier: Dossier, base_url: str) -> Iterator[list[Any]]:
    idea = dossier.idea
    fields: list[tuple[str, Any]] = [
        ("title", idea.title),
        ("stage", dossier.stage_label),
        ("origin", dossier.origin_label),
        ("theme", dossier.theme.name if dossier.theme else ""),
        ("territory", dossier.territory.name if dossier.territory else ""),
        ("is_public", "yes" if idea.is_public else "no"),
        ("staff_url", f"{base_url}/moderation/ideas/{idea.id}"),
        ("public_url", f"{base_url}/ideas/{idea.id}-{idea.slug}" if idea.is_public else ""),
        ("generated_at", dossier.generated_at.replace(microsecond=0).isoformat()),
    ]
    for kind, value in fields:
        yield _row("idea", kind=kind, text=value)
    for item in dossier.needs:
        need = item.need
        yield _row(
            "need",
            need_id=need.id,
            need_title=need.title,
            date=need.created_at.date().isoformat(),
            status=need.status,
            theme=item.theme,
            territory=item.territory,
            kind=need.source,
            label=item.provenance,
            count=need.supports_count,
            url=base_url + item.path,
        )
    demand = dossier.demand
    yield _row("people", kind="total", label=_("Personnes distinctes en tout"), count=demand.people)
    for concern, count in demand.by_concern.items():
        yield _row("people", kind=concern, label=concern_label(concern), count=count)
    yield _row(
        "people", kind="unspecified", label=_("Sans préciser comment"), count=demand.unspecified
    )
    for place in demand.by_territory:
        yield _row("territory", label=place.name or "", count=place.people)
    for month in dossier.months:
        when = month.month.strftime("%Y-%m")
        yield _row("month", date=when, kind="new_people", count=month.people)
        for concern, count in month.by_concern.items():
            yield _row("month", date=when, kind=concern, count=count)
        yield _row("month", date=when, kind="cumulative", count=month.cumulative)
        if dossier.collections:
            yield _row("month", date=when, kind="offline", count=month.offline)


def _tail_rows(dossier: Dossier, base_url: str) -> Iterator[list[Any]]:
    for item, row in dossier.collections:
        yield _row(
            "offline_collection",
            need_id=item.need.id,
            need_title=item.need.title,
            date=row.collected_on.isoformat(),
            territory=row.territory_name,
            kind=row.method,
            label=row.place,
            count=row.people,
            author=row.recorded_by,
            text=row.note,
            url=base_url + item.path,
        )
    for item in dossier.offline_needs:
        need = item.need
        yield _row(
            "offline",
            need_id=need.id,
            need_title=need.title,
            date=need.source_date.isoformat() if need.source_date else "",
            kind=need.source,
            label=need.source_event,
            author=item.recorded_by,
            text=need.source_partner,
            url=base_url + item.path,
        )
    since = dossier.referrals_since.isoformat()
    for found in dossier.partners:
        yield _row(
            "partner",
            kind=found.link,
            label=found.partner.name,
            text=found.partner.kind,
            url=found.partner.website,
        )
    seen: set[int] = set()
    for found in dossier.partners:
        if found.partner.id in seen:
            continue
        seen.add(found.partner.id)  # type: ignore[arg-type]
        for kind in ("visits", "needs_posted", "supports"):
            yield _row(
                "partner_referrals",
                date=since,
                kind=kind,
                label=found.partner.name,
                count=getattr(found.referrals, kind),
            )


def dossier_csv(session: Session, idea_id: int, base_url: str) -> Iterable[str]:
    """The dossier as CSV, UTF-8, streamed. The idea is read before the first chunk, so an
    unknown one is a 404, not a broken download."""
    dossier = build_dossier(session, idea_id, comments=False)
    base_url = base_url.rstrip("/")
    return _stream(session, dossier, base_url)


def _stream(session: Session, dossier: Dossier, base_url: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    writer.writerows(_head_rows(dossier, base_url))
    yield flush()
    for written, comment in enumerate(all_comments(session, dossier.public_need_ids), 1):
        writer.writerow(
            _row(
                "comment",
                need_id=comment.need_id,
                need_title=comment.need_title,
                date=comment.created_at.replace(microsecond=0).isoformat(),
                kind="team" if comment.team else "",
                author=comment.author if comment.author is not None else _("compte supprimé"),
                text=comment.body,
                url=base_url + comment.path,
            )
        )
        if written % BATCH == 0:
            yield flush()
    writer.writerows(_tail_rows(dossier, base_url))
    yield flush()
