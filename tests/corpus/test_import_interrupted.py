"""An import whose process dies (kill -9, a restart) does not stay "validating" forever: its
lease runs out, a worker marks it failed with the reason, nothing of it is stored, and
uploading the file again imports it (app/corpus/jobs.py)."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core import settings
from app.corpus import jobs as import_jobs
from app.corpus import service
from app.corpus.parsing import ImportFormat
from app.corpus.stats import entity_counts
from app.jobs import queue
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from app.models import ImportRun, ImportStatus, Job, JobStatus
from tests.support.db import fresh

ROOT = Path(__file__).resolve().parents[2]


def _run_worker_once() -> bool:
    return asyncio.run(run_one("worker-test", handlers()))


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRITIQUELAB_JOB_LEASE_S", "1.5")
    monkeypatch.setenv("CRITIQUELAB_JOB_HEARTBEAT_S", "0.3")
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


def _held_run(db: Session, tmp_path: Path, status: ImportStatus, lease_age_s: float) -> int:
    upload = tmp_path / "upload.jsonl"
    upload.write_text((ROOT / "app/corpus/demo_data.jsonl").read_text())
    run = service.create_run(db, "demo.jsonl", ImportFormat.native, None, upload)
    run.status, run.processed_lines, run.total_lines = status, 2, 3
    db.execute(
        update(Job)
        .where(Job.kind == import_jobs.IMPORT)
        .values(locked_by="app gone:1", locked_at=queue.now() - timedelta(seconds=lease_age_s))
    )
    db.commit()
    return run.id


def test_a_run_whose_owner_stopped_renewing_is_failed_with_the_reason(
    db: Session, tmp_path: Path
) -> None:
    run_id = _held_run(db, tmp_path, ImportStatus.validating, lease_age_s=3600)
    assert _run_worker_once()
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.failed and run.finished_at
    assert "interrupted while validating at line 2 of 3" in (run.error or "")
    assert "upload the file again to retry" in (run.error or "")
    assert db.get(Job, import_jobs.job_id_of(db, run_id)).status == JobStatus.succeeded  # type: ignore[union-attr]
    assert not (tmp_path / "upload.jsonl").exists()  # the orphaned upload is cleaned up


def test_a_run_whose_owner_is_alive_is_left_alone(db: Session, tmp_path: Path) -> None:
    run_id = _held_run(db, tmp_path, ImportStatus.writing, lease_age_s=1)
    assert not _run_worker_once()  # its lease is current: nothing to take over
    assert fresh(db).get(ImportRun, run_id).status == ImportStatus.writing  # type: ignore[union-attr]


def test_runs_from_before_leases_are_failed_when_a_worker_starts(db: Session) -> None:
    db.add(ImportRun(filename="old.jsonl", format="native", status=ImportStatus.validating))
    db.commit()
    assert import_jobs.fail_ownerless(db) == 1
    db.commit()
    run = fresh(db).get(ImportRun, 1)
    assert run is not None and run.status == ImportStatus.failed
    assert "interrupted" in (run.error or "")


def test_a_late_report_from_a_lost_owner_does_not_reopen_the_run(
    db: Session, tmp_path: Path
) -> None:
    run_id = _held_run(db, tmp_path, ImportStatus.validating, lease_age_s=3600)
    assert _run_worker_once()
    service._update(run_id, status=ImportStatus.writing, processed_lines=3)
    assert fresh(db).get(ImportRun, run_id).status == ImportStatus.failed  # type: ignore[union-attr]


# A real process runs the import and is killed with SIGKILL in the middle of it. Validation
# is slowed down (each progress report sleeps) so the kill lands while it is "validating".
_SLOW_IMPORT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from app.core.database import session_scope
    from app.corpus import parsing, service
    real = parsing.parse_records

    def slow(path, fmt, limit, progress=None, name=None):
        def report(done, total):
            progress(done, total)
            time.sleep(3)
        return real(path, fmt, limit, report, name)

    service.parse_records = slow
    path = Path(sys.argv[1])
    with session_scope() as s:
        run_id = service.create_run(s, path.name, parsing.ImportFormat.paper, None, path).id
    print(run_id, flush=True)
    service.execute_run(run_id, path)
    """
)


def test_an_import_killed_midway_is_failed_by_the_worker_and_can_be_retried(
    db: Session, database_url: str, short_lease: None, paper_sample: Path, tmp_path: Path
) -> None:
    upload = tmp_path / "upload.jsonl"
    upload.write_bytes(paper_sample.read_bytes() * 3)  # progress is reported every 50 lines
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_IMPORT, str(upload)],
        cwd=ROOT,
        env=dict(os.environ, CRITIQUELAB_DATABASE_URL=database_url),
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    run_id = int(proc.stdout.readline())
    deadline = time.monotonic() + 30
    while (run := fresh(db).get(ImportRun, run_id)) is None or run.processed_lines == 0:
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.05)
    time.sleep(1.0)  # several lease renewals: a live owner is not taken over meanwhile
    assert not _run_worker_once()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert fresh(db).get(ImportRun, run_id).status == ImportStatus.validating  # type: ignore[union-attr]

    # Within a lease (1.5 s here) the worker notices the owner is gone.
    deadline = time.monotonic() + 10
    while not _run_worker_once():
        assert time.monotonic() < deadline, "no worker took the import over"
        time.sleep(0.2)
    run = fresh(db).get(ImportRun, run_id)
    assert run is not None and run.status == ImportStatus.failed
    assert "interrupted while validating" in (run.error or "")
    assert entity_counts(db)["passages"] == 0

    # Retrying is uploading it again; it imports whole.
    again = tmp_path / "again.jsonl"
    again.write_bytes(paper_sample.read_bytes())
    retry = service.create_run(db, "again.jsonl", ImportFormat.paper, None, again)
    db.commit()
    service.execute_run(retry.id, again)
    run = fresh(db).get(ImportRun, retry.id)
    assert run is not None
    assert run.status == ImportStatus.succeeded, run.error
    assert entity_counts(db)["passages"] == 36
