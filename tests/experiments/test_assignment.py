"""Assignment rules, one scenario each; the property test below mixes them at random."""

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.experiments import assignment
from app.models import Condition, PassageExposure, Task, TaskRelease, TaskStatus
from tests.support.experiments import (
    check_invariants,
    corpus,
    labelers,
    launched,
    store_fake_assistance,
    user_id,
)


def _submit(db: Session, task_id: int) -> None:
    db.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(status=TaskStatus.submitted, submitted_at=assignment.now())
    )


def test_six_labelers_fill_one_question_one_condition_each(db: Session) -> None:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 7)
    launched(db, names)
    got = {}
    for name in names:
        result = assignment.next_task(db, user_id(db, name))
        got[name] = result.task_id
    assert (
        sum(t is not None for t in got.values()) == 6
    )  # six tasks, six labelers, the seventh waits
    seventh = assignment.next_task(db, user_id(db, names[-1]))
    assert got[names[-1]] is None and seventh.code == "all_done"
    assert seventh.reason == assignment.END_REASONS["all_done"]
    check_invariants(db)
    conds = {
        t.condition_id for t in db.scalars(select(Task).where(Task.status == TaskStatus.assigned))
    }
    assert len(conds) == 6


def test_asking_again_returns_the_open_task(db: Session) -> None:
    answers = corpus(db, passages=2)
    store_fake_assistance(db, answers)
    names = labelers(db, 6)
    launched(db, names)
    uid = user_id(db, names[0])
    first = assignment.next_task(db, uid)
    again = assignment.next_task(db, uid)
    assert again.task_id == first.task_id and again.resumed


def test_a_labeler_who_read_every_remaining_passage_is_told_so(db: Session) -> None:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 2)
    launched(db, names)
    uid = user_id(db, names[0])
    first = assignment.next_task(db, uid)
    assert first.task_id is not None
    _submit(db, first.task_id)
    again = assignment.next_task(db, uid)
    assert (again.task_id, again.code) == (None, "passage_rule")
    assert "already read" in (again.reason or "")


def test_assist_tasks_wait_for_their_assistance(db: Session) -> None:
    corpus(db, passages=1)
    names = labelers(db, 6)
    launched(db, names, sources=("model",))
    uid = user_id(db, names[0])
    task = db.scalar(select(Task).where(Task.id == assignment.next_task(db, uid).task_id))
    assert task is not None
    cond = db.get(Condition, task.condition_id)
    assert cond is not None and cond.assist is False  # only the no-assist task could go out
    other = assignment.next_task(db, user_id(db, names[1]))
    assert (other.task_id, other.code) == (None, "waiting_assistance")
    assert "waiting for their model assistance" in (other.reason or "")


def test_a_labeler_never_gets_a_passage_they_wrote_an_answer_for(db: Session) -> None:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 6)
    db.add(
        PassageExposure(
            user_id=user_id(db, names[0]),
            passage_id=db.scalar(select(Task.passage_id).limit(1)) or 1,
            reason="authored",
        )
    )
    launched(db, names)
    assert assignment.next_task(db, user_id(db, names[0])).task_id is None
    check_invariants(db)


def test_skipped_tasks_go_to_someone_else_and_the_skipper_never_sees_the_passage_again(
    db: Session,
) -> None:
    answers = corpus(db, passages=2)
    store_fake_assistance(db, answers)
    names = labelers(db, 6)
    launched(db, names)
    uid = user_id(db, names[0])
    first = assignment.next_task(db, uid).task_id
    assert first is not None
    passage = db.get(Task, first).passage_id  # type: ignore[union-attr]
    assignment.skip(db, uid, first, "I have read this text before")
    release = db.scalar(select(TaskRelease))
    assert (
        release is not None
        and release.kind == "skipped"
        and release.reason == "I have read this text before"
    )
    second = assignment.next_task(db, uid).task_id
    assert db.get(Task, second).passage_id != passage  # type: ignore[union-attr]
    taken_by_other = [assignment.next_task(db, user_id(db, n)).task_id for n in names[1:]]
    assert first in taken_by_other or db.get(Task, first).status == TaskStatus.pending  # type: ignore[union-attr]
    check_invariants(db)


def test_expired_tasks_return_to_the_pool(db: Session) -> None:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 7)
    launched(db, names)
    uid = user_id(db, names[0])
    task_id = assignment.next_task(db, uid).task_id
    db.execute(
        update(Task)
        .where(Task.id == task_id)
        .values(expires_at=assignment.now() - timedelta(seconds=1))
    )
    # The six others take the six tasks, the expired one among them.
    taken = {assignment.next_task(db, user_id(db, n)).task_id for n in names[1:]}
    assert task_id in taken and len(taken) == 6
    assert db.scalar(select(TaskRelease.kind)) == "expired"
    assert assignment.next_task(db, uid).task_id is None  # they had seen that passage
    check_invariants(db)


def test_each_labelers_tasks_are_balanced_across_conditions(db: Session) -> None:
    answers = corpus(db, passages=24)
    store_fake_assistance(db, answers)
    names = labelers(db, 6)
    launched(db, names)
    for _ in range(12):
        for name in names:
            uid = user_id(db, name)
            tid = assignment.next_task(db, uid).task_id
            assert tid is not None
            _submit(db, tid)
            counts: dict[int, int] = {}
            for (cond,) in db.execute(select(Task.condition_id).where(Task.labeler_id == uid)):
                counts[cond] = counts.get(cond, 0) + 1
            values = [counts.get(c, 0) for c in db.scalars(select(Condition.id))]
            assert max(values) - min(values) <= 1, values
    check_invariants(db)


def test_the_order_is_random_but_fixed_by_the_seed(db: Session) -> None:
    a, b = assignment.order_key(7, 1, 10), assignment.order_key(7, 1, 11)
    assert a != b and assignment.order_key(7, 1, 10) == a and assignment.order_key(8, 1, 10) != a


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    n_labelers=st.integers(1, 9),
    n_passages=st.integers(1, 3),
    n_questions=st.integers(1, 2),
    lpc=st.integers(1, 2),
    assisted=st.floats(0, 1),
    actions=st.lists(
        st.tuples(
            st.sampled_from(["next", "next", "next", "skip", "submit", "expire"]), st.integers(0, 8)
        ),
        max_size=40,
    ),
)
def test_invariants_hold_under_any_sequence(
    db: Session,
    n_labelers: int,
    n_passages: int,
    n_questions: int,
    lpc: int,
    assisted: float,
    actions: list[tuple[str, int]],
) -> None:
    try:
        answers = corpus(db, n_passages, n_questions)
        store_fake_assistance(db, answers[: int(len(answers) * assisted)])
        names = labelers(db, n_labelers)
        exp_id = launched(db, names, lpc=lpc)
        uids = [user_id(db, n) for n in names]
        conds = {
            c.id: c for c in db.scalars(select(Condition).where(Condition.experiment_id == exp_id))
        }
        for action, who in actions:
            uid = uids[who % len(uids)]
            open_task = db.scalar(
                select(Task).where(Task.labeler_id == uid, Task.status == TaskStatus.assigned)
            )
            if action == "next":
                before = _choosable_counts(db, uid, conds)
                result = assignment.next_task(db, uid)
                if result.task_id is not None and not result.resumed:
                    got = db.get(Task, result.task_id)
                    assert got is not None
                    # The greedy choice: no condition served less was available.
                    assert before[got.condition_id][0] == min(
                        n for n, avail in before.values() if avail
                    )
                if result.task_id is None:
                    assert not any(avail for _, avail in before.values()) or open_task is not None
            elif action == "skip" and open_task is not None:
                assignment.skip(db, uid, open_task.id, "Other")
            elif action == "submit" and open_task is not None:
                _submit(db, open_task.id)
            elif action == "expire":
                db.execute(
                    update(Task)
                    .where(Task.status == TaskStatus.assigned)
                    .values(expires_at=assignment.now() - timedelta(seconds=1))
                )
            check_invariants(db)
    finally:
        db.rollback()


def _choosable_counts(
    db: Session, uid: int, conds: dict[int, Condition]
) -> dict[int, tuple[int, bool]]:
    """Per condition: how many of its tasks the labeler holds or did, and whether one is free for them."""
    assignment.release_expired(db)
    seen = set(db.scalars(select(PassageExposure.passage_id).where(PassageExposure.user_id == uid)))
    from app.models import AssistanceSet

    ready = set(db.scalars(select(AssistanceSet.answer_id)))
    out = {}
    for cid, cond in conds.items():
        mine = len(
            db.scalars(
                select(Task.id).where(
                    Task.labeler_id == uid,
                    Task.condition_id == cid,
                    Task.status != TaskStatus.pending,
                )
            ).all()
        )
        free = [
            t
            for t in db.scalars(
                select(Task).where(Task.condition_id == cid, Task.status == TaskStatus.pending)
            )
            if t.passage_id not in seen and (not cond.assist or t.answer_id in ready)
        ]
        out[cid] = (mine, bool(free))
    return out
