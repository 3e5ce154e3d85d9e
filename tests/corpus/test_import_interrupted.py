"""An import whose worker dies (kill -9, a restart) is started again by another worker once
the job's lease runs out, and finishes: it writes all or nothing, so the dead attempt stored
nothing. A run that keeps dying or failing gives up after its attempts with the reason, and
a worker that lost the run can no longer touch it (app/corpus/tasks.py)."""

import asyncio
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.core import settings
from app.core.migrations import alembic_config, upgrade
from app.corpus import service, tasks
from app.corpus.parsing import ImportFormat
from app.corpus.stats import entity_counts
from app.jobs import queue
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from app.models import ImportRun, ImportStatus, ImportUpload, Job, JobStatus
from tests.support.db import fresh
from tests.support.worker_process import kill_9, worker_process


def run_worker_once(name: str = "worker-test") -> bool:
    return asyncio.run(run_one(name, handlers()))


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRITIQUELAB_JOB_LEASE_S", "1.5")
    monkeypatch.setenv("CRITIQUELAB_JOB_HEARTBEAT_S", "0.3")
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


def queued(db: Session, content: bytes, fmt: ImportFormat = ImportFormat.paper) -> int:
    run = service.queue_run(db, "upload.jsonl", fmt, None, content)
    db.commit()
    return run.id


def stored_uploads(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ImportUpload)) or 0


# A real `critiquelab worker` runs the import and is killed with SIGKILL in the middle of it.
# Validation is slowed down (each progress report sleeps) so the kill lands while validating.
_SLOW_WORKER = textwrap.dedent(
    """
    import time
    from app.corpus import tasks
    real = tasks.parse_records

    def slow(source, fmt, limit, progress=None, name=None):
        def report(done, total):
            progress(done, total)
            time.sleep(3)
        return real(source, fmt, limit, report, name)

    tasks.parse_records = slow
    from app.cli import main
    main()
    """
)


def test_a_worker_killed_mid_import_is_replaced_by_another_that_finishes_it(
    db: Session, short_lease: None, paper_sample: Path, tmp_path: Path
) -> None:
    run_id = queued(db, paper_sample.read_bytes() * 3)  # progress is reported every 50 lines
    with worker_process(tmp_path / "worker.log", _SLOW_WORKER) as worker:
        deadline = time.monotonic() + 60
        while (run := fresh(db).get(ImportRun, run_id)) is None or run.processed_lines == 0:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker did not start the import"
            time.sleep(0.05)
        job = db.scalar(select(Job))
        assert job is not None and job.locked_by and job.locked_by.endswith(f":{worker.pid}")
        time.sleep(1.0)  # several lease renewals: a live worker's import is not taken over
        assert not run_worker_once()
        kill_9(worker)
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and (run.status, run.attempts) == (ImportStatus.validating, 1)

    # Within a lease (1.5 s here) another worker takes the job over and imports the file.
    deadline = time.monotonic() + 10
    while not run_worker_once("worker-2"):
        assert time.monotonic() < deadline, "no worker took the import over"
        time.sleep(0.2)
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.succeeded, run.error
    assert run.attempts == 2 and run.added and run.added["passages"] == 36
    assert entity_counts(db)["passages"] == 36 and stored_uploads(db) == 0
    job = db.scalar(select(Job))
    assert job is not None and (job.status, job.attempts) == (JobStatus.succeeded, 0)
    assert "taken over by worker-2" in (job.last_error or "")


def test_a_worker_that_lost_the_run_neither_reports_nor_stores(
    db: Session, paper_sample: Path
) -> None:
    run_id = queued(db, paper_sample.read_bytes())
    first = tasks.start_attempt(run_id)
    second = tasks.start_attempt(run_id)  # its lease ran out and another worker began again
    assert first is not None and second is not None and second.number == first.number + 1
    tasks.run_attempt(first)  # refused at its first progress report, and at its write
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and (run.status, run.processed_lines) == (ImportStatus.validating, 0)
    assert entity_counts(db)["passages"] == 0 and stored_uploads(db) == 1
    tasks.run_attempt(second)
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.succeeded
    assert entity_counts(db)["passages"] == 36


def _expire_lease(db: Session) -> None:
    db.execute(update(Job).values(locked_at=queue.now() - 2 * queue.lease()))
    db.commit()


def test_an_import_whose_workers_keep_dying_gives_up_with_the_reason(
    db: Session, paper_sample: Path
) -> None:
    run_id = queued(db, paper_sample.read_bytes())
    for n in range(service.MAX_ATTEMPTS):  # each worker claims the job, begins, and dies
        assert queue.claim(db, f"dead-{n}") is not None
        db.commit()
        attempt = tasks.start_attempt(run_id)
        assert attempt is not None
        tasks._progress(attempt)(20, 40)
        _expire_lease(db)
        run = fresh(db).get(ImportRun, run_id)
        assert run is not None and run.status == ImportStatus.validating
        if n:
            assert f"attempt {n} of 3 stopped while validating at line 20 of 40" in (
                run.error or ""
            )

    assert run_worker_once()
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.failed and run.finished_at
    assert (run.error or "").startswith(
        "gave up after 3 attempts: the last one stopped while validating at line 20 of 40"
    )
    assert entity_counts(db)["passages"] == 0 and stored_uploads(db) == 0
    job = db.scalar(select(Job))
    assert job is not None and job.status == JobStatus.failed
    assert "gave up after 3 attempts" in (job.last_error or "")
    assert not run_worker_once()


def test_an_internal_error_is_retried_and_the_last_attempt_fails_the_run(
    db: Session, paper_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> dict[str, int]:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(tasks, "store_records", broken)
    run_id = queued(db, paper_sample.read_bytes())
    for n in range(1, service.MAX_ATTEMPTS):
        assert run_worker_once()
        run = fresh(db).get(ImportRun, run_id)
        assert run is not None and run.status == ImportStatus.queued
        assert run.error == f"attempt {n} of 3 failed (RuntimeError('the disk is full')); retrying"
        job = db.scalar(select(Job))
        assert job is not None and (job.status, job.attempts) == (JobStatus.queued, n)
        db.execute(update(Job).values(run_after=queue.now()))  # skip the backoff
        db.commit()
    assert run_worker_once()
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.failed
    assert run.error == (
        "internal error on attempt 3 of 3: RuntimeError('the disk is full'). "
        "Nothing from it was stored."
    )
    assert stored_uploads(db) == 0
    job = db.scalar(select(Job))
    assert job is not None and (job.status, job.attempts) == (JobStatus.failed, 3)

    # Retrying the failed job by hand (/admin/jobs) finds the run finished: nothing changes.
    queue.retry_now(db, job.id)
    db.commit()
    assert run_worker_once()
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.failed
    assert db.scalar(select(Job.status)) == JobStatus.succeeded


def test_a_start_that_fails_before_the_run_counts_it_is_retried(
    db: Session, paper_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database away for a moment costs the run none of its attempts."""
    real, calls = tasks.start_attempt, []

    def flaky(run_id: int) -> tasks.Attempt | None:
        calls.append(run_id)
        if len(calls) <= service.MAX_ATTEMPTS:
            raise OperationalError("SELECT", {}, Exception("the database is away"))
        return real(run_id)

    monkeypatch.setattr(tasks, "start_attempt", flaky)
    run_id = queued(db, paper_sample.read_bytes())
    for _ in range(service.MAX_ATTEMPTS + 1):
        assert run_worker_once()
        db.execute(update(Job).values(run_after=queue.now()))  # skip the backoff
        db.commit()
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and (run.status, run.attempts) == (ImportStatus.succeeded, 1)


def test_the_upgrade_fails_runs_that_were_left_to_an_app_process(
    db: Session, database_url: str
) -> None:
    """Before revision 0012 an upload's file was on an app process's disk, out of any
    worker's reach: an unfinished run from then can never finish."""
    from alembic import command

    db.close()
    command.downgrade(alembic_config(database_url), "0011")
    with db.get_bind().begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO import_runs (filename, format, status, total_lines, processed_lines) "
            "VALUES ('old.jsonl', 'native', 'validating', 3, 2), "
            "('done.jsonl', 'native', 'succeeded', 3, 3)"
        )
        conn.exec_driver_sql(
            "INSERT INTO jobs (kind, key, payload, status, attempts, max_attempts, locked_by) "
            "VALUES ('corpus.import', 'import-run-1', '{}', 'running', 0, 8, 'app gone:1')"
        )
    upgrade(url=database_url)
    runs = {r.filename: r for r in fresh(db).scalars(select(ImportRun))}
    assert runs["old.jsonl"].status == ImportStatus.failed and runs["old.jsonl"].finished_at
    assert "upload the file again" in (runs["old.jsonl"].error or "")
    assert runs["done.jsonl"].status == ImportStatus.succeeded
    job = db.scalar(select(Job))
    assert job is not None and job.status == JobStatus.failed and job.locked_by is None
    assert not run_worker_once()
