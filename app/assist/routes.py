"""The admin's actions on assistance: queue what is missing (from the jobs page)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.assist.prompts import prompt_format
from app.assist.service import request_missing_assistance, request_missing_model_answers
from app.core.deps import SessionDep
from app.core.settings import get_settings
from app.core.templating import templates
from app.users.deps import AdminUser

router = APIRouter(prefix="/admin/jobs")


@router.post("/generate")
def generate(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    what: Annotated[str, Form()],
) -> Response:
    settings = get_settings()
    if what == "model_answers":
        n = request_missing_model_answers(db)
        message = f"queued {n} model-answer jobs"
    else:
        n = request_missing_assistance(
            db, settings.model_name, prompt_format(settings.prompt_format).version
        )
        message = f"queued {n} assistance jobs"
    return templates.TemplateResponse(request, "jobs/_queued.html", {"message": message})
