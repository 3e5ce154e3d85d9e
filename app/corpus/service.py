"""Import runs: an upload becomes a queued run, its bytes and its job, all in the caller's
transaction; a worker runs it (app/corpus/tasks.py) and any app process reads its progress."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.corpus.parsing import ImportFormat
from app.jobs import queue
from app.models import ImportRun, ImportStatus, ImportUpload

IMPORT = "corpus.import"
# Starts of one run's import, whether the last ended in an error or its worker stopped
# (a crash, a restart): the import is all or nothing, so each start begins afresh.
MAX_ATTEMPTS = 3
UNFINISHED = (ImportStatus.queued, ImportStatus.validating, ImportStatus.writing)


def job_key(run_id: int) -> str:
    return f"import-run-{run_id}"


def queue_run(
    session: Session, filename: str, fmt: ImportFormat, uploaded_by_id: int | None, content: bytes
) -> ImportRun:
    """A queued run of the uploaded `content` and the job a worker runs it by; they exist
    once the caller's transaction commits, together or not at all."""
    run = ImportRun(
        filename=filename,
        format=fmt.value,
        status=ImportStatus.queued,
        uploaded_by_id=uploaded_by_id,
    )
    session.add(run)
    session.flush()
    session.add(ImportUpload(run_id=run.id, content=content))
    # The run counts its own attempts (a lease takeover costs the job none) and gives up
    # after MAX_ATTEMPTS; the job keeps the queue's larger default, so an attempt that
    # failed before the run could count it (the database away for a moment) is retried too.
    queue.enqueue(session, IMPORT, job_key(run.id), {"run_id": run.id})
    return run


def get_run(session: Session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(f"no import run {run_id}")
    return run


def recent_runs(session: Session, limit: int = 20) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)))
