"""The researcher's report page: a stored report shows at once; computing one is a worker's
job (app/analysis/tasks.py) whose progress the page polls; downloads come from the store."""

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.analysis import cache
from app.analysis.report import analyze, fmt
from app.core.deps import SessionDep
from app.core.errors import NotFound
from app.core.htmx import redirect
from app.core.templating import templates
from app.experiments import design
from app.export.service import export_lines
from app.integrity.service import refresh_before_reading
from app.models.reports import AnalysisReport, ReportStatus
from app.users.deps import ResearcherUser

router = APIRouter(prefix="/research/experiments/{exp_id}")
api = APIRouter(prefix="/api/v1/experiments", tags=["analysis"])

FIGURE_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


@router.get("/report")
def report_page(request: Request, db: SessionDep, user: ResearcherUser, exp_id: int) -> Response:
    exp = design.get(db, exp_id)  # 404 for an unknown experiment
    state = cache.state(db, exp_id)
    return templates.TemplateResponse(
        request,
        "analysis/page.html",
        {"exp": exp, "state": state, "fmt": fmt, "statuses": ReportStatus},
    )


@router.post("/report/compute")
def compute(request: Request, db: SessionDep, user: ResearcherUser, exp_id: int) -> Response:
    """Ask a worker for the report of the export as it is now (nothing new if it is under
    way or done). Changes no research data: it refreshes a derived, cached report."""
    design.get(db, exp_id)
    state = cache.state(db, exp_id)
    row = cache.request(db, exp_id, state.version)
    page = f"/research/experiments/{exp_id}/report"
    if row.status == ReportStatus.ready or not request.headers.get("HX-Request"):
        return redirect(request, page)
    return _progress(request, exp_id, row)


@router.get("/report/progress")
def progress(request: Request, db: SessionDep, user: ResearcherUser, exp_id: int) -> Response:
    """The newest computation's progress; once it is ready the page reloads to show it."""
    design.get(db, exp_id)
    row = cache.latest(db, exp_id)
    if row is None:
        raise NotFound(f"no report was asked for in experiment {exp_id}")
    if row.status == ReportStatus.ready and request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return _progress(request, exp_id, row)


def _progress(request: Request, exp_id: int, row: AnalysisReport) -> Response:
    return templates.TemplateResponse(
        request,
        "analysis/_progress.html",
        {"exp_id": exp_id, "row": row, "statuses": ReportStatus},
    )


def _shown(db: SessionDep, exp_id: int) -> AnalysisReport:
    """The report the page shows (downloads match it, stale or not)."""
    design.get(db, exp_id)
    row = cache.newest_ready(db, exp_id)
    if row is None or row.report is None:
        raise NotFound(f"experiment {exp_id} has no computed report yet; open its report page")
    return row


@router.get("/report/report.json")
def report_json(db: SessionDep, user: ResearcherUser, exp_id: int) -> Response:
    row = _shown(db, exp_id)
    return Response(
        orjson.dumps(row.report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
        media_type="application/json",
        headers=_attachment(f"experiment-{exp_id}-report.json", row),
    )


@router.get("/report/figures/{filename}")
def figure(db: SessionDep, user: ResearcherUser, exp_id: int, filename: str) -> Response:
    """A figure of the shown report: `<name>.svg` (as stored) or `<name>.png` (drawn now)."""
    from app.analysis.figures import FIGURES, png, svg_file  # matplotlib: only when drawn

    name, _, ext = filename.rpartition(".")
    if name not in FIGURES or ext not in FIGURE_TYPES:
        raise NotFound(
            f"no figure {filename!r}: expected one of {', '.join(FIGURES)} as .svg or .png"
        )
    row = _shown(db, exp_id)
    assert row.report is not None and row.figures is not None
    body = svg_file(row.figures[name]).encode() if ext == "svg" else png(row.report, name)
    return Response(
        body,
        media_type=FIGURE_TYPES[ext],
        headers=_attachment(f"experiment-{exp_id}-{filename}", row),
    )


def _attachment(filename: str, row: AnalysisReport) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Report-Content-Version": row.content_version,
    }


@api.get("/{exp_id}/analysis")
def report_api(db: SessionDep, user: ResearcherUser, exp_id: int) -> dict[str, Any]:
    """The report's numbers as JSON (the same as report.json from `critiquelab analyze`):
    the stored report when it was computed from the export as it is now (a few indexed
    aggregates tell), else computed now from the export."""
    design.get(db, exp_id)  # 404 for an unknown experiment
    refresh_before_reading(db, exp_id)  # the integrity check of new tasks, then the read
    stored = cache.current(db, exp_id)
    if stored is not None and stored.report is not None:
        return stored.report
    return analyze(orjson.loads(line) for line in export_lines(db, exp_id))
