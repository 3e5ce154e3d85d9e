"""Import runs: an upload becomes a tracked run whose progress any app process can read."""

import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.settings import get_settings
from app.corpus import jobs as import_jobs
from app.corpus.importer import store_records
from app.corpus.parsing import ImportFileError, ImportFormat, parse_records
from app.models import ImportRun, ImportStatus

logger = logging.getLogger(__name__)


def create_run(
    session: Session, filename: str, fmt: ImportFormat, uploaded_by_id: int | None, path: Path
) -> ImportRun:
    """A queued run of the file at `path`, held by this process (see app.corpus.jobs); the
    caller commits, then calls execute_run."""
    run = ImportRun(
        filename=filename,
        format=fmt.value,
        status=ImportStatus.queued,
        uploaded_by_id=uploaded_by_id,
    )
    session.add(run)
    session.flush()
    import_jobs.hold(session, run, path, import_jobs.owner_name())
    return run


def _update(run_id: int, **fields: object) -> None:
    # Its own short transaction, so progress is visible while the import itself is open.
    with session_scope() as s:
        import_jobs.set_unfinished(s, run_id, **fields)


def execute_run(run_id: int, path: Path) -> None:
    """Run an import to the end, recording progress and the outcome on its ImportRun, while
    renewing the lease that tells workers this process still owns it."""
    owner = import_jobs.owner_name()
    with session_scope() as s:
        run = s.get(ImportRun, run_id)
        assert run is not None
        fmt, name = ImportFormat(run.format), run.filename
        job_id = import_jobs.job_id_of(s, run_id)
    assert job_id is not None, f"import run {run_id} holds no job"
    try:
        with import_jobs.Lease(job_id, owner) as lease:
            _execute(run_id, path, fmt, name, lease)
    except import_jobs.LeaseLost:
        logger.warning("import run %s was taken over by a worker; its outcome stands", run_id)
    finally:
        path.unlink(missing_ok=True)


def _finish(lease: import_jobs.Lease, run_id: int, **fields: object) -> None:
    with session_scope() as s:
        lease.finish(s)
        import_jobs.set_unfinished(s, run_id, finished_at=datetime.now(UTC), **fields)


def _execute(
    run_id: int, path: Path, fmt: ImportFormat, name: str, lease: import_jobs.Lease
) -> None:
    _update(run_id, status=ImportStatus.validating)

    def progress(done: int, total: int) -> None:
        writing = {"status": ImportStatus.writing} if done == total else {}
        _update(run_id, processed_lines=done, total_lines=total, **writing)

    try:
        # Validate with no transaction open (progress commits meanwhile), then write the
        # records, the outcome and the end of the lease in one transaction: an import that
        # dies midway stored nothing.
        records = parse_records(path, fmt, get_settings().max_text_chars, progress, name)
        with session_scope() as s:
            lease.finish(s)
            added = store_records(s, fmt, records, name)
            import_jobs.set_unfinished(
                s,
                run_id,
                status=ImportStatus.succeeded,
                added=added,
                finished_at=datetime.now(UTC),
            )
    except import_jobs.LeaseLost:
        raise
    except ImportFileError as exc:
        _finish(lease, run_id, status=ImportStatus.failed, error=str(exc))
    except Exception as exc:  # the run must never stay "running" because of a crash
        # Logged, not raised: this runs after the response, where raising only drops the
        # connection; the run records the failure for the page.
        logger.exception("import run %s failed", run_id)
        _finish(lease, run_id, status=ImportStatus.failed, error=f"internal error: {exc!r}")


def recent_runs(session: Session, limit: int = 20) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)))
