"""Leases: a running job's worker renews its lease; when a worker dies (kill -9) its job is
taken over within a lease by another worker, and the lost run costs the job no attempt."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.service import request_assistance
from app.core import settings
from app.core.database import session_scope
from app.corpus.demo import load_demo
from app.jobs import queue
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from app.models import Answer, AssistanceSet, Job
from tests.support.db import fresh
from tests.support.worker_process import kill_9, worker_process


@pytest.fixture
def short_lease(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CRITIQUELAB_JOB_LEASE_S", "1.0")
    monkeypatch.setenv("CRITIQUELAB_JOB_HEARTBEAT_S", "0.2")
    settings.get_settings.cache_clear()
    yield
    settings.get_settings.cache_clear()


def _one_job(db: Session) -> int:
    job = queue.enqueue(db, "slow", "1", {})
    db.commit()
    return job.id


@pytest.mark.usefixtures("short_lease")
def test_a_job_that_outlives_its_lease_is_kept_by_its_heartbeat(db: Session) -> None:
    job_id = _one_job(db)
    seen: list[Job | None] = []

    async def slow(payload: dict[str, Any]) -> None:
        await asyncio.sleep(2.5)  # 2.5 leases
        with session_scope() as s:
            seen.append(queue.claim(s, "w2"))  # another worker finds nothing to take

    assert asyncio.run(run_one("w1", {"slow": slow})) is True
    assert seen == [None]
    job = fresh(db).get(Job, job_id)
    assert job is not None and (job.status, job.attempts) == ("succeeded", 0)


@pytest.mark.usefixtures("short_lease")
def test_a_worker_that_lost_its_job_stops_and_records_nothing(db: Session) -> None:
    job_id = _one_job(db)

    async def stalls(payload: dict[str, Any]) -> None:
        # Meanwhile its lease runs out (a long pause, a partition) and w2 takes the job.
        with session_scope() as s:
            s.get(Job, job_id).locked_at = queue.now() - queue.lease()  # type: ignore[union-attr]
        with session_scope() as s:
            assert queue.claim(s, "w2") is not None
        await asyncio.sleep(30)

    started = time.monotonic()
    assert asyncio.run(run_one("w1", {"slow": stalls})) is True
    assert time.monotonic() - started < 5  # cancelled at its next heartbeat
    job = fresh(db).get(Job, job_id)
    assert job is not None
    assert (job.status, job.locked_by, job.attempts) == ("running", "w2", 0)


@pytest.mark.usefixtures("model_settings")
def test_a_killed_workers_job_is_taken_over_with_no_attempt_spent(
    db: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CRITIQUELAB_CRITIQUE_MAX_TOKENS", "96")  # a sweep long enough to kill
    monkeypatch.setenv("CRITIQUELAB_JOB_LEASE_S", "2")
    monkeypatch.setenv("CRITIQUELAB_JOB_HEARTBEAT_S", "0.5")
    settings.get_settings.cache_clear()
    load_demo(db)
    db.commit()
    answer_id = db.scalar(select(Answer.id).order_by(Answer.id))
    assert answer_id is not None
    request_assistance(db, [answer_id], "smollm2-135m-instruct", "chat-v1")
    db.commit()

    with worker_process(tmp_path / "worker.log") as worker:
        deadline = time.monotonic() + 60
        job = None
        while time.monotonic() < deadline:
            job = fresh(db).scalar(select(Job))
            if job is not None and job.status == "running":
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.05)
        assert job is not None and job.status == "running"
        assert job.locked_by and job.locked_by.endswith(f":{worker.pid}")
        time.sleep(1.0)  # mid-sweep, with a heartbeat or two behind it
        kill_9(worker)

    job = fresh(db).scalar(select(Job))
    assert job is not None and job.status == "running" and job.attempts == 0
    assert asyncio.run(run_one("w2", handlers())) is False  # its lease has not run out yet
    time.sleep(2.2)
    assert asyncio.run(run_one("w2", handlers())) is True
    job = fresh(db).scalar(select(Job))
    assert job is not None and (job.status, job.attempts) == ("succeeded", 0), job.last_error
    assert job.last_error and "stopped renewing its lease; taken over by w2" in job.last_error
    assert db.scalar(select(AssistanceSet).where(AssistanceSet.answer_id == answer_id))
