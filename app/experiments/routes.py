"""Admin pages for experiments: create, edit a draft, launch, pause, watch, reassign."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.core.deps import AdminUser, SessionDep
from app.core.errors import AppError
from app.core.htmx import redirect
from app.core.templating import templates
from app.experiments import assignment, design, progress
from app.jobs import queue
from app.models import (
    Condition,
    ExperimentLabeler,
    ExperimentQuestion,
    Passage,
    Question,
    Role,
    User,
)
from app.review import service as reviews

router = APIRouter(prefix="/admin")
api = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])


def _form_context(db: SessionDep) -> dict[str, object]:
    labelers = db.scalars(
        select(User)
        .where(User.role == Role.labeler, User.is_active.is_(True))
        .order_by(User.username)
    ).all()
    passages = db.scalars(select(Passage).order_by(Passage.id)).all()
    counts = dict(db.execute(select(Question.passage_id, Question.id)).all())
    return {
        "labelers": labelers,
        "passages": passages,
        "sources": design.ALL_SOURCES,
        "question_counts": counts,
    }


def _design_from_form(
    db: SessionDep,
    name: str,
    sources: list[str],
    labelers: list[str],
    passages: list[int],
    labelers_per_condition: int,
    expiry_hours: float,
) -> design.Design:
    qids = None
    if passages:
        qids = list(db.scalars(select(Question.id).where(Question.passage_id.in_(passages))))
    return design.Design(
        name=name,
        sources=sources,
        labelers=labelers,
        question_ids=qids,
        labelers_per_condition=labelers_per_condition,
        task_expiry_s=int(expiry_hours * 3600),
    )


@router.get("")
def dashboard(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    rows = [
        (e, progress.by_condition(db, e.id), reviews.counts(db, e.id))
        for e in progress.experiments(db)
    ]
    return templates.TemplateResponse(
        request,
        "experiments/dashboard.html",
        {"rows": rows, "job_counts": queue.counts_by_status(db)},
    )


@router.get("/experiments/new")
def new_page(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return templates.TemplateResponse(
        request,
        "experiments/form.html",
        {**_form_context(db), "exp": None, "error": None, "chosen": {}},
    )


@router.post("/experiments")
def create_form(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    name: Annotated[str, Form()],
    sources: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI form default)
    labelers: Annotated[list[str], Form()] = [],  # noqa: B006
    passages: Annotated[list[int], Form()] = [],  # noqa: B006
    labelers_per_condition: Annotated[int, Form()] = 1,
    expiry_hours: Annotated[float, Form()] = 4.0,
) -> Response:
    d = _design_from_form(
        db, name, sources, labelers, passages, labelers_per_condition, expiry_hours
    )
    try:
        exp = design.create(db, d, created_by=admin.id)
    except AppError as exc:
        db.rollback()
        chosen = {"name": name, "sources": sources, "labelers": labelers, "passages": passages}
        return templates.TemplateResponse(
            request,
            "experiments/form.html",
            {**_form_context(db), "exp": None, "error": exc.message, "chosen": chosen},
            status_code=exc.status_code,
        )
    return redirect(request, f"/admin/experiments/{exp.id}")


@router.get("/experiments/{exp_id}")
def detail(request: Request, db: SessionDep, admin: AdminUser, exp_id: int) -> Response:
    return templates.TemplateResponse(
        request, "experiments/detail.html", _detail_context(db, exp_id)
    )


@router.get("/experiments/{exp_id}/progress")
def progress_fragment(request: Request, db: SessionDep, admin: AdminUser, exp_id: int) -> Response:
    return templates.TemplateResponse(
        request, "experiments/_progress.html", _detail_context(db, exp_id)
    )


def _detail_context(db: SessionDep, exp_id: int) -> dict[str, object]:
    exp = design.get(db, exp_id)
    pool = db.scalars(
        select(User.username)
        .join(ExperimentLabeler, ExperimentLabeler.user_id == User.id)
        .where(ExperimentLabeler.experiment_id == exp_id)
        .order_by(User.username)
    ).all()
    n_questions = len(
        db.scalars(
            select(ExperimentQuestion.question_id).where(ExperimentQuestion.experiment_id == exp_id)
        ).all()
    )
    conditions = db.scalars(select(Condition).where(Condition.experiment_id == exp_id)).all()
    return {
        "exp": exp,
        "pool": pool,
        "n_questions": n_questions,
        "conditions": conditions,
        "progress": progress.by_condition(db, exp_id),
        "labelers": progress.labeler_work(db, exp_id),
        "open_tasks": progress.open_tasks(db, exp_id),
        "problems": design.fill_problems(db, exp_id),
        "reviews": reviews.counts(db, exp_id),
    }


@router.post("/experiments/{exp_id}/launch")
def launch(request: Request, db: SessionDep, admin: AdminUser, exp_id: int) -> Response:
    design.launch(db, exp_id)
    return redirect(request, f"/admin/experiments/{exp_id}")


@router.post("/experiments/{exp_id}/pause")
def pause(request: Request, db: SessionDep, admin: AdminUser, exp_id: int) -> Response:
    design.set_paused(db, exp_id, True)
    return redirect(request, f"/admin/experiments/{exp_id}")


@router.post("/experiments/{exp_id}/resume")
def resume(request: Request, db: SessionDep, admin: AdminUser, exp_id: int) -> Response:
    design.set_paused(db, exp_id, False)
    return redirect(request, f"/admin/experiments/{exp_id}")


@router.post("/tasks/{task_id}/reassign")
def reassign(
    request: Request, db: SessionDep, admin: AdminUser, task_id: int, exp_id: Annotated[int, Form()]
) -> Response:
    assignment.reassign(db, task_id, admin.username)
    return templates.TemplateResponse(
        request, "experiments/_progress.html", _detail_context(db, exp_id)
    )


class ExperimentCreate(BaseModel):
    name: str
    sources: list[str] = Field(default_factory=lambda: list(design.ALL_SOURCES))
    labelers: list[str]
    question_ids: list[int] | None = None
    labelers_per_condition: int = 1
    task_expiry_s: int = 4 * 3600


@api.post("", status_code=201)
def create_api(body: ExperimentCreate, db: SessionDep, admin: AdminUser) -> dict[str, object]:
    exp = design.create(db, design.Design(**body.model_dump()), created_by=admin.id)
    return {"id": exp.id, "status": exp.status}


@api.post("/{exp_id}/launch")
def launch_api(db: SessionDep, admin: AdminUser, exp_id: int) -> dict[str, object]:
    return {"id": exp_id, "tasks": design.launch(db, exp_id)}


@api.put("/{exp_id}")
def update_api(
    body: ExperimentCreate, db: SessionDep, admin: AdminUser, exp_id: int
) -> dict[str, object]:
    exp = design.update_draft(db, exp_id, design.Design(**body.model_dump()))
    return {"id": exp.id, "status": exp.status, "name": exp.name}
