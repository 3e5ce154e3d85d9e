"""The durable queue: one job per key, safe claiming, backoff, giving up, leases."""

from datetime import timedelta

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
        job is not None and job.status == "running" and job.attempts == 1 and job.locked_by == "w1"
    )
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
    failed = queue.fail(db, job.id, "ModelError: backend unreachable")
    _commit(db)
    assert (
        failed is not None
        and failed.status == "queued"
        and failed.last_error == "ModelError: backend unreachable"
    )
    assert failed.run_after > queue.now()
    assert queue.claim(db, "w1") is None  # not before its backoff
    db.execute(update(Job).values(run_after=queue.now() - timedelta(seconds=1)))
    _commit(db)
    job = queue.claim(db, "w1")
    assert job is not None and job.attempts == 2
    final = queue.fail(db, job.id, "still down")
    _commit(db)
    assert final is not None and final.status == "failed" and final.finished_at is not None
    # Asking again requeues a failed job.
    assert queue.enqueue(db, "assistance", "1", {"answer_id": 1}).status == "queued"


def test_a_dead_workers_job_is_claimable_after_its_lease(db: Session) -> None:
    queue.enqueue(db, "assistance", "1", {})
    _commit(db)
    job = queue.claim(db, "dead-worker")
    assert job is not None
    _commit(db)
    db.execute(update(Job).values(locked_at=queue.now() - queue.LEASE - timedelta(seconds=5)))
    _commit(db)
    again = queue.claim(db, "w2")
    assert (
        again is not None and again.id == job.id and again.locked_by == "w2" and again.attempts == 2
    )


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
        # SQLite serialises writers; the compare-and-set claim is tested above.
        engine.dispose()
        return
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
