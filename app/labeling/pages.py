"""The task page's htmx endpoints: each edit is saved at once and answers with a fragment."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.core.deps import SessionDep
from app.core.errors import AppError, form_error
from app.core.htmx import redirect
from app.core.templating import field_status, templates
from app.core.validation import DbId, FiniteFloat
from app.experiments import assignment, progress
from app.integrity.provenance import parse_form
from app.labeling import service
from app.labeling.schemas import CritiqueIn, SubmitIn
from app.labeling.view import TaskView, task_view
from app.models import Category
from app.studies import briefing
from app.users.deps import LabelerUser

router = APIRouter(prefix="/tasks/{task_id}")

CATEGORIES = [c.value for c in Category]


def _critique_form(
    text: str,
    severity: int,
    category: str,
    category_text: str | None,
    quote: dict[str, object] | None = None,
) -> CritiqueIn:
    try:
        return CritiqueIn.model_validate(
            {
                "text": text.strip(),
                "severity": severity,
                "category": category,
                "category_text": (category_text or "").strip() or None,
                **(quote or {}),
            }
        )
    except ValidationError as exc:
        raise AppError.from_validation(exc) from exc


def _used(task: TaskView) -> dict[int, tuple[int, int]]:
    """Model critique id -> (number, id) of the labeler critique it became (the first)."""
    used: dict[int, tuple[int, int]] = {}
    for number, c in enumerate(task.critiques, 1):
        if c.assistance_critique_id is not None:
            used.setdefault(c.assistance_critique_id, (number, c.id))
    return used


def _page(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    block: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    draft: dict[str, object] | None = None,
) -> Response:
    task = task_view(db, user.id, task_id)
    context = {
        "task": task,
        "used": _used(task),
        "progress": progress.for_task(db, user.id, task_id) if block is None else None,
        "skip_reasons": assignment.SKIP_REASONS,
        "categories": CATEGORIES,
        "error": error,
        "draft": draft or {},
        # The experiment's instructions (app/studies), for the whole page only.
        "briefing": briefing.for_task(db, user.id, task_id) if block is None else None,
    }
    return templates.TemplateResponse(
        request, "labeling/task.html", context, block_name=block, status_code=status_code
    )


@router.get("")
def task_page(request: Request, db: SessionDep, user: LabelerUser, task_id: DbId) -> Response:
    view = task_view(db, user.id, task_id)
    if view.status == "submitted":
        return redirect(request, "/labeler?note=That task is already submitted.")
    service.mark_opened(db, user.id, task_id)
    return _page(request, db, user, task_id)


@router.post("/critiques")
def add(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    text: Annotated[str, Form()] = "",
    severity: Annotated[int, Form()] = 2,
    category: Annotated[str, Form()] = "accuracy",
    category_text: Annotated[str | None, Form()] = None,
    from_assistance: Annotated[DbId | None, Form()] = None,
    quote_of: Annotated[str | None, Form()] = None,
    quote_start: Annotated[int | None, Form()] = None,
    quote_end: Annotated[int | None, Form()] = None,
) -> Response:
    # "Critique this": the span of the answer or passage the critique starts from.
    given = {"quote_of": quote_of, "quote_start": quote_start, "quote_end": quote_end}
    quote: dict[str, object] = {k: v for k, v in given.items() if v not in (None, "")}

    def add() -> None:
        if from_assistance is not None:
            service.use_assistance(db, user.id, task_id, from_assistance)
        else:
            form = _critique_form(text, severity, category, category_text, quote)
            service.add_critique(db, user.id, task_id, form)

    if error := form_error(add):
        # The whole list again (the form is inside it), the draft kept for another try.
        draft = {"text": text, "severity": severity, "category": category, **quote}
        return _page(request, db, user, task_id, block="work", error=error, draft=draft)
    return _page(request, db, user, task_id, block="work")


@router.put("/critiques/{critique_id}")
def edit(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    critique_id: DbId,
    text: Annotated[str, Form()] = "",
    severity: Annotated[int, Form()] = 2,
    category: Annotated[str, Form()] = "accuracy",
    category_text: Annotated[str | None, Form()] = None,
    provenance: Annotated[str | None, Form()] = None,
) -> Response:
    # Inline validation: only the message for this critique, nothing saved.
    return field_status(
        request,
        form_error(
            lambda: service.update_critique(
                db,
                user.id,
                task_id,
                critique_id,
                _critique_form(text, severity, category, category_text),
                parse_form(provenance),
            )
        )
        or "",
    )


@router.delete("/critiques/{critique_id}")
def remove(
    request: Request, db: SessionDep, user: LabelerUser, task_id: DbId, critique_id: DbId
) -> Response:
    service.delete_critique(db, user.id, task_id, critique_id)
    return _page(request, db, user, task_id, block="work")


@router.put("/rating")
def rate(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    value: Annotated[int, Form()],
) -> Response:
    service.set_rating(db, user.id, task_id, value)
    return field_status(request)


@router.post("/passage")
def passage_revealed(db: SessionDep, user: LabelerUser, task_id: DbId) -> Response:
    service.mark_passage_revealed(db, user.id, task_id)
    return Response(status_code=204)


@router.post("/activity")
def activity(
    db: SessionDep, user: LabelerUser, task_id: DbId, seconds: Annotated[FiniteFloat, Form()]
) -> Response:
    service.add_active_time(db, user.id, task_id, seconds)
    return Response(status_code=204)


@router.post("/submit")
def submit(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    confirm_no_critiques: Annotated[bool, Form()] = False,
    provenance: Annotated[str | None, Form()] = None,
) -> Response:
    def submit() -> None:
        body = SubmitIn(
            confirm_no_critiques=confirm_no_critiques, provenance=parse_form(provenance)
        )
        service.submit(db, user.id, task_id, body)

    if error := form_error(submit):
        return _page(request, db, user, task_id, block="submit_box", error=error)
    return redirect(request, "/labeler?note=Submitted. Thank you!")
