"""Who owns a running import, so that a restart cannot leave it "validating" forever.

An upload's import runs in the app process that received the file (the file is on that
process's disk). It holds a job in the queue (app.jobs.queue) with a lease that it renews
while it works, exactly as a worker holds a job. If the process dies (kill -9, a restart,
a crash), the lease runs out and a worker takes the job over: its handler here marks the
run failed with the reason (app.corpus.tasks). Nothing of the interrupted import was stored, because it writes
in one transaction together with its outcome; retrying is uploading the file again (a
re-import stores only what is missing).

Why the worker and not the app's start-up: the lease is what tells a dead owner from a live
one; a starting app replica cannot tell whether another replica's import is still running,
and a lone app restart with no worker restart must still be noticed. The worker already
takes over jobs whose lease ran out, continuously, not only when it starts.
"""

import logging
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.settings import get_settings
from app.jobs import queue
from app.models import ImportRun, ImportStatus, Job, JobStatus

logger = logging.getLogger(__name__)

IMPORT = "corpus.import"
UNFINISHED = (ImportStatus.queued, ImportStatus.validating, ImportStatus.writing)


def job_key(run_id: int) -> str:
    return f"import-run-{run_id}"


def owner_name() -> str:
    return f"app {socket.gethostname()}:{os.getpid()}"


def hold(session: Session, run: ImportRun, path: Path, owner: str) -> Job:
    """The run's job, created already held by `owner` (the process that will run it)."""
    job = queue.enqueue(session, IMPORT, job_key(run.id), {"run_id": run.id, "path": str(path)})
    job.status, job.locked_by, job.locked_at = JobStatus.running, owner, queue.now()
    session.flush()
    return job


def job_id_of(session: Session, run_id: int) -> int | None:
    return session.scalar(select(Job.id).where(Job.kind == IMPORT, Job.key == job_key(run_id)))


class LeaseLost(Exception):
    """The owner stopped renewing its lease long enough for a worker to take the run over."""


class Lease:
    """Renews the run's job lease from a thread while the import works (the import itself
    is synchronous, reading a file and then writing in one transaction)."""

    def __init__(self, job_id: int, owner: str) -> None:
        self.job_id, self.owner = job_id, owner
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True, name="import-lease")

    def _renew(self) -> None:
        s = get_settings()
        every = min(s.job_heartbeat_s, s.job_lease_s / 3)
        while not self._stop.wait(every):
            try:
                with session_scope() as session:
                    if not queue.heartbeat(session, self.job_id, self.owner):
                        self.lost = True
                        return
            except Exception:  # the database is away for a moment: try again next beat
                logger.warning("import job %s: lease renewal failed", self.job_id, exc_info=True)

    def __enter__(self) -> "Lease":
        self._thread.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def finish(self, session: Session) -> None:
        """In the transaction that records the outcome: end the job, or raise LeaseLost if a
        worker took it over meanwhile (its outcome stands; ours is rolled back)."""
        if not queue.heartbeat(session, self.job_id, self.owner):
            raise LeaseLost(f"import job {self.job_id} was taken over")
        queue.succeed(session, self.job_id, worker=self.owner)


def set_unfinished(session: Session, run_id: int, **fields: Any) -> bool:
    """Update a run only while it is unfinished: a late progress report from an owner that
    lost its lease must not reopen a run the worker closed."""
    result = session.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.status.in_(UNFINISHED))
        .values(**fields)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def interrupted_reason(run: ImportRun) -> str:
    where = f" at line {run.processed_lines} of {run.total_lines}" if run.total_lines else ""
    return (
        f"interrupted while {run.status}{where}: the process running this import stopped "
        "(a restart or a crash). Nothing from it was stored; upload the file again to retry "
        "(a re-import stores only what is missing)."
    )


def fail_interrupted(session: Session, run_id: int) -> bool:
    """Mark an unfinished run failed with the reason; False if it had already finished."""
    run = session.get(ImportRun, run_id, populate_existing=True)
    if run is None or run.status not in UNFINISHED:
        return False
    reason = interrupted_reason(run)
    return set_unfinished(
        session, run_id, status=ImportStatus.failed, error=reason, finished_at=datetime.now(UTC)
    )


def fail_ownerless(session: Session) -> int:
    """Unfinished runs that hold no job (begun before imports held leases) can have no live
    owner: fail them. Call when a worker starts."""
    held = select(Job.key).where(Job.kind == IMPORT)
    runs = session.scalars(select(ImportRun.id).where(ImportRun.status.in_(UNFINISHED))).all()
    keys = set(session.scalars(held))
    return sum(fail_interrupted(session, r) for r in runs if job_key(r) not in keys)
