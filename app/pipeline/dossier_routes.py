"""The demand dossier of an idea (issue 17, item 2): a printable staff page and its CSV.

Staff and admins only, like the rest of the pipeline under /moderation: the router asks for
Role.staff. What the dossier holds is read by app.pipeline.dossier (the page) and
app.pipeline.dossier_export (the CSV).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from app.accounts.deps import require_role
from app.accounts.models import Role, User
from app.core.clock import local_today
from app.pipeline import dossier as dossier_data
from app.pipeline.dossier_export import dossier_csv
from app.web.deps import SessionDep
from app.web.templating import render

router = APIRouter(prefix="/moderation", dependencies=[Depends(require_role(Role.staff))])
Staff = Annotated[User, Depends(require_role(Role.staff))]

PRIVATE = {"Cache-Control": "private, no-store"}


@router.get("/ideas/{idea_id}/dossier")
def dossier_page(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    found = dossier_data.build_dossier(session, idea_id)
    return render(
        request,
        "pipeline/dossier.html",
        {
            "dossier": found,
            "idea": found.idea,
            "concern_labels": dossier_data.CONCERN_LABELS,
            "comments_shown": dossier_data.COMMENTS_SHOWN,
            "section": "ideas",
        },
        headers=PRIVATE,
    )


@router.get("/ideas/{idea_id}/dossier.csv")
def dossier_download(request: Request, session: SessionDep, user: Staff, idea_id: int) -> Response:
    chunks = dossier_csv(session, idea_id, request.app.state.settings.base_url)
    filename = f"dossier-idee-{idea_id}-{local_today().isoformat()}.csv"
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **PRIVATE},
    )
