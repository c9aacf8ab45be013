"""Board tables: reference lists, needs, supports, comments, follows (of needs, themes,
territories and ideas), reports, notifications.

Counts that pages sort by (supports_count, comments_count, trending_score) are stored on the
need and changed in the same transaction as the rows they count, with relative UPDATEs
(`x = x + 1`), so they stay exact under concurrent requests on both engines.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, fk_column, ts_column, utcnow
from app.web.i18n import lazy_gettext as N_


class _Category(SQLModel):
    id: int | None = Field(default=None, primary_key=True)
    # A slug in URLs, feeds and partners' embed codes: once used it never changes.
    slug: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=80)  # French, the interface's first language
    name_en: str | None = Field(default=None, max_length=80)
    position: int = Field(default=0)


class Theme(_Category, table=True):
    __tablename__ = "themes"

    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Territory(_Category, table=True):
    __tablename__ = "territories"

    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class NeedStatus(StrEnum):
    pending = "pending"  # waiting for a moderator (pre-moderation or an account's first post)
    published = "published"  # public
    hidden = "hidden"  # hidden by a moderator; the author sees why
    rejected = "rejected"  # refused by a moderator; the author sees why
    covered = "covered"  # « déjà couvert »: an existing local service answers it; stays public
    merged = "merged"  # merged into another need (merged_into_id); its URL redirects there


# What staff read for each status (the need file, the idea file), translated where shown.
NEED_STATUS_LABELS = {
    NeedStatus.pending.value: N_("En attente de validation"),
    NeedStatus.published.value: N_("Publié"),
    NeedStatus.hidden.value: N_("Masqué"),
    NeedStatus.rejected.value: N_("Refusé"),
    NeedStatus.covered.value: N_("Déjà couvert"),
    NeedStatus.merged.value: N_("Fusionné"),
}

# The reasons a moderator gives for refusing or hiding a need or a comment, told to its author
# (app/moderation/decisions.py); the need page offers them to moderators.
MODERATION_REASONS = {
    "spam": N_("Publicité ou spam"),
    "abusive": N_("Propos injurieux ou irrespectueux"),
    "personal_data": N_("Données personnelles d'autres personnes"),
    "off_topic": N_("Hors sujet : ce n'est pas un besoin social du territoire"),
    "duplicate": N_("Doublon d'un besoin déjà publié"),
    "other": N_("Autre raison"),
}


class NeedSource(StrEnum):
    """Where a need came from. Offline needs are entered by staff on behalf of residents met
    in person, published under the fabrique's name (author_id is None, recorded_by_id says
    which staff member typed it) and counted per source in the figures."""

    online = "online"  # posted on the board by a resident
    street_survey = "street_survey"  # micro-trottoir, enquête de rue
    meeting = "meeting"  # réunion publique, atelier, permanence
    phone = "phone"  # appel téléphonique
    partner = "partner"  # relayé par un partenaire (mairie, association…)
    other = "other"


PUBLIC_NEED_STATUSES = (NeedStatus.published.value, NeedStatus.covered.value)
_NEED_STATUS_VALUES = ", ".join(f"'{s.value}'" for s in NeedStatus)
# The conditions of the partial indexes of what waits for moderation (needs and comments), and
# of deleted needs.
PENDING_WHERE = "status = 'pending' AND deleted_at IS NULL"
DELETED_WHERE = "deleted_at IS NOT NULL"
# Needs with the fabrique's public answer (migration 0012): the board's « a une réponse » filter
# reads them from these partial indexes, in the board's order, whatever their share.
ANSWERED_WHERE = "answer_at IS NOT NULL"
ANSWERED_INDEXES = {
    "ix_needs_answered": "created_at",
    "ix_needs_answered_supports": "supports_count",
    "ix_needs_answered_trending": "trending_score",
    "ix_needs_answered_comments": "comments_count",
}


class Need(SQLModel, table=True):
    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(f"status IN ({_NEED_STATUS_VALUES})", name="status"),
        # One index per board sort, led by the sort key: the public filter is a status IN
        # (published, covered), which a status-led index cannot serve in order; nearly every
        # row is public, so scanning in sort order and skipping the few others is cheapest.
        Index("ix_needs_created_at_id", "created_at", "id"),
        Index("ix_needs_supports_count_id", "supports_count", "id"),
        Index("ix_needs_trending_score_id", "trending_score", "id"),
        Index("ix_needs_comments_count_id", "comments_count", "id"),
        Index("ix_needs_status", "status"),
        # What waits for moderation (migration 0008; app.moderation.queue writes it out).
        Index(
            "ix_needs_pending",
            "created_at",
            "id",
            sqlite_where=text(PENDING_WHERE),
            postgresql_where=text(PENDING_WHERE),
        ),
        Index("ix_needs_theme_id_created_at", "theme_id", "created_at"),
        Index("ix_needs_territory_id_created_at", "territory_id", "created_at"),
        Index("ix_needs_author_id_created_at", "author_id", "created_at"),
        # The feeds' Last-Modified: the latest edit or deletion, read by MAX() on each request.
        Index("ix_needs_updated_at", "updated_at"),
        # Deleted needs only: over every need its NULLs led SQLite's planner to read them all
        # for « deleted_at IS NULL » (migration 0009).
        Index(
            "ix_needs_deleted_at",
            "deleted_at",
            sqlite_where=text(DELETED_WHERE),
            postgresql_where=text(DELETED_WHERE),
        ),
        # The answered needs in each board order (migration 0012): small, as few needs are
        # answered; one per sort, because SQLite scans an index in full only for its order.
        *(
            Index(
                name,
                column,
                "id",
                sqlite_where=text(ANSWERED_WHERE),
                postgresql_where=text(ANSWERED_WHERE),
            )
            for name, column in ANSWERED_INDEXES.items()
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # SET NULL: a need outlives the account that posted it (shown as « compte supprimé »).
    author_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    title: str = Field(max_length=140)
    slug: str = Field(max_length=80)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    excerpt: str = Field(default="", max_length=300)
    theme_id: int | None = Field(
        default=None, sa_column=fk_column("themes.id", nullable=True, ondelete="SET NULL")
    )
    territory_id: int | None = Field(
        default=None, sa_column=fk_column("territories.id", nullable=True, ondelete="SET NULL")
    )
    status: str = Field(default=NeedStatus.published.value, max_length=12)
    supports_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    comments_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    # Decayed popularity: each support adds 2^((t - epoch) / half-life); see board.trending.
    trending_score: float = Field(
        default=0.0, sa_column=Column(Float, nullable=False, server_default=text("0"))
    )
    merged_into_id: int | None = Field(
        default=None, sa_column=fk_column("needs.id", nullable=True, ondelete="SET NULL")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=ts_column())
    # Anti-double-submission: the same form token cannot create two needs.
    submission_key: str | None = Field(default=None, max_length=64, unique=True)

    # --- moderation (issue 4) ---
    # Why the need is hidden, rejected or covered, as told to its author (latest decision).
    moderation_reason: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    # « Déjà couvert »: the existing local service the resident is pointed to.
    covered_name: str | None = Field(default=None, max_length=120)
    covered_url: str | None = Field(default=None, max_length=500)
    covered_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Provenance (NeedSource); offline needs carry the event, its date and who relayed it.
    source: str = Field(
        default=NeedSource.online.value,
        max_length=20,
        sa_column_kwargs={"server_default": NeedSource.online.value},
    )
    source_event: str | None = Field(default=None, max_length=120)
    source_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    source_partner: str | None = Field(default=None, max_length=120)
    recorded_by_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    # Qualification by staff: internal, never shown to the public.
    qualified_at: datetime | None = Field(default=None, sa_column=ts_column())
    qualified_by_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    internal_note: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )

    # --- the fabrique's public answer (issue 17; app/board/answers.py) ---
    # Markdown as staff typed it, and its sanitised HTML (app.core.text); public with the need.
    answer_body: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    answer_html: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    # Set while there is an answer (first written or last edited), None otherwise. Who wrote
    # it is in the audit log (need.answer): the public reads « la fabrique », not a person.
    answer_at: datetime | None = Field(default=None, sa_column=ts_column())


class Concern(StrEnum):
    """How a supporter is concerned: evidence of demand for the opportunity study."""

    has_need = "has_need"  # « j'ai ce besoin »
    would_use = "would_use"  # « j'utiliserais ce service »
    could_help = "could_help"  # « je pourrais aider »
    org_could_support = "org_could_support"  # « mon organisation pourrait soutenir »


class Support(SQLModel, table=True):
    __tablename__ = "supports"
    __table_args__ = (
        UniqueConstraint("need_id", "user_id", name="uq_supports_need_id_user_id"),
        Index("ix_supports_user_id", "user_id"),
        Index("ix_supports_need_id_created_at", "need_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(sa_column=fk_column("needs.id"))
    user_id: int = Field(sa_column=fk_column("users.id"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    concern: str | None = Field(default=None, max_length=20)
    territory_id: int | None = Field(
        default=None, sa_column=fk_column("territories.id", nullable=True, ondelete="SET NULL")
    )


class CommentStatus(StrEnum):
    published = "published"
    pending = "pending"
    hidden = "hidden"


# What the moderation team reads for each status of a comment (its need's file, an account).
COMMENT_STATUS_LABELS = {
    CommentStatus.published.value: N_("Publié"),
    CommentStatus.pending.value: N_("En attente"),
    CommentStatus.hidden.value: N_("Masqué"),
}


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_need_id_created_at", "need_id", "created_at"),
        Index("ix_comments_author_id", "author_id"),
        Index("ix_comments_parent_id", "parent_id"),
        Index(
            "ix_comments_pending",
            "created_at",
            "id",
            sqlite_where=text(PENDING_WHERE),
            postgresql_where=text(PENDING_WHERE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(sa_column=fk_column("needs.id"))
    author_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    # One level of replies: a reply's parent is always a top-level comment.
    parent_id: int | None = Field(default=None, sa_column=fk_column("comments.id", nullable=True))
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=CommentStatus.published.value, max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=ts_column())
    submission_key: str | None = Field(default=None, max_length=64, unique=True)
    # Why a moderator hid it (told to its author), and where it came from after a merge.
    moderation_reason: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    moved_from_need_id: int | None = Field(
        default=None, sa_column=fk_column("needs.id", nullable=True, ondelete="SET NULL")
    )


class Follow(SQLModel, table=True):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("need_id", "user_id", name="uq_follows_need_id_user_id"),
        Index("ix_follows_user_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(sa_column=fk_column("needs.id"))
    user_id: int = Field(sa_column=fk_column("users.id"))
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class TopicKind(StrEnum):
    theme = "theme"
    territory = "territory"
    idea = "idea"  # a public idea (app/pipeline/idea_follows.py)


class TopicFollow(SQLModel, table=True):
    """Following a theme, a territory or an idea (issue 17): told of new public needs there.
    `target_id` points into themes, territories or ideas according to `kind` (no foreign key:
    the reads join on the kind, and an idea deleted leaves a row nobody is told about)."""

    __tablename__ = "topic_follows"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "target_id", name="uq_topic_follows_user_kind_target"),
        Index("ix_topic_follows_kind_target_id", "kind", "target_id"),
        CheckConstraint("kind IN ('theme', 'territory', 'idea')", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_column("users.id"))
    kind: str = Field(max_length=12)
    target_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class ReportReason(StrEnum):
    spam = "spam"
    abusive = "abusive"
    personal_data = "personal_data"
    off_topic = "off_topic"
    other = "other"


class ReportTarget(StrEnum):
    need = "need"
    comment = "comment"
    user = "user"


class Report(SQLModel, table=True):
    """A flag raised by one account on a need, a comment or an account. Feeds the moderation
    queue; listed nowhere public."""

    __tablename__ = "reports"
    __table_args__ = (
        # One open report per reporter and item (a closed one can be followed by a new one).
        Index(
            "uq_reports_open_per_reporter",
            "reporter_id",
            "target_kind",
            "target_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_reports_target_kind_target_id", "target_kind", "target_id"),
        Index("ix_reports_status_created_at", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reporter_id: int = Field(sa_column=fk_column("users.id"))
    target_kind: str = Field(max_length=10)
    target_id: int
    reason: str = Field(max_length=20)
    detail: str = Field(default="", max_length=1000)
    status: str = Field(default="open", max_length=10)  # open, dismissed, actioned
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=ts_column())


class NotificationKind(StrEnum):
    reply = "reply"  # someone replied to my comment
    comment = "comment"  # a comment on a need I follow
    moderation = "moderation"  # a moderator's decision on my content (moderation issue)
    pipeline = "pipeline"  # a need I follow moved in the idea pipeline (pipeline issue)
    team = "team"  # for moderators: a need or comment waits for moderation, a report (issue 17)
    applications = "applications"  # for staff: a carrier application (issue 17)
    topics = "topics"  # a new public need in a theme, territory or idea I follow (issue 17)


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at_id", "user_id", "read_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_column("users.id"))
    kind: str = Field(max_length=20)
    need_id: int | None = Field(default=None, sa_column=fk_column("needs.id", nullable=True))
    comment_id: int | None = Field(default=None, sa_column=fk_column("comments.id", nullable=True))
    actor_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    message: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=ts_column())
    # For the daily digest: when this notification went out by e-mail (None: not yet or never).
    emailed_at: datetime | None = Field(default=None, sa_column=ts_column())


class EmailMode(StrEnum):
    none = "none"
    immediate = "immediate"
    daily = "daily"


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", name="uq_notification_preferences_user_id_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=fk_column("users.id"))
    kind: str = Field(max_length=20)
    email_mode: str = Field(default=EmailMode.immediate.value, max_length=10)


class CollectionMethod(StrEnum):
    """How the fabrique met the people it counted in an offline collection."""

    public_meeting = "public_meeting"  # réunion publique
    drop_in = "drop_in"  # permanence
    survey = "survey"  # enquête, questionnaire
    workshop = "workshop"  # atelier
    other = "other"


COLLECTION_METHOD_LABELS = {
    CollectionMethod.public_meeting.value: N_("Réunion publique"),
    CollectionMethod.drop_in.value: N_("Permanence"),
    CollectionMethod.survey.value: N_("Enquête ou questionnaire"),
    CollectionMethod.workshop.value: N_("Atelier"),
    CollectionMethod.other.value: N_("Autre"),
}
COLLECTION_PEOPLE_MAX = 10000
_COLLECTION_METHOD_VALUES = ", ".join(f"'{m.value}'" for m in CollectionMethod)


class OfflineCollection(SQLModel, table=True):
    """People who raised a need offline (issue 17): staff record how many, how, when and where
    they met them. Counted in the need's demand as « recueilli hors ligne », never as accounts
    or supports (app.board.demand); nobody is named, so the figure is public."""

    __tablename__ = "offline_collections"
    __table_args__ = (
        CheckConstraint(f"people BETWEEN 1 AND {COLLECTION_PEOPLE_MAX}", name="people"),
        CheckConstraint(f"method IN ({_COLLECTION_METHOD_VALUES})", name="method"),
        Index("ix_offline_collections_need_id_collected_on", "need_id", "collected_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(sa_column=fk_column("needs.id"))
    people: int
    method: str = Field(max_length=20)
    collected_on: date = Field(sa_column=Column(Date, nullable=False))
    place: str = Field(default="", max_length=120)
    territory_id: int | None = Field(
        default=None, sa_column=fk_column("territories.id", nullable=True, ondelete="SET NULL")
    )
    note: str = Field(default="", max_length=500)
    recorded_by_id: int | None = Field(
        default=None, sa_column=fk_column("users.id", nullable=True, ondelete="SET NULL")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
