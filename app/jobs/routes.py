"""The admin's view of background jobs and the model backend; the fragment refreshes itself."""

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.assist.jobs import model_client
from app.assist.prompts import prompt_format
from app.assist.service import request_missing_assistance, request_missing_model_answers
from app.core.deps import AdminUser, SessionDep
from app.core.settings import get_settings
from app.core.templating import templates
from app.jobs import queue

router = APIRouter(prefix="/admin/jobs")


# The status fragment polls every few seconds from every open admin tab: one probe serves
# them all for a while, so an open page never holds the backend or a worker thread.
_HEALTH_TTL_S = 5.0
_last_health: tuple[str, float, tuple[bool, str]] | None = None


async def model_health() -> tuple[bool, str]:
    global _last_health
    settings = get_settings()
    if (
        _last_health
        and _last_health[0] == settings.model_url
        and time.monotonic() - _last_health[1] < _HEALTH_TTL_S
    ):
        return _last_health[2]
    timeout_s = settings.model_health_timeout_s
    async with model_client() as client:
        try:
            result = await asyncio.wait_for(client.health(timeout_s), timeout=2 * timeout_s + 1)
        except TimeoutError:
            result = (False, f"no answer within {2 * timeout_s + 1:g} s")
    _last_health = (settings.model_url, time.monotonic(), result)
    return result


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
    ok, message = await model_health()
    return templates.TemplateResponse(
        request, template, {**context, "model_ok": ok, "model_message": message}
    )


@router.get("")
async def jobs_page(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return await _render(request, db, "jobs/jobs.html")


@router.get("/status")
async def jobs_status(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return await _render(request, db, "jobs/_status.html")


@router.post("/generate")
def generate(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    what: Annotated[str, Form()],
) -> Response:
    settings = get_settings()
    if what == "model_answers":
        n = request_missing_model_answers(db)
        message = f"queued {n} model-answer jobs"
    else:
        n = request_missing_assistance(
            db, settings.model_name, prompt_format(settings.prompt_format).version
        )
        message = f"queued {n} assistance jobs"
    return templates.TemplateResponse(request, "jobs/_queued.html", {"message": message})


@router.post("/{job_id}/retry")
def retry(request: Request, db: SessionDep, admin: AdminUser, job_id: int) -> Response:
    queue.retry_now(db, job_id)
    return templates.TemplateResponse(
        request, "jobs/_queued.html", {"message": f"job {job_id} will run again"}
    )
