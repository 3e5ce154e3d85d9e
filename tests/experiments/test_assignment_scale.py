"""Assignment's cost does not grow with the experiment: the same statements for next task
and submit whatever the number of tasks, and a task order drawn once, at launch."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.experiments import assignment
from app.labeling import service
from app.labeling.schemas import CritiqueIn, SubmitIn
from app.models import Category, Task
from tests.support.experiments import (
    check_invariants,
    corpus,
    labelers,
    launched,
    store_fake_assistance,
    user_id,
)


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db.get_bind().engine  # type: ignore[union-attr]

    def count(_c: object, _cur: object, sql: str, *_: object) -> None:
        if not sql.lstrip().upper().startswith(("BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE")):
            seen.append(sql)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _one_loop(db: Session, name: str) -> tuple[int, int]:
    """Statements of one next task and one submit (3 critiques and a rating)."""
    uid = user_id(db, name)
    with statements(db) as next_sql:
        task_id = assignment.next_task(db, uid).task_id
    assert task_id is not None
    body = SubmitIn(
        critiques=[
            CritiqueIn(text=f"Flaw {i}.", severity=2, category=Category.accuracy) for i in range(3)
        ],
        rating=4,
    )
    with statements(db) as submit_sql:
        service.submit(db, uid, task_id, body)
    return len(next_sql), len(submit_sql)


def test_next_task_and_submit_cost_the_same_statements_at_any_size(db: Session) -> None:
    # 3 passages, so every condition still has a task for the third labeler. With 2, when the
    # seed gave the first two labelers the same condition and the third drew it too (1 run in
    # ~36), that condition was empty and next task rightly asked the next one: a statement
    # more, not a cost of size.
    answers = corpus(db, passages=3)
    store_fake_assistance(db, answers)
    launched(db, labelers(db, 6, prefix="small"))
    small = [_one_loop(db, f"small{i}") for i in range(3)]

    answers = corpus(db, passages=40)  # the same 3 passages and 37 more
    store_fake_assistance(db, answers[9:])
    launched(db, labelers(db, 7, prefix="large"))  # 7: another experiment name
    large = [_one_loop(db, f"large{i}") for i in range(3)]

    assert small == large
    check_invariants(db)


def test_launch_draws_each_tasks_place_from_the_seed(db: Session) -> None:
    answers = corpus(db, passages=3)
    store_fake_assistance(db, answers)
    exp_id = launched(db, labelers(db, 6))
    from app.models import Experiment

    seed = db.get(Experiment, exp_id).seed  # type: ignore[union-attr]
    keys = list(
        db.scalars(select(Task.order_key).where(Task.experiment_id == exp_id).order_by(Task.id))
    )
    drawn = assignment.task_keys(seed)
    assert keys == [next(drawn) for _ in keys]
    assert len(set(keys)) > 1
