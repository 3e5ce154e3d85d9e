"""The researcher's landing page (the admin's is in experiments, the labeler's in labeling)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.core.deps import ResearcherUser, SessionDep
from app.core.templating import templates
from app.corpus.stats import entity_counts
from app.experiments import progress
from app.export.records import SCHEMA_VERSION

router = APIRouter()


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
