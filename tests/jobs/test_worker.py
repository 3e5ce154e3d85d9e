"""What a worker runs next, and a handler that gives up."""

import asyncio
from typing import Any

from sqlalchemy.orm import Session

from app.assist.service import ASSISTANCE
from app.jobs import queue
from app.jobs.errors import GiveUp
from app.jobs.registry import Handler
from app.jobs.worker import run_one
from app.models import Job, JobStatus
from tests.support.db import fresh


def test_a_job_that_needs_no_model_goes_before_older_model_jobs(db: Session) -> None:
    """An upload's import does not wait behind a launch's sweeps."""
    ran: list[str] = []

    def handler(name: str) -> Handler:
        async def run(payload: dict[str, Any]) -> None:
            ran.append(name)

        return run

    for n in range(3):
        queue.enqueue(db, ASSISTANCE, str(n), {"answer_id": n})
    queue.enqueue(db, "quick", "1", {})
    db.commit()
    table = {ASSISTANCE: handler(ASSISTANCE), "quick": handler("quick")}
    while asyncio.run(run_one("w1", table)):
        pass
    assert ran == ["quick", ASSISTANCE, ASSISTANCE, ASSISTANCE]


def test_a_handler_that_gives_up_fails_its_job_at_once(db: Session) -> None:
    job_id = queue.enqueue(db, "doomed", "1", {}, max_attempts=8).id
    db.commit()

    async def doomed(payload: dict[str, Any]) -> None:
        raise GiveUp("the file it needs is gone")

    assert asyncio.run(run_one("w1", {"doomed": doomed}))
    job = fresh(db).get(Job, job_id)
    assert job is not None and (job.status, job.attempts) == (JobStatus.failed, 1)
    assert job.finished_at and "GiveUp: the file it needs is gone" in (job.last_error or "")
