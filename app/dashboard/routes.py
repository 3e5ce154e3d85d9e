"""Landing pages that gather several domains: the labeler's (tasks, answers to write,
reviews, critiques to judge) and the researcher's. The admin's is in experiments."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.core.deps import SessionDep
from app.core.htmx import redirect
from app.core.templating import templates
from app.corpus.stats import entity_counts
from app.dashboard.end import STATUS_NOTES, end_reason
from app.experiments import progress
from app.export.records import SCHEMA_VERSION
from app.judgements import service as judgements
from app.labeling import service as labeling
from app.review import view as reviews
from app.studies.service import study_home
from app.users.deps import LabelerUser, ResearcherUser
from app.writing import service as writing

router = APIRouter()


@router.get("/labeler")
def labeler_home(
    request: Request, db: SessionDep, user: LabelerUser, note: str | None = None
) -> Response:
    # A study's participant has the study page as home (onboarding, progress, completion).
    if (study_page := study_home(db, user.id)) is not None:
        return redirect(request, study_page + (f"?{urlencode({'note': note})}" if note else ""))
    mine = labeling.labeler_home(db, user.id)
    return templates.TemplateResponse(
        request,
        "dashboard/labeler.html",
        {
            "done": mine.done,
            "open_id": mine.open_task_id,
            "progress": progress.for_labeler(db, user.id),
            "status_notes": STATUS_NOTES,
            "note": note,
            "writing": writing.mine(db, user.id),
            "reviews": reviews.mine(db, user.id),
            "judgements": judgements.mine(db, user.id),
        },
    )


@router.get("/labeler/end")
def labeler_end(
    request: Request, db: SessionDep, user: LabelerUser, reason: str | None = None
) -> Response:
    """Where "Next task" lands when there is none: the reason, and each experiment's state."""
    experiments = progress.for_labeler(db, user.id)
    return templates.TemplateResponse(
        request,
        "dashboard/end.html",
        {
            "end": end_reason(reason, experiments),
            "progress": experiments,
            "status_notes": STATUS_NOTES,
        },
    )


@router.get("/research")
def research_home(request: Request, db: SessionDep, user: ResearcherUser) -> Response:
    return templates.TemplateResponse(
        request,
        "dashboard/research.html",
        {
            "counts": entity_counts(db),
            "experiments": progress.experiments(db),
            "schema_version": SCHEMA_VERSION,
        },
    )
