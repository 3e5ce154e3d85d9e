"""50 labelers ask for tasks at the same instant, over HTTP, on PostgreSQL (and SQLite)."""

import asyncio

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.experiments import assignment
from app.models import Task, TaskStatus
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import (
    check_invariants,
    corpus,
    labelers,
    launched,
    store_fake_assistance,
)
from tests.support.live_server import live_app


def test_fifty_labelers_at_once_never_share_a_task(db: Session) -> None:
    answers = corpus(db, passages=20)
    store_fake_assistance(db, answers)
    names = labelers(db, 50)
    launched(db, names)
    tokens = [api_token_for(db, n) for n in names]
    db.commit()

    async def everyone_asks(base: str) -> list[int | None]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/api/v1/tasks/next", headers={"Authorization": f"Bearer {t}"})
                    for t in tokens
                )
            )
        assert all(r.status_code == 200 for r in responses), [
            r.text for r in responses if r.status_code != 200
        ][:3]
        return [r.json()["task_id"] for r in responses]

    with live_app() as base:
        for _ in range(3):
            got = [t for t in asyncio.run(everyone_asks(base)) if t is not None]
            assert len(got) == len(set(got)), "a task was handed out twice"
            fresh(db)
            assigned = db.scalars(select(Task).where(Task.status == TaskStatus.assigned)).all()
            assert sorted(t.id for t in assigned) == sorted(got)
            check_invariants(db)
            db.execute(
                update(Task)
                .where(Task.status == TaskStatus.assigned)
                .values(status=TaskStatus.submitted, submitted_at=assignment.now())
            )
            db.commit()
    fresh(db)
    check_invariants(db)
    # 120 tasks on 20 passages: every labeler can take at most one task per passage.
    assert (
        db.scalar(select(Task.id).where(Task.status == TaskStatus.submitted).limit(1)) is not None
    )
