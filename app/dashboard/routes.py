"""Each role's landing page. Later domains (experiments, labeling, analysis) fill them in."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.core.deps import AdminUser, CurrentUser, ResearcherUser, SessionDep
from app.core.templating import templates
from app.corpus.service import recent_runs
from app.corpus.stats import entity_counts

router = APIRouter()


@router.get("/admin")
def admin_home(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    context = {"counts": entity_counts(db), "runs": recent_runs(db, limit=5)}
    return templates.TemplateResponse(request, "dashboard/admin.html", context)


@router.get("/labeler")
def labeler_home(request: Request, user: CurrentUser) -> Response:
    return templates.TemplateResponse(request, "dashboard/labeler.html", {})


@router.get("/research")
def research_home(request: Request, db: SessionDep, user: ResearcherUser) -> Response:
    return templates.TemplateResponse(
        request, "dashboard/research.html", {"counts": entity_counts(db)}
    )
