"""The worker's side of an upload's import (queued by app/corpus/service.py; app.tasks
registers the handler).

An attempt reads the upload's bytes from the database and validates them with no transaction
open (progress commits meanwhile, for the page that polls), then stores the records, the
outcome and the deletion of the bytes in one transaction. So a worker that dies midway
stored nothing, and once the job's lease runs out another worker starts the import afresh
(a re-import stores only what is missing). Every start counts on the run: after
MAX_ATTEMPTS the run fails with the reason and its bytes are deleted. The attempt number
also fences a worker that lost the job while it was still working (a long pause): once a
later attempt has begun, the earlier one's progress and outcome are refused.
"""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.locking import get_for_update
from app.core.settings import get_settings
from app.corpus.importer import store_records
from app.corpus.parsing import ImportFileError, ImportFormat, parse_records
from app.corpus.service import IMPORT, MAX_ATTEMPTS, UNFINISHED
from app.jobs import registry
from app.jobs.errors import GiveUp
from app.models import ImportRun, ImportStatus, ImportUpload
from app.models.base import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    run_id: int
    number: int  # the run's attempts once this one began: its fencing token
    fmt: ImportFormat
    name: str
    content: bytes


class Superseded(Exception):
    """A later attempt has begun this run (this worker lost the job's lease meanwhile)."""


async def run_import(payload: dict[str, Any]) -> None:
    """The handler the worker runs for IMPORT."""
    await asyncio.to_thread(execute, int(payload["run_id"]))


def execute(run_id: int) -> None:
    attempt = start_attempt(run_id)
    if attempt is not None:  # else it had finished (a late retry of its job)
        run_attempt(attempt)


def run_attempt(attempt: Attempt) -> None:
    """Import the run's bytes. A bad file fails the run (no retry can mend it); any other
    error is raised for the job to retry, until the last attempt fails the run."""
    run_id = attempt.run_id
    try:
        records = parse_records(
            attempt.content,
            attempt.fmt,
            get_settings().max_text_chars,
            _progress(attempt),
            attempt.name,
        )
        with session_scope() as s:
            run = _own(s, attempt)
            added = store_records(s, attempt.fmt, records, attempt.name)
            _end(s, run, ImportStatus.succeeded, added=added, error=None)
    except Superseded:
        logger.warning("import run %s: attempt %d was superseded", run_id, attempt.number)
    except ImportFileError as exc:
        _close(attempt, str(exc))
    except Exception as exc:
        if attempt.number < MAX_ATTEMPTS:
            _note(
                attempt,
                status=ImportStatus.queued,
                error=f"attempt {attempt.number} of {MAX_ATTEMPTS} failed ({exc!r}); retrying",
            )
            raise  # the job counts the failure and runs again after a backoff
        logger.exception("import run %s failed on its last attempt", run_id)
        reason = (
            f"internal error on attempt {attempt.number} of {MAX_ATTEMPTS}: {exc!r}. "
            "Nothing from it was stored."
        )
        _close(attempt, reason)
        raise GiveUp(reason) from exc


def start_attempt(run_id: int) -> Attempt | None:
    """Begin the next attempt; None if the run has finished. A run out of attempts, or whose
    bytes are gone, is failed with the reason and GiveUp raised (once that is committed)."""
    attempt: Attempt | None = None
    with session_scope() as s:
        run = get_for_update(s, ImportRun, run_id)
        if run is None or run.status not in UNFINISHED:
            return None
        content = s.scalar(select(ImportUpload.content).where(ImportUpload.run_id == run_id))
        if content is None or run.attempts >= MAX_ATTEMPTS:
            reason = _gave_up(run, content is None)
            _end(s, run, ImportStatus.failed, error=reason)
        else:
            if run.status != ImportStatus.queued:  # the last attempt was running when it stopped
                run.error = (
                    f"attempt {run.attempts} of {MAX_ATTEMPTS} stopped {_where(run)} without "
                    "finishing (its worker was stopped); retrying"
                )
            run.attempts += 1
            run.status, run.processed_lines, run.total_lines = ImportStatus.validating, 0, 0
            attempt = Attempt(run_id, run.attempts, ImportFormat(run.format), run.filename, content)
    if attempt is None:
        raise GiveUp(reason)
    return attempt


def _gave_up(run: ImportRun, no_content: bool) -> str:
    if no_content:
        return "the uploaded file is no longer stored; upload it again"
    return (
        f"gave up after {MAX_ATTEMPTS} attempts: the last one stopped {_where(run)} without "
        "finishing (its worker was stopped: a crash, a restart, or running out of memory). "
        "Nothing from it was stored; see the worker's log, then upload the file again."
    )


def _where(run: ImportRun) -> str:
    lines = f" at line {run.processed_lines} of {run.total_lines}" if run.total_lines else ""
    return f"while {run.status}{lines}"


def _progress(attempt: Attempt) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        writing = {"status": ImportStatus.writing} if done == total else {}
        if not _note(attempt, processed_lines=done, total_lines=total, **writing):
            raise Superseded  # stop validating: a later attempt owns the run

    return report


def _note(attempt: Attempt, **fields: Any) -> bool:
    """Record progress in a short transaction of its own (so the page sees it while the
    attempt works); False once the run is no longer this attempt's."""
    with session_scope() as s:
        result = s.execute(
            update(ImportRun)
            .where(
                ImportRun.id == attempt.run_id,
                ImportRun.attempts == attempt.number,
                ImportRun.status.in_(UNFINISHED),
            )
            .values(**fields)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def _own(s: Session, attempt: Attempt) -> ImportRun:
    """The run, locked for this transaction, if it is still this attempt's."""
    run = get_for_update(s, ImportRun, attempt.run_id)
    if run is None or run.attempts != attempt.number or run.status not in UNFINISHED:
        raise Superseded
    return run


def _end(s: Session, run: ImportRun, status: ImportStatus, **fields: Any) -> None:
    """The run's outcome; its bytes are deleted in the same transaction."""
    run.status, run.finished_at = status, utcnow()
    for name, value in fields.items():
        setattr(run, name, value)
    s.execute(delete(ImportUpload).where(ImportUpload.run_id == run.id))


def _close(attempt: Attempt, error: str) -> None:
    """Fail the run for good, unless a later attempt has begun it."""
    try:
        with session_scope() as s:
            _end(s, _own(s, attempt), ImportStatus.failed, error=error)
    except Superseded:
        logger.warning("import run %s: attempt %d was superseded", attempt.run_id, attempt.number)


registry.register(IMPORT, run_import)
