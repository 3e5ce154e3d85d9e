"""The admin's study pages for one experiment: instructions, comprehension questions, gold
checks and study links (setup), and each labeler's quality."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.core.deps import SessionDep
from app.core.errors import form_error
from app.core.htmx import redirect
from app.core.templating import templates
from app.core.validation import DbId
from app.models.base import utcnow
from app.studies import checks, links, quality, service, setup
from app.users.deps import AdminUser

router = APIRouter(prefix="/admin/experiments/{exp_id}")

MAX_LINK_DAYS = 365


def _setup_page(
    request: Request, db: SessionDep, exp_id: int, error: str | None = None, status: int = 200
) -> Response:
    context = {**setup.page_context(db, exp_id, str(request.base_url)), "error": error}
    return templates.TemplateResponse(request, "studies/setup.html", context, status_code=status)


def _back(request: Request, exp_id: int, note: str) -> Response:
    return redirect(request, f"/admin/experiments/{exp_id}/study?note={note}")


@router.get("/study")
def setup_page(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    return _setup_page(request, db, exp_id)


@router.post("/briefing")
def save_briefing(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    exp_id: DbId,
    instructions: Annotated[str, Form(max_length=20_000)] = "",
    check_rate_percent: Annotated[int, Form(ge=0, le=100)] = 0,
) -> Response:
    service.save_briefing(db, exp_id, instructions, check_rate_percent)
    return _back(request, exp_id, "Instructions saved.")


@router.post("/comprehension")
def add_question(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    exp_id: DbId,
    prompt: Annotated[str, Form(max_length=2_000)] = "",
    options: Annotated[str, Form(max_length=5_000)] = "",
    correct: Annotated[int, Form(ge=1, le=50)] = 1,
) -> Response:
    lines = options.splitlines()
    if error := form_error(lambda: service.add_question(db, exp_id, prompt, lines, correct - 1)):
        return _setup_page(request, db, exp_id, error, 400)
    return _back(request, exp_id, "Question added.")


@router.post("/comprehension/{question_id}/delete")
def delete_question(
    request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId, question_id: DbId
) -> Response:
    service.delete_question(db, exp_id, question_id)
    return _back(request, exp_id, "Question removed.")


@router.post("/checks")
def mark_check(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    exp_id: DbId,
    answer_id: Annotated[DbId, Form()],
) -> Response:
    if error := form_error(lambda: checks.mark(db, exp_id, answer_id)):
        return _setup_page(request, db, exp_id, error, 400)
    return _back(request, exp_id, f"Answer {answer_id} is a check.")


@router.post("/checks/{answer_id}/delete")
def unmark_check(
    request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId, answer_id: DbId
) -> Response:
    checks.unmark(db, exp_id, answer_id)
    return _back(request, exp_id, f"Answer {answer_id} is no longer a check.")


@router.post("/studies")
def create_study(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    exp_id: DbId,
    name: Annotated[str, Form(max_length=200)] = "",
    platform: Annotated[str, Form(max_length=32)] = "prolific",
    participant_param: Annotated[str, Form(max_length=64)] = "",
    study_param: Annotated[str, Form(max_length=64)] = "",
    session_param: Annotated[str, Form(max_length=64)] = "",
    expires_days: Annotated[int, Form(ge=1, le=MAX_LINK_DAYS)] = 30,
    max_participants: Annotated[int, Form(ge=1, le=100_000)] = 50,
    quota_tasks: Annotated[int | None, Form(ge=1, le=10_000)] = None,
    quota_minutes: Annotated[int | None, Form(ge=1, le=10_000)] = None,
    completion_code: Annotated[str, Form(max_length=200)] = "",
    completion_url: Annotated[str, Form(max_length=2_000)] = "",
    screenout_code: Annotated[str, Form(max_length=200)] = "",
    screenout_url: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    preset = links.PLATFORMS.get(platform, links.PLATFORMS["custom"])
    data = service.StudyIn(
        name=name,
        platform=platform,
        participant_param=participant_param or preset.participant,
        study_param=study_param or preset.study,
        session_param=session_param or preset.session,
        expires_at=utcnow() + timedelta(days=expires_days),
        max_participants=max_participants,
        quota_tasks=quota_tasks,
        quota_minutes=quota_minutes,
        completion_code=completion_code,
        completion_url=completion_url,
        screenout_code=screenout_code,
        screenout_url=screenout_url,
    )
    if error := form_error(lambda: service.create_study(db, exp_id, data)):
        return _setup_page(request, db, exp_id, error, 400)
    return _back(request, exp_id, "Study link created.")


@router.get("/quality")
def quality_page(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    context = {
        "exp": setup.experiment(db, exp_id),
        "rows": quality.by_labeler(db, exp_id),
        "similarity": quality.FOUND_SIMILARITY,
        "min_tasks": quality.MIN_TASKS_FOR_FLAGS,
        "too_fast": quality.TOO_FAST_SHARE,
    }
    return templates.TemplateResponse(request, "studies/quality.html", context)
