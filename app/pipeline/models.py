"""The idea pipeline (SPEC §1, §4): ideas made from needs or entered by staff, their stages
with a dated history, stage data, documents, carrier applications and partners.

Stage data lives on the idea row (one column group per stage) rather than in per-stage tables:
an idea has at most one study, one call for carriers and one enterprise, and the pipeline
board, the idea page and the impact figures all read them together.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.core.db import fk_column, ts_column, utcnow


def _text(default: str = "") -> Column:  # type: ignore[type-arg]
    return Column(Text, nullable=False, server_default=text(f"'{default}'"))


class Stage(StrEnum):
    detected = "detected"
    studying = "studying"
    seeking_carrier = "seeking_carrier"
    launching = "launching"
    launched = "launched"
    abandoned = "abandoned"


# The forward order; `abandoned` is reachable from every stage but `launched`.
STAGE_ORDER = [
    Stage.detected,
    Stage.studying,
    Stage.seeking_carrier,
    Stage.launching,
    Stage.launched,
]


class Origin(StrEnum):
    resident = "resident"  # from the board (set automatically when needs are promoted)
    town = "town"
    association = "association"
    company = "company"
    fabrique = "fabrique"
    # The incubator route (issue 17): a carrier or entrepreneur who arrived with their project
    # (« Je porte déjà un projet »), turned into an idea by staff.
    carrier = "carrier"


class Verdict(StrEnum):
    viable = "viable"
    not_viable = "not_viable"
    to_complete = "to_complete"


class LegalForm(StrEnum):
    association = "association"
    scop = "scop"
    scic = "scic"
    sas_esus = "sas_esus"
    other = "other"


class PartnerKind(StrEnum):
    town = "town"
    department = "department"
    region = "region"
    state_service = "state_service"
    foundation = "foundation"
    bank = "bank"
    network = "network"
    company = "company"
    association = "association"


class PartnerLink(StrEnum):
    """How a partner is linked to an idea."""

    detected_by = "detected_by"
    funded_by = "funded_by"
    supported_by = "supported_by"


class ApplicationStatus(StrEnum):
    new = "new"
    shortlisted = "shortlisted"
    met = "met"
    selected = "selected"
    declined = "declined"


class CarrierAvailability(StrEnum):
    """How much time a would-be carrier can give (the register, issue 17)."""

    few_hours = "few_hours"  # quelques heures par mois
    part_time = "part_time"
    full_time = "full_time"
    to_define = "to_define"


class ProposalStatus(StrEnum):
    new = "new"  # waiting for the team
    accepted = "accepted"  # turned into an idea (idea_id set)
    declined = "declined"  # with a note the person reads


def _values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{m.value}'" for m in enum)


class Partner(SQLModel, table=True):
    __tablename__ = "partners"
    __table_args__ = (CheckConstraint(f"kind IN ({_values(PartnerKind)})", name="kind"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True)  # also the `ref=` of embeds (issue 6)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=20)
    # Roles (SPEC §3): a partner may be several at once.
    is_funder: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    is_technical: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    is_capteur: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    website: str | None = Field(default=None, max_length=500)
    description: str = Field(default="", sa_column=_text())
    # The logo file under the upload directory (random name) and its checked type.
    logo_file: str | None = Field(default=None, max_length=80)
    logo_type: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=ts_column())


class Idea(SQLModel, table=True):
    __tablename__ = "ideas"
    __table_args__ = (
        CheckConstraint(f"stage IN ({_values(Stage)})", name="stage"),
        CheckConstraint(f"origin IN ({_values(Origin)})", name="origin"),
        Index("ix_ideas_stage_stage_changed_at", "stage", "stage_changed_at"),
        Index("ix_ideas_is_public_created_at", "is_public", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=140)
    slug: str = Field(max_length=80)
    summary: str = Field(default="", sa_column=_text())  # Markdown; public when is_public
    summary_html: str = Field(default="", sa_column=_text())
    theme_id: int | None = Field(
        default=None, sa_column=fk_column("themes.id", nullable=True, ondelete="SET NULL")
    )
    territory_id: int | None = Field(
        default=None, sa_column=fk_column("territories.id", nullable=True, ondelete="SET NULL")
    )
    origin: str = Field(default=Origin.resident.value, max_length=20)
    stage: str = Field(default=Stage.detected.value, max_length=20)
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    # Staff decide what the public sees: /ideas lists only public ideas.
    is_public: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    abandon_reason: str = Field(default="", sa_column=_text())
    # studying
    study_notes: str = Field(default="", sa_column=_text())
    verdict: str | None = Field(default=None, max_length=20)
    # seeking_carrier: the public call describing the profile sought
    carrier_call: str = Field(default="", sa_column=_text())
    carrier_name: str | None = Field(default=None, max_length=120)
    # The selected application; a plain id, not a foreign key, to avoid a cycle between the
    # two tables (the service keeps it consistent).
    carrier_application_id: int | None = Field(default=None)
    # launched
    enterprise_name: str | None = Field(default=None, max_length=120)
    legal_form: str | None = Field(default=None, max_length=20)
    jobs_created: int | None = Field(default=None)
    launch_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    enterprise_website: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class IdeaNeed(SQLModel, table=True):
    """A need promoted into an idea. A need belongs to one idea at most (its public page shows
    that idea's stage)."""

    __tablename__ = "idea_needs"
    __table_args__ = (
        UniqueConstraint("need_id", name="uq_idea_needs_need_id"),
        Index("ix_idea_needs_idea_id", "idea_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    need_id: int = Field(sa_column=fk_column("needs.id"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class StageChange(SQLModel, table=True):
    """The idea's timeline: one row per move (and one for its creation, from_stage None)."""

    __tablename__ = "idea_stage_changes"
    __table_args__ = (Index("ix_idea_stage_changes_idea_id_id", "idea_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    from_stage: str | None = Field(default=None, max_length=20)
    to_stage: str = Field(max_length=20)
    actor_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    actor_name: str = Field(max_length=60)
    note: str = Field(default="", sa_column=_text())
    # Shown on the public idea page (staff may keep a move's note internal).
    is_public: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=text("true"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class IdeaComment(SQLModel, table=True):
    """Internal staff comments on an idea (never public)."""

    __tablename__ = "idea_comments"
    __table_args__ = (Index("ix_idea_comments_idea_id_id", "idea_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    author_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    author_name: str = Field(max_length=60)
    body: str = Field(default="", sa_column=_text())
    body_html: str = Field(default="", sa_column=_text())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class IdeaDocument(SQLModel, table=True):
    """A file attached to an idea (study, minutes…). Stored outside static/ under a random
    name; served only to staff, as an attachment."""

    __tablename__ = "idea_documents"
    __table_args__ = (Index("ix_idea_documents_idea_id", "idea_id"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    original_name: str = Field(max_length=200)  # cleaned, for Content-Disposition only
    stored_name: str = Field(max_length=80, unique=True)
    content_type: str = Field(max_length=100)  # from the content, not the name
    size: int
    stage: str | None = Field(default=None, max_length=20)
    uploaded_by_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class Milestone(SQLModel, table=True):
    """The launch checklist (launching stage)."""

    __tablename__ = "idea_milestones"
    __table_args__ = (Index("ix_idea_milestones_idea_id_position", "idea_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    label: str = Field(max_length=200)
    position: int = Field(default=0)
    done_at: datetime | None = Field(default=None, sa_column=ts_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class IdeaPartner(SQLModel, table=True):
    __tablename__ = "idea_partners"
    __table_args__ = (
        UniqueConstraint("idea_id", "partner_id", "link", name="uq_idea_partners"),
        Index("ix_idea_partners_partner_id", "partner_id"),
        CheckConstraint(f"link IN ({_values(PartnerLink)})", name="link"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    partner_id: int = Field(sa_column=fk_column("partners.id"))
    link: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CarrierApplication(SQLModel, table=True):
    """« Je veux porter ce projet »: one per person and idea."""

    __tablename__ = "carrier_applications"
    __table_args__ = (
        UniqueConstraint("idea_id", "user_id", name="uq_carrier_applications_idea_id_user_id"),
        CheckConstraint(f"status IN ({_values(ApplicationStatus)})", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    user_id: int = Field(sa_column=fk_column("users.id"))
    motivation: str = Field(default="", sa_column=_text())
    experience: str = Field(default="", sa_column=_text())
    organisation: str = Field(default="", max_length=160)
    contact: str = Field(default="", max_length=300)  # how to reach them
    status: str = Field(default=ApplicationStatus.new.value, max_length=20)
    staff_notes: str = Field(default="", sa_column=_text())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CarrierProfile(SQLModel, table=True):
    """The standing register of would-be carriers (« volontaires mais à court d'idées »): one
    per account, seen by the person and by staff only; withdrawing deletes it."""

    __tablename__ = "carrier_profiles"
    __table_args__ = (
        UniqueConstraint("user_id", name="uq_carrier_profiles_user_id"),
        CheckConstraint(f"availability IN ({_values(CarrierAvailability)})", name="availability"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_column("users.id"))
    skills: str = Field(default="", sa_column=_text())
    # Checked skill domains, comma-separated keys of app.pipeline.carriers.DOMAINS.
    domains: str = Field(default="", max_length=200)
    territory_id: int | None = Field(
        default=None, sa_column=fk_column("territories.id", nullable=True, ondelete="SET NULL")
    )
    availability: str = Field(default=CarrierAvailability.to_define.value, max_length=20)
    presentation: str = Field(default="", sa_column=_text())
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CarrierInvitation(SQLModel, table=True):
    """Staff « Proposer cette idée » to a registered carrier: the person is told and invited to
    apply (a CarrierApplication) during the idea's call for carriers. One per person and idea."""

    __tablename__ = "carrier_invitations"
    __table_args__ = (
        UniqueConstraint("idea_id", "user_id", name="uq_carrier_invitations_idea_id_user_id"),
        Index("ix_carrier_invitations_user_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(sa_column=fk_column("ideas.id"))
    user_id: int = Field(sa_column=fk_column("users.id"))
    message: str = Field(default="", sa_column=_text())
    invited_by_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CarrierProposal(SQLModel, table=True):
    """The incubator route, « Je porte déjà un projet »: a person describes the project they
    carry; staff turn it into an idea (origin « carrier ») or decline it with a note."""

    __tablename__ = "carrier_proposals"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ProposalStatus)})", name="status"),
        Index("ix_carrier_proposals_status_id", "status", "id"),
        Index("ix_carrier_proposals_user_id", "user_id"),
        Index("ix_carrier_proposals_idea_id", "idea_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_column("users.id"))
    title: str = Field(max_length=140)
    description: str = Field(default="", sa_column=_text())
    territory_id: int | None = Field(
        default=None, sa_column=fk_column("territories.id", nullable=True, ondelete="SET NULL")
    )
    organisation: str = Field(default="", max_length=160)
    contact: str = Field(default="", max_length=300)
    status: str = Field(default=ProposalStatus.new.value, max_length=20)
    staff_note: str = Field(default="", sa_column=_text())  # told to the person
    idea_id: int | None = Field(
        default=None, sa_column=fk_column("ideas.id", nullable=True, ondelete="SET NULL")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
