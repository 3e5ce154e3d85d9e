"""The durable queue: one job per key, safe claiming, backoff, giving up, leases, and
releasing a job (no attempt counted) while the model backend is down."""

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import queue
from app.models import Job


def _commit(db: Session) -> None:
    db.commit()


def test_enqueue_is_idempotent_per_kind_and_key(db: Session) -> None:
    a = queue.enqueue(db, "assistance", "7", {"answer_id": 7})
    b = queue.enqueue(db, "assistance", "7", {"answer_id": 7})
    _commit(db)
    assert a.id == b.id
    assert queue.counts_by_status(db) == {"queued": 1}


def test_claim_succeed(db: Session) -> None:
    queue.enqueue(db, "assistance", "1", {"answer_id": 1})
    _commit(db)
    job = queue.claim(db, "w1")
    assert (
        job is not None and job.status == "running" and job.attempts == 0 and job.locked_by == "w1"
    )  # a claim spends no attempt: only a recorded failure does
    _commit(db)
    assert queue.claim(db, "w2") is None  # running jobs are not handed out again
    queue.succeed(db, job.id)
    _commit(db)
    assert queue.counts_by_status(db) == {"succeeded": 1}


def test_failure_is_visible_and_retried_with_backoff_then_given_up(db: Session) -> None:
    queue.enqueue(db, "assistance", "1", {"answer_id": 1}, max_attempts=2)
    _commit(db)
    job = queue.claim(db, "w1")
    assert job is not None
    failed = queue.fail(db, job.id, "ModelError: answered 500")
    _commit(db)
    assert (
        failed is not None
        and failed.status == "queued"
        and failed.attempts == 1
        and failed.last_error == "ModelError: answered 500"
    )
    assert failed.run_after > queue.now()
    assert queue.claim(db, "w1") is None  # not before its backoff
    db.execute(update(Job).values(run_after=queue.now() - timedelta(seconds=1)))
    _commit(db)
    job = queue.claim(db, "w1")
    assert job is not None and job.attempts == 1
    final = queue.fail(db, job.id, "still down")
    _commit(db)
    assert (
        final is not None
        and final.status == "failed"
        and final.attempts == 2
        and final.finished_at is not None
    )
    # Asking again requeues a failed job.
    assert queue.enqueue(db, "assistance", "1", {"answer_id": 1}).status == "queued"


def test_a_dead_workers_job_is_claimable_after_its_lease_with_no_attempt_spent(
    db: Session,
) -> None:
    queue.enqueue(db, "assistance", "1", {})
    _commit(db)
    job = queue.claim(db, "dead-worker")
    assert job is not None
    _commit(db)
    assert queue.claim(db, "w2") is None  # its lease still runs
    db.execute(update(Job).values(locked_at=queue.now() - queue.lease() - timedelta(seconds=5)))
    _commit(db)
    again = queue.claim(db, "w2")
    assert (
        again is not None and again.id == job.id and again.locked_by == "w2" and again.attempts == 0
    )
    assert again.last_error and "dead-worker stopped renewing its lease" in again.last_error
    _commit(db)
    # The dead worker, were it only paused, can neither renew nor record an outcome.
    assert queue.heartbeat(db, job.id, "dead-worker") is False
    assert queue.succeed(db, job.id, worker="dead-worker") is False
    assert queue.fail(db, job.id, "late", worker="dead-worker") is None
    assert queue.heartbeat(db, job.id, "w2") is True
    assert queue.succeed(db, job.id, worker="w2") is True
    _commit(db)
    assert queue.counts_by_status(db) == {"succeeded": 1}


def test_a_heartbeat_keeps_the_lease(db: Session) -> None:
    queue.enqueue(db, "assistance", "1", {})
    _commit(db)
    job = queue.claim(db, "w1")
    assert job is not None
    _commit(db)
    db.execute(update(Job).values(locked_at=queue.now() - queue.lease() - timedelta(seconds=5)))
    _commit(db)
    assert queue.heartbeat(db, job.id, "w1") is True  # renewed just in time
    _commit(db)
    assert queue.claim(db, "w2") is None


def test_a_job_released_while_the_backend_is_down_keeps_its_attempts(db: Session) -> None:
    ids = {queue.enqueue(db, "assistance", key, {}).id for key in ("1", "2", "3")}
    _commit(db)
    assert queue.backend_outage(db) is None
    job = queue.claim(db, "w1")
    assert job is not None
    _commit(db)
    later = queue.now() + timedelta(seconds=30)
    released = queue.release(db, job.id, "ModelUnavailable: connection refused", later, "w1")
    _commit(db)
    assert released is not None
    assert (released.status, released.attempts, released.locked_by) == ("queued", 0, None)
    assert released.run_after == later
    outage = queue.backend_outage(db)
    assert outage is not None and outage.waiting == 3
    assert outage.last_error == "ModelUnavailable: connection refused"
    assert abs((outage.since - queue.now()).total_seconds()) < 60
    # The backend answers again: the job may run at once, and the outage is over.
    assert queue.backend_is_back(db) == 1
    _commit(db)
    assert queue.backend_outage(db) is None
    claimed = [queue.claim(db, "w1") for _ in range(3)]
    assert {j.id for j in claimed if j is not None and j.attempts == 0} == ids


def test_two_workers_claim_different_jobs_while_both_transactions_are_open(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    make = sessionmaker(bind=engine)
    with make() as setup:
        for i in range(3):
            queue.enqueue(setup, "assistance", str(i), {})
        setup.commit()
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("SQLite serialises writers; its compare-and-set claim is tested above")
    s1, s2 = make(), make()
    try:
        j1 = queue.claim(s1, "w1")  # row locked, not yet committed
        j2 = queue.claim(s2, "w2")  # SKIP LOCKED: takes the next one without waiting
        assert j1 is not None and j2 is not None and j1.id != j2.id
        s1.commit()
        s2.commit()
    finally:
        s1.close()
        s2.close()
        engine.dispose()
