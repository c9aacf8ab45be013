"""One action on a selection of the queue, each item handled as if alone."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from app.accounts.models import User
from app.moderation import report_decisions, service
from app.moderation.decisions import clean_detail, validate_reason
from app.moderation.permissions import ensure_moderator
from app.web.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.web.i18n import gettext as _

BULK_ACTIONS = ("approve", "reject", "hide", "dismiss")


@dataclass(frozen=True)
class BulkTarget:
    kind: str  # need, comment, user
    id: int
    seen_status: str
    seen_report_id: int | None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)  # item keys
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item key, error code)


def bulk_error_code(exc: AppError) -> str:
    if isinstance(exc, Conflict):
        return "conflict"
    if isinstance(exc, NotFound):
        return "notfound"
    if isinstance(exc, Forbidden):
        return "forbidden"
    return "invalid"


def bulk_decide(
    session: Session,
    moderator: User,
    action: str,
    targets: list[BulkTarget],
    *,
    reason: str = "",
    detail: str = "",
) -> BulkResult:
    """One action on a selection, each item handled as if alone (its own optimistic check and
    its own commit): one stale item fails without stopping the others."""
    ensure_moderator(moderator)
    errors: dict[str, str] = {}
    if action not in BULK_ACTIONS:
        errors["action"] = _("Choisissez l'action à appliquer à la sélection.")
    if not targets:
        errors["items"] = _("Cochez au moins un élément de la file.")
    detail = clean_detail(detail)
    if action in ("reject", "hide") and not errors:
        validate_reason(reason, detail)
    if errors:
        raise Invalid(errors)
    result = BulkResult()
    for target in targets:
        try:
            if action == "dismiss":
                report_decisions.dismiss_reports(
                    session,
                    moderator,
                    target.kind,
                    target.id,
                    seen_report_id=target.seen_report_id,
                )
            elif target.kind in service.KINDS:
                service.decide(
                    session,
                    moderator,
                    target.kind,
                    target.id,
                    action,
                    seen_status=target.seen_status,
                    reason=reason,
                    detail=detail,
                )
            else:
                raise Invalid({"decision": _("Cette décision ne s'applique pas à un compte.")})
        except AppError as exc:
            session.rollback()
            result.failed.append((target.key, bulk_error_code(exc)))
        else:
            result.done.append(target.key)
    return result
