"""The labeler's loop: next task, the task, skip (pages and JSON API). The labeler's home
page, which also lists writing and reviews, is in app/dashboard."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app.core.deps import SessionDep
from app.core.htmx import redirect
from app.core.idempotency import IdempotencyKey, run_once
from app.core.validation import DbId, NameStr
from app.experiments import assignment
from app.labeling import service
from app.labeling.schemas import (
    CritiqueIn,
    CritiqueOut,
    NextTaskOut,
    RatingIn,
    RatingOut,
    SkipOut,
    SubmitIn,
    SubmitOut,
)
from app.labeling.view import TaskView, task_json, task_view
from app.models import LabelerCritique
from app.users.deps import LabelerUser

router = APIRouter()
api = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


@router.post("/labeler/next")
def next_page(request: Request, db: SessionDep, user: LabelerUser) -> Response:
    result = assignment.next_task(db, user.id)
    if result.task_id is None:
        return redirect(request, f"/labeler/end?reason={result.code}")
    return redirect(request, f"/tasks/{result.task_id}")


@router.post("/tasks/{task_id}/skip")
def skip_page(
    request: Request,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    reason: Annotated[str, Form()],
) -> Response:
    assignment.skip(db, user.id, task_id, reason)
    return redirect(request, "/labeler?note=Task skipped; it goes to someone else.")


class SkipIn(BaseModel):
    reason: NameStr = Field(min_length=1)


# The hot path (issue 12) answers with JSON it built itself: response_model documents the
# shape, and a Response returned as is skips validating and re-serialising our own data.


@api.post("/next", response_model=NextTaskOut)
def next_api(db: SessionDep, user: LabelerUser) -> Response:
    result = assignment.next_task(db, user.id)
    return JSONResponse(
        {
            "task_id": result.task_id,
            "resumed": result.resumed,
            "reason": result.reason,
            "code": result.code,
        }
    )


@api.get("/{task_id}", response_model=TaskView)
def get_api(db: SessionDep, user: LabelerUser, task_id: DbId) -> Response:
    return JSONResponse(task_json(task_view(db, user.id, task_id)))


@api.post("/{task_id}/skip")
def skip_api(body: SkipIn, db: SessionDep, user: LabelerUser, task_id: DbId) -> SkipOut:
    assignment.skip(db, user.id, task_id, body.reason)
    return SkipOut(task_id=task_id, status="skipped")


def _critique_out(critique: LabelerCritique) -> dict[str, object]:
    return CritiqueOut.model_validate(critique, from_attributes=True).model_dump()


@api.post("/{task_id}/critiques", status_code=201, response_model=CritiqueOut)
def add_critique_api(
    request: Request,
    body: CritiqueIn,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    service.lock_task(db, task_id)  # before the key lookup: a concurrent retry waits here
    return run_once(
        db,
        request,
        user.id,
        idempotency_key,
        body,
        201,
        lambda: _critique_out(service.add_critique(db, user.id, task_id, body)),
    )


@api.put("/{task_id}/critiques/{critique_id}", response_model=CritiqueOut)
def update_critique_api(
    body: CritiqueIn, db: SessionDep, user: LabelerUser, task_id: DbId, critique_id: DbId
) -> dict[str, object]:
    return _critique_out(service.update_critique(db, user.id, task_id, critique_id, body))


@api.delete("/{task_id}/critiques/{critique_id}", status_code=204)
def delete_critique_api(
    db: SessionDep, user: LabelerUser, task_id: DbId, critique_id: DbId
) -> Response:
    service.delete_critique(db, user.id, task_id, critique_id)
    return Response(status_code=204)


@api.put("/{task_id}/rating")
def rating_api(body: RatingIn, db: SessionDep, user: LabelerUser, task_id: DbId) -> RatingOut:
    rating = service.set_rating(db, user.id, task_id, body.value)
    return RatingOut(task_id=task_id, rating=rating.value)


@api.post("/{task_id}/submit", response_model=SubmitOut)
def submit_api(
    request: Request,
    body: SubmitIn,
    db: SessionDep,
    user: LabelerUser,
    task_id: DbId,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def submit() -> dict[str, object]:
        task = service.submit(db, user.id, task_id, body)
        submitted = task.submitted_at.isoformat() if task.submitted_at else None
        return {"task_id": task.id, "status": task.status, "submitted_at": submitted}

    service.lock_task(db, task_id)  # before the key lookup: a concurrent retry waits here
    return run_once(db, request, user.id, idempotency_key, body, 200, submit)


def _loop_routes_first() -> None:
    """FastAPI tries a router's routes in order, each for some microseconds: the labeler
    loop's three are tried first. No other route here matches their paths."""
    loop = {"/api/v1/tasks/next", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/submit"}
    api.routes.sort(key=lambda route: getattr(route, "path", "") not in loop)


_loop_routes_first()
