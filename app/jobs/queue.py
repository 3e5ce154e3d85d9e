"""A durable job queue in the database: enqueue, claim (safely, by many workers), finish.

Claiming uses SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so workers never wait on or
take each other's jobs; on SQLite (one writer at a time) a compare-and-set UPDATE does it.
A job whose worker died is claimable again once its lease runs out.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.models import Job, JobStatus

LEASE = timedelta(minutes=10)
MAX_BACKOFF_S = 300.0


def now() -> datetime:
    return datetime.now(UTC)


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
        and_(Job.status == JobStatus.running, Job.locked_at < at - LEASE),
    )


def claim(session: Session, worker: str, kinds: Sequence[str] | None = None) -> Job | None:
    """Take the oldest runnable job and mark it running; the caller commits at once."""
    at = now()
    query = select(Job).where(_claimable(at)).order_by(Job.run_after, Job.id).limit(1)
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        job = session.scalar(query.with_for_update(skip_locked=True))
        if job is None:
            return None
    else:
        for _ in range(5):
            job = session.scalar(query)
            if job is None:
                return None
            taken = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
                .values(status=JobStatus.running)
            ).rowcount
            if taken:
                session.refresh(job)
                break
        else:
            return None
    job.status = JobStatus.running
    job.locked_by = worker
    job.locked_at = at
    job.attempts += 1
    session.flush()
    return job


def succeed(session: Session, job_id: int) -> None:
    job = session.get(Job, job_id)
    if job is not None:
        job.status, job.finished_at, job.locked_by = JobStatus.succeeded, now(), None
        session.flush()


def fail(session: Session, job_id: int, error: str) -> Job | None:
    """Record the error; retry later with exponential backoff, or give up after max_attempts."""
    job = session.get(Job, job_id)
    if job is None:
        return None
    job.last_error = error[:4000]
    job.locked_by = None
    if job.attempts >= job.max_attempts:
        job.status, job.finished_at = JobStatus.failed, now()
    else:
        job.status = JobStatus.queued
        job.run_after = now() + timedelta(seconds=min(2.0 ** (job.attempts - 1), MAX_BACKOFF_S))
    session.flush()
    return job


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
