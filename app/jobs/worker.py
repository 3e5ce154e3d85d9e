"""`critiquelab worker`: claim jobs from the database and run them, until stopped.

Attempts count only what the job's own run got wrong. While a job runs, its worker renews
the job's lease, so a job whose worker died is taken over within a lease (no attempt
counted). When the model backend is unreachable the job is released, attempts unchanged,
and the worker waits behind its circuit breaker (app.jobs.backend) until the backend is back.
A handler that knows no retry can help raises GiveUp, which fails the job at once.
"""

import asyncio
import contextlib
import logging
import os
import socket
import traceback
from collections.abc import Awaitable
from datetime import timedelta

from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.settings import get_settings
from app.jobs import queue, registry
from app.jobs.backend import SUSPECT_AFTER, Breaker, probe_backend
from app.jobs.errors import BackendError, BackendUnavailable, GiveUp
from app.jobs.registry import Handler

log = logging.getLogger("critiquelab.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseLost(Exception):
    """Another worker took the job over (this worker missed renewing its lease)."""


def touch_heartbeat() -> None:
    """Tell a container healthcheck this worker is alive (CRITIQUELAB_WORKER_HEARTBEAT_FILE)."""
    path = get_settings().worker_heartbeat_file
    if path is not None:
        with contextlib.suppress(OSError):
            path.touch()


def _renew(job_id: int, worker: str) -> bool:
    touch_heartbeat()
    with session_scope() as s:
        return queue.heartbeat(s, job_id, worker)


async def _run_leased(job_id: int, worker: str, work: Awaitable[None]) -> None:
    """Run the handler, renewing the job's lease every job_heartbeat_s meanwhile."""
    s = get_settings()
    every = min(s.job_heartbeat_s, s.job_lease_s / 3)  # several renewals within one lease
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            if not await asyncio.to_thread(_renew, job_id, worker):
                raise LeaseLost(f"job {job_id} was taken over by another worker")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _detail(exc: BaseException) -> str:
    detail = f"{exc.__class__.__name__}: {exc}"
    if not str(exc):
        detail += "\n" + traceback.format_exc(limit=3)
    return detail


async def run_one(name: str, table: dict[str, Handler], breaker: Breaker | None = None) -> bool:
    """Claim and run one job; False when nothing is runnable now (or, behind an open
    breaker, nothing that does not need the model backend)."""
    model = registry.model_kinds()
    held_back = model if breaker is not None and breaker.is_open else frozenset()
    kinds = [k for k in table if k not in held_back]
    # Jobs that need no model (an upload's import, a report) come first: someone watches
    # their progress, while the model's sweeps are precomputed ahead of need. So an import
    # does not wait behind a launch's hundreds of sweeps.
    no_model = [k for k in kinds if k not in model]
    groups = [g for g in (no_model, [k for k in kinds if k in model]) if g]
    job = None
    with session_scope() as s:
        for group in groups:
            if (job := queue.claim(s, name, kinds=group)) is not None:
                break
        claimed = (job.id, job.kind, dict(job.payload)) if job else None
    if claimed is None:
        return False
    job_id, kind, payload = claimed
    try:
        await _run_leased(job_id, name, table[kind](payload))
    except LeaseLost as exc:
        log.warning("%s; its outcome here is dropped", exc)
    except BackendUnavailable as exc:
        _backend_down(job_id, kind, name, exc, breaker)
    except GiveUp as exc:
        log.warning("job %s (%s) gave up: %s", job_id, kind, exc)
        with session_scope() as s:
            queue.fail(s, job_id, _detail(exc), worker=name, final=True)
    except Exception as exc:
        log.warning("job %s (%s) failed: %s", job_id, kind, exc)
        with session_scope() as s:
            queue.fail(s, job_id, _detail(exc), worker=name)
            if isinstance(exc, BackendError):
                _backend_reached(s, job_id, breaker)
    else:
        with session_scope() as s:
            queue.succeed(s, job_id, worker=name)
            if kind in registry.model_kinds():
                _backend_reached(s, job_id, breaker)
    return True


def _backend_reached(s: Session, job_id: int, breaker: Breaker | None) -> None:
    """The backend answered: jobs that waited for it need not wait any longer."""
    queue.backend_is_back(s)
    if breaker is not None:
        breaker.reached(job_id)


def _backend_down(
    job_id: int, kind: str, name: str, exc: BackendUnavailable, breaker: Breaker | None
) -> None:
    detail = _detail(exc)
    if breaker is not None and breaker.suspect(job_id):
        log.warning("job %s (%s): backend went down during each of its last runs", job_id, kind)
        with session_scope() as s:
            queue.fail(
                s,
                job_id,
                f"the model backend went down during each of the last {SUSPECT_AFTER} runs "
                f"of this job: {detail}",
                worker=name,
            )
        breaker.trip()
        return
    wait_s = breaker.trip() if breaker is not None else get_settings().model_probe_first_s
    with session_scope() as s:
        queue.release(s, job_id, detail, queue.now() + timedelta(seconds=wait_s), worker=name)
        waiting = queue.backend_outage(s)
    log.warning(
        "model backend unreachable (%s); job %s (%s) released with no attempt counted, "
        "%d job(s) waiting; next health probe in %.1f s",
        exc,
        job_id,
        kind,
        waiting.waiting if waiting else 0,
        wait_s,
    )


async def _probe(breaker: Breaker) -> None:
    up, detail = await probe_backend()
    if up:
        down_s = breaker.close()
        with session_scope() as s:
            resumed = queue.backend_is_back(s)
        log.warning(
            "model backend is back after %.0f s (%s); %d waiting job(s) resume",
            down_s,
            detail,
            resumed,
        )
    else:
        next_s = breaker.probe_failed()
        log.warning("model backend still down (%s); next health probe in %.1f s", detail, next_s)


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_worker(
    once: bool = False, poll_s: float = 1.0, stop: asyncio.Event | None = None
) -> int:
    """Run jobs until stopped (or, with once, until nothing is runnable). Returns jobs run."""
    name, table, done = worker_name(), registry.handlers(), 0
    breaker = Breaker.from_settings()
    while stop is None or not stop.is_set():
        touch_heartbeat()
        if breaker.probe_due():
            await _probe(breaker)
        if await run_one(name, table, breaker):
            done += 1
            continue
        if once:
            break
        await _pause(min(poll_s, breaker.seconds_to_probe()), stop)
    return done
