"""The admin's integrity page: flags with their evidence, and exclusions (who and why)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.core.deps import SessionDep
from app.core.errors import form_error
from app.core.htmx import redirect
from app.core.templating import templates
from app.core.validation import DbId, NameStr
from app.integrity import service
from app.integrity.view import experiment_view
from app.users.deps import AdminUser

router = APIRouter(prefix="/admin")


def _page(
    request: Request, db: SessionDep, exp_id: int, error: str | None = None, status: int = 200
) -> Response:
    return templates.TemplateResponse(
        request,
        "integrity/experiment.html",
        {"view": experiment_view(db, exp_id), "error": error},
        status_code=status,
    )


@router.get("/experiments/{exp_id}/integrity")
def integrity_page(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    service.refresh_before_reading(db, exp_id)
    return _page(request, db, exp_id)


@router.post("/experiments/{exp_id}/integrity/exclusions")
def exclude(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    exp_id: DbId,
    reason: Annotated[NameStr, Form()] = "",
    task_id: Annotated[DbId | None, Form()] = None,
    labeler_id: Annotated[DbId | None, Form()] = None,
) -> Response:
    def add() -> None:
        if task_id is not None:
            service.exclude_task(db, admin.id, task_id, reason, exp_id)
        elif labeler_id is not None:
            service.exclude_labeler(db, admin.id, exp_id, labeler_id, reason)
        else:
            service.no_target()

    if error := form_error(add):
        return _page(request, db, exp_id, error, status=400)
    return redirect(request, f"/admin/experiments/{exp_id}/integrity")


@router.post("/integrity/exclusions/{exclusion_id}/lift")
def lift(request: Request, db: SessionDep, admin: AdminUser, exclusion_id: DbId) -> Response:
    row = service.lift(db, admin.id, exclusion_id)
    return redirect(request, f"/admin/experiments/{row.experiment_id}/integrity")
