"""Import runs: an upload becomes a tracked run whose progress any app process can read."""

import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.settings import get_settings
from app.corpus.importer import store_records
from app.corpus.parsing import ImportFileError, ImportFormat, parse_records
from app.models import ImportRun, ImportStatus

logger = logging.getLogger(__name__)


def create_run(
    session: Session, filename: str, fmt: ImportFormat, uploaded_by_id: int | None
) -> ImportRun:
    run = ImportRun(
        filename=filename,
        format=fmt.value,
        status=ImportStatus.queued,
        uploaded_by_id=uploaded_by_id,
    )
    session.add(run)
    session.flush()
    return run


def _update(run_id: int, **fields: object) -> None:
    # Its own short transaction, so progress is visible while the import itself is open.
    with session_scope() as s:
        run = s.get(ImportRun, run_id)
        assert run is not None
        for k, v in fields.items():
            setattr(run, k, v)


def execute_run(run_id: int, path: Path) -> None:
    """Run an import to the end, recording progress and the outcome on its ImportRun."""
    with session_scope() as s:
        run = s.get(ImportRun, run_id)
        assert run is not None
        fmt, name = ImportFormat(run.format), run.filename
    _update(run_id, status=ImportStatus.validating)

    def progress(done: int, total: int) -> None:
        writing = {"status": ImportStatus.writing} if done == total else {}
        _update(run_id, processed_lines=done, total_lines=total, **writing)

    try:
        # Validate with no transaction open (progress commits meanwhile), then write at once.
        records = parse_records(path, fmt, get_settings().max_text_chars, progress, name)
        with session_scope() as s:
            added = store_records(s, fmt, records, name)
        _update(run_id, status=ImportStatus.succeeded, added=added, finished_at=datetime.now(UTC))
    except ImportFileError as exc:
        _update(run_id, status=ImportStatus.failed, error=str(exc), finished_at=datetime.now(UTC))
    except Exception as exc:  # the run must never stay "running" because of a crash
        # Logged, not raised: this runs after the response, where raising only drops the
        # connection; the run records the failure for the page.
        logger.exception("import run %s failed", run_id)
        _update(
            run_id,
            status=ImportStatus.failed,
            error=f"internal error: {exc!r}",
            finished_at=datetime.now(UTC),
        )
    finally:
        path.unlink(missing_ok=True)


def recent_runs(session: Session, limit: int = 20) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)))
