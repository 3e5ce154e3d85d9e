"""The report page's job: a worker streams the export, runs the analysis, draws the figures
and stores them in the report's row (app/analysis/cache.py), saying how far it got."""

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from app.analysis.cache import REPORT_JOB, drop_older
from app.analysis.report import analyze
from app.core.database import session_scope
from app.export.service import count_tasks, export_lines
from app.integrity.service import refresh
from app.jobs import registry
from app.models.base import utcnow
from app.models.reports import AnalysisReport, ReportStatus

__all__ = ["REPORT_JOB", "compute", "compute_report"]

PROGRESS_EVERY_S = 0.5  # how often the row's progress is written while the export is read


async def compute_report(payload: dict[str, Any]) -> None:
    """The handler the worker runs for REPORT_JOB."""
    await asyncio.to_thread(compute, int(payload["report_id"]))


def _set(report_id: int, **values: Any) -> None:
    with session_scope() as s:
        row = s.get(AnalysisReport, report_id)
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)


class _Progress:
    """Passes the export's records on, writing how many were read at most twice a second;
    the end of the export is the start of the bootstrap."""

    def __init__(self, report_id: int) -> None:
        self.report_id = report_id

    def records(self, lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
        n, next_write = 0, time.monotonic() + PROGRESS_EVERY_S
        for line in lines:
            yield orjson.loads(line)
            n += 1
            if time.monotonic() >= next_write:
                _set(self.report_id, processed_tasks=n)
                next_write = time.monotonic() + PROGRESS_EVERY_S
        _set(self.report_id, processed_tasks=n, status=ReportStatus.estimating)


def compute(report_id: int) -> None:
    """Compute a queued report; a failure is recorded on the row (the page shows it) and
    raised (the job fails; asking again requeues it)."""
    with session_scope() as s:
        row = s.get(AnalysisReport, report_id)
        if row is None or row.status == ReportStatus.ready:
            return  # replaced by a newer report meanwhile, or done by an earlier run
        experiment_id = row.experiment_id
        row.status, row.processed_tasks, row.error = ReportStatus.reading, 0, None
        row.total_tasks = count_tasks(s, experiment_id)
        refresh(s, experiment_id)  # the integrity check of tasks submitted since the last one
    try:
        with session_scope(writes=False) as s:
            report = analyze(_Progress(report_id).records(export_lines(s, experiment_id)))
        _set(report_id, status=ReportStatus.drawing)
        from app.analysis.figures import render_all, svg  # matplotlib: only in the worker

        figures = {name: svg(fig) for name, fig in render_all(report).items()}
    except Exception as exc:
        _set(report_id, status=ReportStatus.failed, error=f"{exc.__class__.__name__}: {exc}")
        raise
    with session_scope() as s:
        row = s.get(AnalysisReport, report_id)
        if row is None:
            return
        row.report = orjson.loads(orjson.dumps(report))  # plain JSON (no NaN, no numpy)
        row.figures = figures
        row.processed_tasks = report["tasks"]
        row.status, row.finished_at = ReportStatus.ready, utcnow()
        s.flush()
        drop_older(s, row)


registry.register(REPORT_JOB, compute_report)
