"""The pipeline's part of a person's own data (app/accounts/data.py): their applications to
carry a project, their profile in the register of carriers, the ideas proposed to them and the
projects they brought (issue 17), in the export. (Erasing the account deletes them by ON DELETE
CASCADE.) Registered at start-up by app/ops/wiring.py."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.accounts.data import exported_rows
from app.pipeline.models import (
    CarrierApplication,
    CarrierInvitation,
    CarrierProfile,
    CarrierProposal,
)


def carrier_applications(session: Session, uid: int) -> dict[str, list[dict[str, Any]]]:
    return {
        "carrier_applications": exported_rows(
            session, CarrierApplication, CarrierApplication.user_id == uid
        ),
        "carrier_profile": exported_rows(session, CarrierProfile, CarrierProfile.user_id == uid),
        "carrier_invitations": exported_rows(
            session, CarrierInvitation, CarrierInvitation.user_id == uid
        ),
        "carrier_proposals": exported_rows(
            session, CarrierProposal, CarrierProposal.user_id == uid
        ),
    }
