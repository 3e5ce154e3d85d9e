"""`critiquelab worker`: claim jobs from the database and run them, until stopped."""

import asyncio
import logging
import os
import socket
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from app.core.database import session_scope
from app.jobs import queue

log = logging.getLogger("critiquelab.worker")
Handler = Callable[[dict[str, Any]], Awaitable[None]]


def handlers() -> dict[str, Handler]:
    from app.assist import jobs as assist_jobs

    return {
        assist_jobs.ASSISTANCE: assist_jobs.generate_assistance,
        assist_jobs.MODEL_ANSWER: assist_jobs.generate_model_answer,
    }


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_one(name: str, table: dict[str, Handler]) -> bool:
    """Claim and run one job; False when nothing is runnable now."""
    with session_scope() as s:
        job = queue.claim(s, name, kinds=list(table))
        claimed = (job.id, job.kind, dict(job.payload)) if job else None
    if claimed is None:
        return False
    job_id, kind, payload = claimed
    try:
        await table[kind](payload)
    except Exception as exc:
        log.warning("job %s (%s) failed: %s", job_id, kind, exc)
        detail = f"{exc.__class__.__name__}: {exc}"
        if not str(exc):
            detail += "\n" + traceback.format_exc(limit=3)
        with session_scope() as s:
            queue.fail(s, job_id, detail)
    else:
        with session_scope() as s:
            queue.succeed(s, job_id)
    return True


async def run_worker(
    once: bool = False, poll_s: float = 1.0, stop: asyncio.Event | None = None
) -> int:
    """Run jobs until stopped (or, with once, until nothing is runnable). Returns jobs run."""
    name, table, done = worker_name(), handlers(), 0
    while stop is None or not stop.is_set():
        if await run_one(name, table):
            done += 1
            continue
        if once:
            break
        await asyncio.sleep(poll_s)
    return done
