"""The report on the researcher's page: the page loads, the report fragment follows."""

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.analysis.report import analyze, fmt
from app.core.deps import SessionDep
from app.core.templating import templates
from app.experiments import design
from app.export.service import count_tasks, export_lines
from app.users.deps import ResearcherUser

router = APIRouter(prefix="/research/experiments/{exp_id}")
api = APIRouter(prefix="/api/v1/experiments", tags=["analysis"])


def _report(db: SessionDep, exp_id: int) -> dict[str, Any]:
    design.get(db, exp_id)  # 404 for an unknown experiment
    return analyze(orjson.loads(line) for line in export_lines(db, exp_id))


@router.get("/report")
def report_page(request: Request, db: SessionDep, user: ResearcherUser, exp_id: int) -> Response:
    exp = design.get(db, exp_id)
    return templates.TemplateResponse(
        request, "analysis/page.html", {"exp": exp, "tasks": count_tasks(db, exp_id)}
    )


@router.get("/report/fragment")
def report_fragment(
    request: Request, db: SessionDep, user: ResearcherUser, exp_id: int
) -> Response:
    from app.analysis.figures import render_all, svg  # matplotlib: only when a report is drawn

    report = _report(db, exp_id)
    figures = {name: svg(fig) for name, fig in render_all(report).items()}
    return templates.TemplateResponse(
        request,
        "analysis/_numbers.html",
        {"report": report, "figures": figures, "fmt": fmt, "inline": True},
    )


@api.get("/{exp_id}/analysis")
def report_api(db: SessionDep, user: ResearcherUser, exp_id: int) -> dict[str, Any]:
    """The report's numbers as JSON (the same as report.json from `critiquelab analyze`)."""
    return _report(db, exp_id)
