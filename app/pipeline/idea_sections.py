"""The sections of the staff idea page (templates/pipeline/idea.html), in the order staff work
in them, and which of them are folded.

With every stage's form open the page was 6,000 pixels long (issue 14). After the summary and
« Changer d'étape » now comes the section where the idea's current stage is worked on, then
the other stages' sections in the ladder's order, then the idea's other concerns. Only the
current stage's section is unfolded by default; a folded one says in its heading what is inside
and how much is filled. A section also opens when the person has something to do or to see
there: the form they just sent (refused or saved), a field « Changer d'étape » links to as
missing (the call text is written while the idea is still at the study), a need search.

The sections are `<details>` elements: they fold and unfold without JavaScript, and keep their
`id` so the forms' `#section` addresses still land on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.pipeline.models import STAGE_ORDER, Stage

# The section where each stage's work is done (its id on the page).
STAGE_SECTIONS: dict[str, str] = {
    Stage.detected.value: "needs",
    Stage.studying.value: "study",
    Stage.seeking_carrier.value: "call",
    Stage.launching.value: "milestones",
    Stage.launched.value: "enterprise",
}

# The idea's concerns that belong to no stage, after the stages' sections.
OTHER_SECTIONS = ("documents", "partners", "comments", "timeline")

# The section of each form of the page, by the name the page is rendered with after a refusal.
FORM_SECTIONS: dict[str, str] = {
    "needs": "needs",
    "study": "study",
    "call": "call",
    "carrier": "call",
    "milestones": "milestones",
    "enterprise": "enterprise",
    "comment": "comments",
    "documents": "documents",
    "partners": "partners",
}

# The panels written in other modules send their refusals as their own context keys.
PANEL_ERRORS: dict[str, str] = {"documents": "document_errors", "partners": "partner_errors"}

# The section a save brings the person back to (`?saved=` or `?done=` of the redirect).
SAVED_SECTIONS: dict[str, str] = {
    "needs": "needs",
    "study": "study",
    "call": "call",
    "carrier": "call",
    "carrier_selected": "call",
    "milestones": "milestones",
    "enterprise": "enterprise",
    "comment": "comments",
    "document_added": "documents",
    "document_deleted": "documents",
    "partner_linked": "partners",
    "partner_unlinked": "partners",
}

# Saves that come back to a part of their section, where their notice is said.
NOTICE_PLACES: dict[str, str] = {"carrier": "carrier", "carrier_selected": "carrier"}

# The section holding each field a stage requires (« Changer d'étape » links to `#f-<field>`).
FIELD_SECTIONS: dict[str, str] = {
    "study_notes": "study",
    "verdict": "study",
    "carrier_call": "call",
    "carrier_name": "call",
    "enterprise_name": "enterprise",
    "legal_form": "enterprise",
    "jobs_created": "enterprise",
    "launch_date": "enterprise",
    "enterprise_website": "enterprise",
}


@dataclass(frozen=True)
class SectionPlace:
    """One section of the idea page, in page order."""

    key: str  # its id on the page; the forms inside it post to `#key`
    open: bool
    current: bool = False  # where the idea's current stage is worked on


def idea_sections(
    stage: str,
    *,
    refused: Iterable[str] = (),
    saved: str = "",
    fields: Iterable[str] = (),
    also_open: Iterable[str] = (),
) -> list[SectionPlace]:
    """The page's sections in order. `refused`: the forms shown with their errors (FORM_SECTIONS
    names); `saved`: what the redirect says was saved; `fields`: the fields the page links to
    (what the next stage lacks, a refused move's errors); `also_open`: sections to unfold."""
    current = STAGE_SECTIONS.get(stage)  # None for an abandoned idea: no work goes on
    opened = {current, SAVED_SECTIONS.get(saved), *also_open}
    opened.update(FORM_SECTIONS.get(form) for form in refused)
    opened.update(FIELD_SECTIONS.get(field) for field in fields)
    ladder = [STAGE_SECTIONS[s.value] for s in STAGE_ORDER]
    order = ([current] if current else []) + [k for k in ladder if k != current]
    return [
        SectionPlace(key, open=key in opened, current=key == current)
        for key in (*order, *OTHER_SECTIONS)
    ]


def refused_forms(context: Mapping[str, Any]) -> list[str]:
    """The forms the idea page shows with errors: its own (`form`) and the panels' ones."""
    shown = context.get("errors") or context.get("form_error")
    forms = [context["form"]] if context.get("form") and shown else []
    forms += [name for name, key in PANEL_ERRORS.items() if context.get(key)]
    return forms


def notice_place(saved: str) -> str | None:
    """The id of the part of the page a save comes back to, where its notice is said (None:
    at the top of the page)."""
    return NOTICE_PLACES.get(saved) or SAVED_SECTIONS.get(saved)
