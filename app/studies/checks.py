"""Gold (attention check) tasks.

The admin marks answers with intended critiques as checks for an experiment. A check is an
ordinary task of the experiment, made for one labeler when a check is due and flagged in
check_tasks: its page, API, timing and submit are those of every task, so nothing on the
page can tell it apart. It goes in the no-assist condition of the answer's source (an experiment without
one hands out no such check), and the labeler's passage exposure is recorded as for any task.

A check is due on a labeler's n-th task of the experiment when a draw seeded by
(experiment seed, labeler, n) falls under the experiment's check rate: a rate, not a
pattern a participant could learn."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError, NotFound
from app.models import (
    Answer,
    Condition,
    Experiment,
    ExposureReason,
    IntendedCritique,
    PassageExposure,
    Question,
    Task,
    TaskStatus,
)
from app.models.base import utcnow
from app.models.studies import CheckAnswer, CheckTask


def mark(session: Session, experiment_id: int, answer_id: int) -> None:
    """Mark an answer as a check: it must have intended critiques (its known flaws)."""
    if session.get(Experiment, experiment_id) is None:
        raise NotFound(f"no experiment {experiment_id}")
    if session.get(Answer, answer_id) is None:
        raise AppError(f"no answer {answer_id}", field="answer_id")
    flaws = session.scalar(select(func.count()).where(IntendedCritique.answer_id == answer_id))
    if not flaws:
        raise AppError(
            "a check needs an answer with intended critiques (its known flaws)", field="answer_id"
        )
    if session.get(CheckAnswer, {"experiment_id": experiment_id, "answer_id": answer_id}) is None:
        session.add(CheckAnswer(experiment_id=experiment_id, answer_id=answer_id))
        session.flush()


def unmark(session: Session, experiment_id: int, answer_id: int) -> None:
    row = session.get(CheckAnswer, {"experiment_id": experiment_id, "answer_id": answer_id})
    if row is not None:
        session.delete(row)
        session.flush()


def marked(session: Session, experiment_id: int) -> Sequence[tuple[int, str, int]]:
    """(answer id, question text, number of intended critiques) of the experiment's checks."""
    flaws = (
        select(func.count())
        .where(IntendedCritique.answer_id == CheckAnswer.answer_id)
        .correlate(CheckAnswer)
        .scalar_subquery()
    )
    rows = session.execute(
        select(CheckAnswer.answer_id, Question.text, flaws)
        .join(Answer, Answer.id == CheckAnswer.answer_id)
        .join(Question, Question.id == Answer.question_id)
        .where(CheckAnswer.experiment_id == experiment_id)
        .order_by(CheckAnswer.answer_id)
    ).all()
    return [(a, q, n) for a, q, n in rows]


def _due(seed: int, labeler_id: int, n: int, rate_percent: int) -> bool:
    digest = hashlib.sha256(f"check:{seed}:{labeler_id}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 < rate_percent * 100


@dataclass(frozen=True)
class CheckRate:
    """An experiment of the labeler's with gold checks (read by next task's conditions)."""

    experiment_id: int
    seed: int
    expiry_s: int
    rate_percent: int


def take_due_check(session: Session, labeler_id: int, rates: Sequence[CheckRate]) -> int | None:
    """A new check task for the labeler if one is due in one of these experiments, else
    None."""
    for rate in rates:
        exp_id, seed, expiry_s = rate.experiment_id, rate.seed, rate.expiry_s
        n = session.scalar(
            select(func.count()).where(
                Task.labeler_id == labeler_id,
                Task.experiment_id == exp_id,
                Task.status.in_([TaskStatus.assigned, TaskStatus.submitted]),
            )
        )
        if not _due(seed, labeler_id, n or 0, rate.rate_percent):
            continue
        task_id = _make_check(session, labeler_id, exp_id, expiry_s)
        if task_id is not None:
            return task_id
    return None


def _make_check(session: Session, labeler_id: int, exp_id: int, expiry_s: int) -> int | None:
    seen = exists().where(
        PassageExposure.user_id == labeler_id,
        PassageExposure.passage_id == Question.passage_id,
    )
    candidate = session.execute(
        select(Answer.id, Answer.source, Question.id, Question.passage_id)
        .join(CheckAnswer, CheckAnswer.answer_id == Answer.id)
        .join(Question, Question.id == Answer.question_id)
        .where(CheckAnswer.experiment_id == exp_id, ~seen)
        .order_by(Answer.id)
        .limit(1)
    ).first()
    if candidate is None:
        return None  # every check's passage is one this labeler has seen
    answer_id, source, question_id, passage_id = candidate
    plain = session.execute(
        select(Condition.id, Condition.source).where(
            Condition.experiment_id == exp_id, Condition.assist.is_(False)
        )
    ).all()
    condition_id = next((c for c, s in plain if s == source), None)
    if condition_id is None:
        return None  # the experiment has no unassisted condition of this answer's source
    at = utcnow()
    task = Task(
        experiment_id=exp_id,
        condition_id=condition_id,
        answer_id=answer_id,
        question_id=question_id,
        passage_id=passage_id,
        slot=-labeler_id,  # design slots are 0..n-1; one check per labeler and answer
        order_key=0,
        status=TaskStatus.assigned,
        labeler_id=labeler_id,
        assigned_at=at,
        expires_at=at + timedelta(seconds=expiry_s),
    )
    session.add(task)
    session.flush()
    session.add(CheckTask(task_id=task.id, experiment_id=exp_id))
    session.add(
        PassageExposure(
            user_id=labeler_id, passage_id=passage_id, reason=ExposureReason.task, task_id=task.id
        )
    )
    session.flush()
    return task.id
