"""The admin's view of background jobs and the model backend; the fragment refreshes itself."""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.core.deps import SessionDep
from app.core.settings import get_settings
from app.core.templating import templates
from app.jobs import queue
from app.jobs.backend import backend_health
from app.users.deps import AdminUser

# The status fragment polls every few seconds from every open admin tab: one health check
# serves them all (and the app's /health) for a while.
HEALTH_MAX_AGE_S = 5.0

router = APIRouter(prefix="/admin/jobs")


def _context(db: SessionDep) -> dict[str, object]:
    return {
        "jobs": queue.recent(db),
        "counts": queue.counts_by_status(db),
        # What the workers found (they may see an outage the app's own probe does not).
        "outage": queue.backend_outage(db),
        "backend_down_mark": queue.BACKEND_DOWN,
        "settings": get_settings(),
    }


async def _render(request: Request, db: SessionDep, template: str) -> Response:
    # The queries are blocking: they run in the threadpool, not on the event loop.
    context = await run_in_threadpool(_context, db)
    ok, message = await backend_health(HEALTH_MAX_AGE_S)
    return templates.TemplateResponse(
        request, template, {**context, "model_ok": ok, "model_message": message}
    )


@router.get("")
async def jobs_page(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return await _render(request, db, "jobs/jobs.html")


@router.get("/status")
async def jobs_status(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return await _render(request, db, "jobs/_status.html")


@router.post("/{job_id}/retry")
def retry(request: Request, db: SessionDep, admin: AdminUser, job_id: int) -> Response:
    queue.retry_now(db, job_id)
    return templates.TemplateResponse(
        request, "jobs/_queued.html", {"message": f"job {job_id} will run again"}
    )
