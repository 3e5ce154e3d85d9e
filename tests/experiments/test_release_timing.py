"""A task that leaves a labeler unsubmitted (skip, expiry, admin reassignment) goes back to
the pool blank: the next labeler's timing starts at zero, never at the previous labeler's."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.experiments import assignment
from app.labeling import service as labeling
from app.models import Task, TaskStatus
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance, user_id


def _release(db: Session, how: str, uid: int, task_id: int) -> None:
    if how == "skipped":
        assignment.skip(db, uid, task_id, "Other")
    elif how == "reassigned":
        assignment.reassign(db, task_id, by_admin="ada")
    else:
        db.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(expires_at=assignment.now() - timedelta(seconds=1))
        )
        assert assignment.release_expired(db) == 1


@pytest.mark.parametrize("how", ["skipped", "expired", "reassigned"])
def test_the_next_labeler_does_not_inherit_the_previous_labelers_time(
    db: Session, how: str
) -> None:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 7)
    launched(db, names)
    first = user_id(db, names[0])
    task_id = assignment.next_task(db, first).task_id
    assert task_id is not None
    labeling.mark_opened(db, first, task_id)
    labeling.mark_passage_revealed(db, first, task_id)
    labeling.add_active_time(db, first, task_id, 25.0)  # the 25 s of the bug report
    assert db.get(Task, task_id).active_time_s == 25.0  # type: ignore[union-attr]

    _release(db, how, first, task_id)

    task = db.get(Task, task_id)
    assert task is not None and task.status == TaskStatus.pending
    assert (task.opened_at, task.first_edit_at, task.passage_revealed_at) == (None, None, None)
    assert task.active_time_s is None
    # Whoever takes it next starts from nothing.
    holders = {n: assignment.next_task(db, user_id(db, n)).task_id for n in names[1:]}
    taker = next(n for n, t in holders.items() if t == task_id)
    labeling.add_active_time(db, user_id(db, taker), task_id, 3.0)
    assert db.get(Task, task_id).active_time_s == 3.0  # type: ignore[union-attr]
