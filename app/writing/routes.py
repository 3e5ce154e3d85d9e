"""Answer writing: the writer's page and API, and the admin's assignment page and API."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.core.deps import SessionDep
from app.core.errors import Invalid, form_error
from app.core.htmx import redirect
from app.core.templating import field_status, templates
from app.core.validation import DbId
from app.labeling.pages import CATEGORIES
from app.users.deps import AdminUser, LabelerUser
from app.writing import service
from app.writing.schemas import (
    AssignWritingIn,
    WritingAssignedOut,
    WritingDraftIn,
    WritingDraftSavedOut,
    WritingIn,
    WritingSubmitOut,
)

router = APIRouter()
api = APIRouter(prefix="/api/v1/writing", tags=["writing"])


FormList = Annotated[list[str], Form()]


def draft_from_form(
    honest_text: Annotated[str, Form()] = "",
    misleading_text: Annotated[str, Form()] = "",
    ic_text: FormList = [],  # noqa: B006 - FastAPI copies defaults
    ic_severity: FormList = [],  # noqa: B006
    ic_category: FormList = [],  # noqa: B006
    ic_category_text: FormList = [],  # noqa: B006
) -> WritingDraftIn:
    """The page's form: the two answers and one row per non-empty intended critique."""
    rows: list[dict[str, object]] = [
        {
            "text": text.strip(),
            "severity": int(sev) if sev.isdigit() and len(sev) < 3 else 2,
            "category": cat,
            "category_text": cat_text.strip() or None,
        }
        for text, sev, cat, cat_text in zip(
            ic_text, ic_severity, ic_category, ic_category_text, strict=False
        )
        if text.strip()
    ]
    try:
        return WritingDraftIn(
            honest_text=honest_text, misleading_text=misleading_text, intended_critiques=rows
        )
    except ValidationError as exc:
        raise Invalid.from_validation(exc) from exc


DraftForm = Annotated[WritingDraftIn, Depends(draft_from_form)]


def _page(
    request: Request,
    db: SessionDep,
    user_id: int,
    task_id: DbId,
    block: str | None = None,
    extra_row: bool = False,
    error: str | None = None,
) -> Response:
    view = service.view(db, user_id, task_id)
    rows = view.intended_critiques + ([{}] if extra_row or not view.intended_critiques else [])
    return templates.TemplateResponse(
        request,
        "writing/task.html",
        {"task": view, "rows": rows, "categories": CATEGORIES, "error": error},
        block_name=block,
    )


@router.get("/writing/{task_id}")
def writing_page(request: Request, db: SessionDep, user: LabelerUser, task_id: DbId) -> Response:
    service.mark_opened(db, user.id, task_id)
    return _page(request, db, user.id, task_id)


@router.post("/writing/{task_id}/draft")
def save_draft(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    draft: DraftForm,
    add_row: Annotated[bool, Form()] = False,
) -> Response:
    service.save_draft(db, user.id, task_id, draft)
    if add_row:
        return _page(request, db, user.id, task_id, block="intended", extra_row=True)
    return field_status(request)


@router.post("/writing/{task_id}/submit")
def submit_page(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    draft: DraftForm,
) -> Response:
    service.save_draft(db, user.id, task_id, draft)
    if error := form_error(lambda: service.submit(db, user.id, task_id)):
        return _page(request, db, user.id, task_id, block="submit_box", error=error)
    return redirect(request, "/labeler?note=Answers submitted. Thank you!")


@api.get("/{task_id}", response_model=service.WritingView)
def get_api(db: SessionDep, user: LabelerUser, task_id: DbId) -> dict[str, object]:
    return asdict(service.view(db, user.id, task_id))


@api.put("/{task_id}/draft")
def draft_api(
    body: WritingDraftIn, db: SessionDep, user: LabelerUser, task_id: DbId
) -> WritingDraftSavedOut:
    service.save_draft(db, user.id, task_id, body)
    return WritingDraftSavedOut(task_id=task_id, saved=True)


@api.post("/{task_id}/submit")
def submit_api(
    db: SessionDep, user: LabelerUser, task_id: DbId, body: WritingIn | None = None
) -> WritingSubmitOut:
    task = service.submit(db, user.id, task_id, body)
    return WritingSubmitOut(
        task_id=task.id,
        status=task.status,
        honest_answer_id=task.honest_answer_id,
        misleading_answer_id=task.misleading_answer_id,
    )


@api.post("", status_code=201)
def assign_api(body: AssignWritingIn, db: SessionDep, admin: AdminUser) -> WritingAssignedOut:
    tasks = service.assign(db, body.writer, body.question_ids, admin.id)
    return WritingAssignedOut(task_ids=[t.id for t in tasks])


@router.get("/admin/writing")
def admin_page(
    request: Request, db: SessionDep, admin: AdminUser, note: str | None = None
) -> Response:
    choices = service.assign_choices(db)
    return templates.TemplateResponse(
        request,
        "writing/admin.html",
        {
            "writers": choices.writers,
            "questions": choices.questions,
            "tasks": service.all_tasks(db),
            "note": note,
        },
    )


@router.post("/admin/writing")
def assign_page(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    writer: Annotated[str, Form()] = "",
    question_ids: Annotated[list[DbId], Form()] = [],  # noqa: B006
) -> Response:
    tasks = service.assign(db, writer, question_ids, admin.id)
    return redirect(
        request, f"/admin/writing?note=Assigned {len(tasks)} writing task(s) to {writer}."
    )
