"""Admin pages for experiments: create, edit a draft, launch, pause, watch, reassign."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.core.deps import SessionDep
from app.core.errors import AppError
from app.core.htmx import redirect
from app.core.templating import templates
from app.core.validation import DbId, NameStr
from app.experiments import assignment, design, progress, view
from app.experiments import form as experiment_form
from app.experiments.labeler_picker import PAGE_SIZE as LABELER_PAGE_SIZE
from app.experiments.labeler_picker import Pick, labelers_page
from app.jobs import queue
from app.review import view as reviews
from app.users.deps import AdminUser

MAX_EXPIRY_S = 365 * 24 * 3600  # a year: longer is a typo, and overflows nothing

router = APIRouter(prefix="/admin")
api = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])


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
    form = experiment_form.DesignForm()
    context = {**experiment_form.page_context(db, form, new=True), "error": None}
    return templates.TemplateResponse(request, "experiments/form.html", context)


@router.get("/experiments/new/passages")
def passages_fragment(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    form: experiment_form.FilterQueryDep,
    page: int = 0,
) -> Response:
    """The passages the form's search and filter keep, one page at a time."""
    context = experiment_form.page_context(db, form, max(page, 0))
    return templates.TemplateResponse(
        request, "experiments/form.html", context, block_name="passages"
    )


@router.post("/experiments/new/labelers")
def labelers_fragment(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    labelers: Annotated[list[NameStr], Form()] = [],  # noqa: B006 (FastAPI form default)
    labeler_search: Annotated[str, Form(max_length=200)] = "",
    page: Annotated[int, Form(ge=0, le=1_000_000)] = 0,
    pick: Annotated[Pick | None, Form()] = None,
) -> Response:
    """The labelers the search keeps, one page at a time; "tick/untick all matching" acts on
    every page. A POST: the chosen labelers (hundreds) travel in the body, not the URL."""
    context = {
        "labelers": labelers_page(db, labeler_search, page, labelers, pick),
        "labeler_search": labeler_search,
        "labeler_page_size": LABELER_PAGE_SIZE,
    }
    return templates.TemplateResponse(
        request, "experiments/form.html", context, block_name="labelers"
    )


@router.post("/experiments/check")
def fill_check(
    request: Request, db: SessionDep, admin: AdminUser, form: experiment_form.DesignFormDep
) -> Response:
    """Before creating: can the design be filled, and if not, what to change."""
    context = {"check": experiment_form.fill_check(db, form), "rule": form.rule}
    return templates.TemplateResponse(request, "experiments/_fill_check.html", context)


@router.post("/experiments")
def create_form(
    request: Request, db: SessionDep, admin: AdminUser, form: experiment_form.DesignFormDep
) -> Response:
    try:
        exp = design.create(db, form.to_design(db), created_by=admin.id)
    except AppError as exc:
        db.rollback()
        context = {**experiment_form.page_context(db, form), "error": exc.message}
        return templates.TemplateResponse(
            request, "experiments/form.html", context, status_code=exc.status_code
        )
    return redirect(request, f"/admin/experiments/{exp.id}")


@router.get("/experiments/{exp_id}")
def detail(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    return templates.TemplateResponse(request, "experiments/detail.html", view.detail(db, exp_id))


@router.get("/experiments/{exp_id}/progress")
def progress_fragment(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    return templates.TemplateResponse(
        request, "experiments/_progress.html", view.detail(db, exp_id)
    )


@router.post("/experiments/{exp_id}/launch")
def launch(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    design.launch(db, exp_id)
    return redirect(request, f"/admin/experiments/{exp_id}")


@router.post("/experiments/{exp_id}/pause")
def pause(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    design.set_paused(db, exp_id, True)
    return redirect(request, f"/admin/experiments/{exp_id}")


@router.post("/experiments/{exp_id}/resume")
def resume(request: Request, db: SessionDep, admin: AdminUser, exp_id: DbId) -> Response:
    design.set_paused(db, exp_id, False)
    return redirect(request, f"/admin/experiments/{exp_id}")


@router.post("/tasks/{task_id}/reassign")
def reassign(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    task_id: DbId,
    exp_id: Annotated[DbId, Form()],
) -> Response:
    assignment.reassign(db, task_id, admin.username)
    return templates.TemplateResponse(
        request, "experiments/_progress.html", view.detail(db, exp_id)
    )


class ExperimentCreate(BaseModel):
    name: NameStr
    sources: list[NameStr] = Field(
        default_factory=lambda: list(design.ALL_SOURCES), max_length=len(design.ALL_SOURCES)
    )
    labelers: list[NameStr] = Field(max_length=10_000)
    question_ids: list[DbId] | None = Field(default=None, max_length=100_000)
    labelers_per_condition: int = Field(default=1, ge=1, le=1000)
    task_expiry_s: int = Field(default=4 * 3600, ge=60, le=MAX_EXPIRY_S)


class ExperimentOut(BaseModel):
    id: int
    status: str
    name: str


class LaunchedOut(BaseModel):
    id: int
    tasks: int = Field(description="labeling tasks created")


@api.post("", status_code=201)
def create_api(body: ExperimentCreate, db: SessionDep, admin: AdminUser) -> ExperimentOut:
    exp = design.create(db, design.Design(**body.model_dump()), created_by=admin.id)
    return ExperimentOut(id=exp.id, status=exp.status, name=exp.name)


@api.post("/{exp_id}/launch")
def launch_api(db: SessionDep, admin: AdminUser, exp_id: DbId) -> LaunchedOut:
    return LaunchedOut(id=exp_id, tasks=design.launch(db, exp_id))


@api.put("/{exp_id}")
def update_api(
    body: ExperimentCreate, db: SessionDep, admin: AdminUser, exp_id: DbId
) -> ExperimentOut:
    exp = design.update_draft(db, exp_id, design.Design(**body.model_dump()))
    return ExperimentOut(id=exp.id, status=exp.status, name=exp.name)
