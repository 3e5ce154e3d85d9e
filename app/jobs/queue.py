"""A durable job queue in the database: enqueue, claim (safely, by many workers), finish.

Claiming uses SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so workers never wait on or
take each other's jobs; on SQLite (one writer at a time) a compare-and-set UPDATE does it.

A running job holds a lease (`locked_at`) that its worker renews while it works; a job
whose lease ran out (its worker died) is claimable again. `attempts` counts recorded
failures only: a claim spends nothing, so a worker that dies, or a model backend that is
down (the job is released, see `release`), costs the job no attempt.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.models import Job, JobStatus
from app.models.base import utcnow

MAX_BACKOFF_S = 300.0
# Starts the last_error of a job released because the model backend was unreachable; the
# admin page reads the outage (since when, how many wait) from these rows.
BACKEND_DOWN = "model backend unreachable, no attempt counted: "

now = utcnow  # the queue's clock (workers and tests read it as queue.now)


def lease() -> timedelta:
    return timedelta(seconds=get_settings().job_lease_s)


def enqueue(
    session: Session, kind: str, key: str, payload: dict[str, Any], max_attempts: int = 8
) -> Job:
    """One job per (kind, key): enqueueing again returns the existing job (requeued if it failed)."""
    job = session.scalar(select(Job).where(Job.kind == kind, Job.key == key))
    if job is None:
        job = Job(
            kind=kind,
            key=key,
            payload=payload,
            status=JobStatus.queued,
            attempts=0,
            max_attempts=max_attempts,
            run_after=now(),
        )
        session.add(job)
        session.flush()
    elif job.status == JobStatus.failed:
        job.status, job.attempts, job.run_after = JobStatus.queued, 0, now()
        session.flush()
    return job


def _claimable(at: datetime) -> Any:
    return or_(
        and_(Job.status == JobStatus.queued, Job.run_after <= at),
        and_(Job.status == JobStatus.running, Job.locked_at < at - lease()),
    )


def claim(session: Session, worker: str, kinds: Sequence[str] | None = None) -> Job | None:
    """Take the oldest runnable job and mark it running; the caller commits at once."""
    at = now()
    claimable = _claimable(at)
    query = (
        select(Job)
        .where(claimable)
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .execution_options(populate_existing=True)  # decide on the row as it is now
    )
    if kinds is not None:
        query = query.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        job = session.scalar(query.with_for_update(skip_locked=True))
        if job is None:
            return None
        previous = (job.status, job.locked_by)
    else:
        for _ in range(5):
            job = session.scalar(query)
            if job is None:
                return None
            previous = (job.status, job.locked_by)
            taken = _changed(
                session.execute(
                    update(Job)
                    .where(Job.id == job.id, claimable)
                    .values(status=JobStatus.running, locked_by=worker, locked_at=at)
                    .execution_options(synchronize_session=False)
                )
            )
            if taken:
                session.refresh(job)
                break
        else:
            return None
    if previous[0] == JobStatus.running:
        job.last_error = (
            f"worker {previous[1]} stopped renewing its lease; taken over by {worker} "
            "(no attempt counted)"
        )
    job.status = JobStatus.running
    job.locked_by = worker
    job.locked_at = at
    session.flush()
    return job


def heartbeat(session: Session, job_id: int, worker: str) -> bool:
    """Renew the lease; False when the job is no longer this worker's (its lease ran out and
    another worker took it)."""
    renewed = _changed(
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running, Job.locked_by == worker)
            .values(locked_at=now())
            .execution_options(synchronize_session=False)
        )
    )
    return bool(renewed)


def _held(session: Session, job_id: int, worker: str | None) -> Job | None:
    """The job, if `worker` (when given) still holds it: a worker that lost its lease must
    not record an outcome over the worker that took the job over."""
    job = session.get(Job, job_id)
    if job is None or (
        worker is not None and (job.status != JobStatus.running or job.locked_by != worker)
    ):
        return None
    return job


def succeed(session: Session, job_id: int, worker: str | None = None) -> bool:
    job = _held(session, job_id, worker)
    if job is None:
        return False
    job.status, job.finished_at, job.locked_by = JobStatus.succeeded, now(), None
    session.flush()
    return True


def fail(
    session: Session, job_id: int, error: str, worker: str | None = None, final: bool = False
) -> Job | None:
    """Count a failed attempt and record why; retry later with exponential backoff, or give
    up after max_attempts (or at once, when final)."""
    job = _held(session, job_id, worker)
    if job is None:
        return None
    job.attempts += 1
    job.last_error = error[:4000]
    job.locked_by = None
    if final or job.attempts >= job.max_attempts:
        job.status, job.finished_at = JobStatus.failed, now()
    else:
        job.status = JobStatus.queued
        job.run_after = now() + timedelta(seconds=min(2.0 ** (job.attempts - 1), MAX_BACKOFF_S))
    session.flush()
    return job


def release(
    session: Session, job_id: int, error: str, run_after: datetime, worker: str | None = None
) -> Job | None:
    """Put the job back, attempts unchanged: the model backend was unreachable, which says
    nothing about the job."""
    job = _held(session, job_id, worker)
    if job is None:
        return None
    job.status, job.locked_by, job.locked_at = JobStatus.queued, None, None
    job.run_after = run_after
    job.last_error = (BACKEND_DOWN + error)[:4000]
    session.flush()
    return job


def _waiting_for_backend() -> Any:
    return and_(Job.status == JobStatus.queued, Job.last_error.startswith(BACKEND_DOWN))


def backend_is_back(session: Session) -> int:
    """The model backend answers again: jobs that waited for it may run now."""
    return _changed(
        session.execute(
            update(Job)
            .where(_waiting_for_backend())
            .values(run_after=now(), last_error=None)
            .execution_options(synchronize_session=False)
        )
    )


@dataclass(frozen=True)
class BackendOutage:
    since: datetime  # when a worker first found the backend unreachable in this outage
    waiting: int  # queued jobs
    last_error: str


def backend_outage(session: Session) -> BackendOutage | None:
    """The outage the workers recorded, or None while no job waits for the backend."""
    since = session.scalar(select(func.min(Job.updated_at)).where(_waiting_for_backend()))
    if since is None:
        return None
    last = session.scalar(
        select(Job.last_error)
        .where(_waiting_for_backend())
        .order_by(Job.updated_at.desc(), Job.id.desc())
        .limit(1)
    )
    waiting = session.scalar(
        select(func.count()).select_from(Job).where(Job.status == JobStatus.queued)
    )
    return BackendOutage(since, waiting or 0, (last or "").removeprefix(BACKEND_DOWN))


def recent(session: Session, limit: int = 50) -> Sequence[Job]:
    return session.scalars(
        select(Job).order_by(Job.updated_at.desc(), Job.id.desc()).limit(limit)
    ).all()


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {status: n for status, n in rows}


def retry_now(session: Session, job_id: int) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status != JobStatus.running)
        .values(status=JobStatus.queued, run_after=now(), attempts=0)
    )


def _changed(result: Result[Any]) -> int:
    """Rows an UPDATE changed (its result is a CursorResult, which the types don't say)."""
    return int(cast(CursorResult[Any], result).rowcount)
