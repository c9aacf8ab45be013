"""(being written)"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.accounts.deps import require_role
from app.accounts.models import Role

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
