"""Judgement tasks: the labeler's page and API, the admin's batches, the paper export."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from app.core.deps import SessionDep
from app.core.errors import AppError, Invalid, NotFound
from app.core.htmx import redirect
from app.core.idempotency import IdempotencyKey, run_once
from app.core.templating import field_status, templates
from app.core.validation import DbId
from app.judgements import batches, export, service
from app.judgements.schemas import (
    BatchCreatedOut,
    BatchIn,
    BatchListOut,
    BatchOut,
    DraftSavedOut,
    JudgementDraftIn,
    JudgementListItem,
    JudgementListOut,
    JudgementSubmitIn,
    JudgementSubmitOut,
    JudgementTaskOut,
)
from app.labeling.pages import CATEGORIES
from app.users.deps import AdminUser, LabelerUser, ResearcherUser

router = APIRouter()
api = APIRouter(prefix="/api/v1/judgements", tags=["judgements"])

_YES_NO = {"yes": True, "no": False}


async def draft_from_form(request: Request) -> JudgementDraftIn:
    """The page's form: one `critique_id` per critique shown, `helpful_<id>` (yes/no) and
    `rank_<id>`, the two questions (yes/no) and the better critique's fields."""
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def number(name: str) -> int | None:
        value = text(name)
        return int(value) if value.isdigit() and len(value) < 5 else None

    verdicts = []
    for raw in form.getlist("critique_id"):
        if not (isinstance(raw, str) and raw.isdigit() and len(raw) < 10):
            continue
        helpful = _YES_NO.get(text(f"helpful_{raw}"))
        verdicts.append(
            {"id": int(raw), "helpful": helpful, "rank": number(f"rank_{raw}") if helpful else None}
        )
    better = _YES_NO.get(text("has_better_critique"))
    new = None
    if text("new_text") or better:
        new = {
            "text": text("new_text"),
            "severity": number("new_severity") or 2,
            "category": text("new_category") or "accuracy",
            "category_text": text("new_category_text") or None,
        }
    try:
        return JudgementDraftIn.model_validate(
            {
                "critiques": verdicts,
                "is_critiqueable": _YES_NO.get(text("is_critiqueable")),
                "has_better_critique": better,
                "new_critique": new,
            }
        )
    except ValidationError as exc:
        raise Invalid.from_validation(exc) from exc


DraftForm = Annotated[JudgementDraftIn, Depends(draft_from_form)]


def _page(
    request: Request,
    db: SessionDep,
    user_id: int,
    task_id: int,
    block: str | None = None,
    error: str | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "judgements/task.html",
        {"task": service.view(db, user_id, task_id), "categories": CATEGORIES, "error": error},
        block_name=block,
    )


@router.get("/judgements/{judgement_id}")
def task_page(request: Request, db: SessionDep, user: LabelerUser, judgement_id: DbId) -> Response:
    service.mark_opened(db, user.id, judgement_id)
    return _page(request, db, user.id, judgement_id)


@router.post("/judgements/{judgement_id}/draft")
def draft_page(
    request: Request, db: SessionDep, user: LabelerUser, judgement_id: DbId, draft: DraftForm
) -> Response:
    service.save_draft(db, user.id, judgement_id, draft)
    return field_status(request)


@router.post("/judgements/{judgement_id}/submit")
def submit_page(
    request: Request, db: SessionDep, user: LabelerUser, judgement_id: DbId, draft: DraftForm
) -> Response:
    if service.view(db, user.id, judgement_id).status != "submitted":
        service.save_draft(db, user.id, judgement_id, draft)
    # A refused submission stores nothing but the draft (saved just above, as autosave
    # would): submit checks everything before it writes.
    try:
        service.submit(db, user.id, judgement_id)
    except AppError as exc:
        if exc.status_code not in (400, 422):
            raise
        return _page(request, db, user.id, judgement_id, block="submit_box", error=exc.message)
    return redirect(request, "/labeler?note=Judgements submitted. Thank you!")


@router.get("/admin/judgements")
def admin_page(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    note: str | None = None,
    error: str | None = None,
) -> Response:
    return _admin(request, db, note=note, error=error)


@router.post("/admin/judgements")
def create_page(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    name: Annotated[str, Form()] = "",
    question_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    labelers: Annotated[list[str], Form()] = [],  # noqa: B006
    judgements_per_critique: Annotated[str, Form()] = "1",
    split: Annotated[str, Form()] = "train",
) -> Response:
    try:
        spec = BatchIn.model_validate(
            {
                "name": name.strip(),
                "question_ids": [int(q) for q in question_ids if q.isdigit() and len(q) < 10],
                "labelers": labelers,
                "judgements_per_critique": int(judgements_per_critique)
                if judgements_per_critique.isdigit() and len(judgements_per_critique) < 4
                else 0,
                "split": split.strip(),
            }
        )
        with db.begin_nested():
            batch = batches.create_batch(db, spec, admin.id)
    except ValidationError as exc:
        return _admin(request, db, error=Invalid.from_validation(exc).message, status_code=422)
    except AppError as exc:
        return _admin(request, db, error=exc.message, status_code=422)
    n = len(batches.task_ids(db, batch.id))
    return redirect(request, f"/admin/judgements?note=Batch {batch.name}: {n} judgement task(s).")


def _admin(
    request: Request,
    db: SessionDep,
    note: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    labelers, questions = batches.choices(db)
    return templates.TemplateResponse(
        request,
        "judgements/admin.html",
        {
            "labelers": labelers,
            "questions": questions,
            "batches": batches.progress(db),
            "note": note,
            "error": error,
        },
        status_code=status_code,
    )


# -- JSON API (batches and export first: /{judgement_id} would shadow them) -------------


@api.post("/batches", status_code=201)
def create_batch_api(body: BatchIn, db: SessionDep, admin: AdminUser) -> BatchCreatedOut:
    batch = batches.create_batch(db, body, admin.id)
    (progress,) = batches.progress(db, batch.id)
    return BatchCreatedOut(batch=progress, task_ids=batches.task_ids(db, batch.id))


@api.get("/batches")
def list_batches_api(db: SessionDep, admin: AdminUser) -> BatchListOut:
    data = batches.progress(db)
    return BatchListOut(data=data, count=len(data))


@api.get("/batches/{batch_id}")
def batch_api(db: SessionDep, admin: AdminUser, batch_id: DbId) -> BatchOut:
    found = batches.progress(db, batch_id)
    if not found:
        raise NotFound(f"no judgement batch {batch_id}")
    return found[0]


@api.get("/export", response_class=StreamingResponse)
def export_api(user: ResearcherUser) -> StreamingResponse:
    """Every judgement (imported and collected here) in the paper's release format, JSONL."""
    return StreamingResponse(
        export.stream_lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="judgements.jsonl"'},
    )


@api.get("")
def list_api(db: SessionDep, user: LabelerUser) -> JudgementListOut:
    data = [
        JudgementListItem(id=t.id, status=t.status, question=q)
        for t, q in service.mine(db, user.id)
    ]
    return JudgementListOut(data=data, count=len(data))


@api.get("/{judgement_id}")
def get_api(db: SessionDep, user: LabelerUser, judgement_id: DbId) -> JudgementTaskOut:
    return service.view(db, user.id, judgement_id)


@api.put("/{judgement_id}/draft")
def draft_api(
    body: JudgementDraftIn, db: SessionDep, user: LabelerUser, judgement_id: DbId
) -> DraftSavedOut:
    service.save_draft(db, user.id, judgement_id, body)
    return DraftSavedOut(task_id=judgement_id, saved=True)


@api.post("/{judgement_id}/submit", response_model=JudgementSubmitOut)
def submit_api(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    judgement_id: DbId,
    body: JudgementSubmitIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def submit() -> dict[str, object]:
        task = service.submit(db, user.id, judgement_id, body)
        at = task.submitted_at.isoformat() if task.submitted_at else None
        return JudgementSubmitOut(task_id=task.id, status=task.status, submitted_at=at).model_dump()

    service.lock(db, user.id, judgement_id)  # before the key lookup: a retry waits here
    return run_once(db, request, user.id, idempotency_key, body, 200, submit)
