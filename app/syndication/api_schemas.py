"""The shapes of the JSON API (/api/v1), as Pydantic models, and its limits: what the OpenAPI
document (app.syndication.api_docs) publishes for each request body and answer is generated
from them.

They describe; they do not build. The answers are written by app.syndication.serialize and the
routes, and tests/syndication/test_api_schemas.py checks, endpoint by endpoint, that what they
return matches the schema published here, every field of it documented. Request bodies are
read field by field by the routes (French messages per field), with the limits named here.

Answers may gain fields over time (a client ignores those it does not know), so the published
object schemas do not forbid additional properties; request bodies neither: a field a client
may not set is ignored, as SPEC §5 says.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from app.board import reports
from app.board.comments import BODY_MAX as COMMENT_BODY_MAX
from app.board.models import ReportReason, ReportTarget
from app.board.service import BODY_MAX as NEED_BODY_MAX
from app.board.service import TITLE_MAX, TITLE_MIN

PREFIX = "/api/v1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

DATE_TIME = {"format": "date-time"}  # RFC 3339 with a UTC offset
URI = {"format": "uri"}


class Shape(BaseModel):
    """A documented shape: named as in the document, no titles on its fields."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _untitled(schema))


def _untitled(schema: dict[str, Any]) -> None:
    for field in schema.get("properties", {}).values():
        field.pop("title", None)


# --- answers ------------------------------------------------------------------------------------


class CategoryRef(Shape):
    """A theme or territory as an item names it."""

    slug: str
    name: str


class Category(Shape):
    """A theme or territory of the reference lists."""

    slug: str
    name: str
    name_en: str | None
    archived: bool


class IdeaRef(Shape):
    """The public idea a need is part of."""

    id: int
    url: str = Field(json_schema_extra=URI)
    stage: str


class Author(Shape):
    display_name: str


class CoveredBy(Shape):
    """Who already answers the need (status `covered`)."""

    name: str | None
    url: str | None


class Answer(Shape):
    """The fabrique's official answer on the need, written by its team."""

    body_html: str = Field(description="Sanitised HTML")
    at: str = Field(description="When it was last written", json_schema_extra=DATE_TIME)


class Demand(Shape):
    """How many people declared each concern when supporting the need (counts, never who);
    supporters who gave no answer are in no field, so the fields may add up to less than
    `supports`."""

    has_need: int = Field(description="« J'ai ce besoin »")
    would_use: int = Field(description="« J'utiliserais ce service »")
    could_help: int = Field(description="« Je pourrais aider »")
    org_could_support: int = Field(description="« Mon organisation pourrait soutenir »")
    offline: int = Field(
        description="People the fabrique met offline (meetings, surveys…), recorded by its "
        "team: not accounts, never among `supports`"
    )


class Need(Shape):
    """A public need. `covered_by` only when its status is `covered`."""

    id: int
    title: str
    url: str = Field(json_schema_extra=URI)
    excerpt: str = Field(description="Plain text")
    body_html: str = Field(description="Sanitised HTML")
    theme: CategoryRef | None
    territory: CategoryRef | None
    supports: int
    comments: int
    status: str
    idea: IdeaRef | None
    author: Author
    created_at: str = Field(json_schema_extra=DATE_TIME)
    updated_at: str = Field(json_schema_extra=DATE_TIME)
    demand: Demand
    answer: Answer | None = Field(description="The fabrique's official answer, or null")
    covered_by: CoveredBy | None = None


class Enterprise(Shape):
    """The social enterprise an idea became (once launching or launched)."""

    name: str
    legal_form: str | None
    jobs_created: int | None
    launch_date: str | None = Field(json_schema_extra={"format": "date"})
    website: str | None


class Idea(Shape):
    """A public idea: what its public page shows, never internal notes."""

    id: int
    title: str
    url: str = Field(json_schema_extra=URI)
    summary_html: str = Field(description="Sanitised HTML")
    stage: str
    stage_label: str
    theme: CategoryRef | None
    territory: CategoryRef | None
    needs: int = Field(description="Its public needs")
    supports: int = Field(description="The supports of its public needs")
    supporters: int = Field(
        description="Distinct people behind its public needs: one person supporting two of "
        "them counts once"
    )
    carrier_call_open: bool
    enterprise: Enterprise | None
    stage_changed_at: str = Field(json_schema_extra=DATE_TIME)
    created_at: str = Field(json_schema_extra=DATE_TIME)
    updated_at: str = Field(json_schema_extra=DATE_TIME)


class NeedPage(Shape):
    items: list[Need]
    next_cursor: str | None = Field(description="For `cursor`; null on the last page")


class IdeaPage(Shape):
    items: list[Idea]
    next_cursor: str | None = Field(description="For `cursor`; null on the last page")


class CategoryPage(Shape):
    items: list[Category]
    next_cursor: None = Field(description="Always null: one page")


class Funnel(Shape):
    """Ideas that reached each step of the pipeline."""

    detected: int
    studied: int
    carrier_found: int
    launched: int
    abandoned: int


class StatsFilters(Shape):
    year: int | None
    territory: CategoryRef | None


class Stats(Shape):
    """The figures of the Impact page."""

    ideas: Funnel
    enterprises: int
    jobs: int
    ideas_from_board: int
    board_share: float = Field(description="ideas_from_board / ideas.detected, from 0 to 1")
    needs: int
    supports: int
    comments: int
    filters: StatsFilters


class SupportAnswer(Shape):
    need_id: int
    supported: bool
    supports: int


class Comment(Shape):
    """A comment posted; `pending` while it waits for the moderation team."""

    id: int
    need_id: int
    parent_id: int | None
    url: str = Field(json_schema_extra=URI)
    status: str
    body_html: str = Field(description="Sanitised HTML")
    author: Author
    created_at: str = Field(json_schema_extra=DATE_TIME)


class ReportAnswer(Shape):
    id: int
    kind: str
    target_id: int
    reason: str
    status: str


class Problem(Shape):
    """An error (RFC 9457), with a message per field in `errors` when input was refused."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, str] | None = None


# --- request bodies -----------------------------------------------------------------------------

# Lengths said in words, not minLength / maxLength: they are counted once control characters
# are removed and spaces collapsed, which a schema cannot say.
_COUNTED = "counted once control characters are removed and spaces trimmed"
# An id in a body: a number, or its digits as a string (both are read).
_DIGITS = Annotated[str, Field(pattern="^[0-9]+$")]
Id = Annotated[int, Field(ge=1)] | _DIGITS


class NewNeed(Shape):
    title: str = Field(description=f"{TITLE_MIN} to {TITLE_MAX} characters, {_COUNTED}")
    body: str | None = Field(None, description=f"at most {NEED_BODY_MAX} characters, {_COUNTED}")
    theme: str | None = Field(None, description="slug (GET /api/v1/themes)")
    territory: str | None = Field(None, description="slug (GET /api/v1/territories)")


class NewComment(Shape):
    body: str = Field(description=f"1 to {COMMENT_BODY_MAX} characters, {_COUNTED}")
    parent_id: Id | None = None


class NewReport(Shape):
    kind: str = Field(json_schema_extra={"enum": [k.value for k in ReportTarget]})
    id: Id
    reason: str = Field(json_schema_extra={"enum": [r.value for r in ReportReason]})
    detail: str | None = Field(
        None, description=f"at most {reports.DETAIL_MAX_LENGTH} characters, {_COUNTED}"
    )


ANSWERS: tuple[type[Shape], ...] = (
    NeedPage,
    Need,
    IdeaPage,
    Idea,
    CategoryPage,
    Stats,
    SupportAnswer,
    Comment,
    ReportAnswer,
    Problem,
)
REF = "#/components/schemas/{model}"


def component_schemas() -> dict[str, Any]:
    """The answers' schemas for the document's components, each nested shape once, by $ref."""
    _refs, document = models_json_schema(
        [(model, "serialization") for model in ANSWERS], ref_template=REF
    )
    return dict(document.get("$defs", {}))


def ref(model: type[Shape]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def request_schema(model: type[Shape]) -> dict[str, Any]:
    """A request body's schema, inline (its fields are plain values)."""
    schema = model.model_json_schema(mode="validation")
    schema.pop("title", None)
    return schema
