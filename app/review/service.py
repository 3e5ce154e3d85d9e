"""The intended-critique check.

When every labeling task on an authored misleading answer in an experiment is submitted,
its author gets a review: for each labeler (anonymised, condition hidden) which intended
critiques their critiques cover, and for each critique whether it is valid and, if so,
novel (a real flaw the author did not intend). Drafts are saved as the form changes;
submit checks that every part is decided and stores it once.
"""

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict, NotFound
from app.core.locking import get_for_update
from app.corpus.repository import CorpusRepository
from app.models import (
    Answer,
    AnswerSource,
    ExposureReason,
    IntendedCritique,
    IntendedCritiqueReview,
    LabelerCritique,
    Question,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
    Task,
    TaskStatus,
)
from app.models.base import utcnow as now
from app.review import repository
from app.review.schemas import ReviewIn
from app.review.view import ReviewView
from app.review.view import view as reviewer_view
from app.users.repository import UserRepository


def open_if_done(session: Session, task: Task) -> IntendedCritiqueReview | None:
    """Called on each labeling submit: the last task on a misleading answer opens its review."""
    row = session.connection().execute(_AUTHOR, {"answer_id": task.answer_id}).first()
    if row is None or row.source != AnswerSource.human_misleading or row.author_id is None:
        return None
    # Locked before counting: of two last submits on this answer landing together, the
    # second sees the first and opens the review (each would otherwise miss the other).
    get_for_update(session, Answer, task.answer_id)
    left = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(
            Task.experiment_id == task.experiment_id,
            Task.answer_id == task.answer_id,
            Task.status != TaskStatus.submitted,
        )
    )
    if left:
        return None
    review = repository.find(session, task.answer_id, task.experiment_id)
    if review is None:
        review = IntendedCritiqueReview(
            answer_id=task.answer_id, experiment_id=task.experiment_id, reviewer_id=row.author_id
        )
        session.add(review)
        session.flush()
    return review


# Built once: every labeling submit runs it (a Core row, not the answer with its text).
_AUTHOR = select(Answer.source, Answer.author_id).where(Answer.id == bindparam("answer_id"))


def save_draft(session: Session, user_id: int, review_id: int, body: ReviewIn) -> None:
    review = repository.own(session, user_id, review_id)
    if review.status == ReviewStatus.submitted:
        raise Conflict(f"review {review_id} is already submitted")
    _check_ids(session, review, body)
    review.draft = body.model_dump(mode="json")
    session.flush()


def _check_ids(session: Session, review: IntendedCritiqueReview, body: ReviewIn) -> None:
    task_ids = {t.id for t in repository.tasks_of(session, review)}
    intended_ids = set(
        session.scalars(
            select(IntendedCritique.id).where(IntendedCritique.answer_id == review.answer_id)
        )
    )
    critique_ids = set(
        session.scalars(select(LabelerCritique.id).where(LabelerCritique.task_id.in_(task_ids)))
    )
    for i, v in enumerate(body.labelers):
        if v.task_id not in task_ids:
            raise AppError(
                f"labeler {v.task_id} is not part of this review", field=f"labelers.{i}.task_id"
            )
        if set(v.covers) - intended_ids:
            raise AppError(
                "that intended critique is not this answer's", field=f"labelers.{i}.covers"
            )
    for i, c in enumerate(body.critiques):
        if c.critique_id not in critique_ids:
            raise AppError(
                f"critique {c.critique_id} is not part of this review",
                field=f"critiques.{i}.critique_id",
            )


def _check_complete(view_: ReviewView, body: ReviewIn) -> None:
    """Every labeler and critique has a verdict. A field names where in the body to look, as
    a validation error does (`labelers.1.none`); a verdict that is missing names the list."""
    labelers = {v.task_id: (i, v) for i, v in enumerate(body.labelers)}
    critiques = {c.critique_id: (i, c) for i, c in enumerate(body.critiques)}
    for lab in view_.labelers:
        if lab.task_id not in labelers:
            raise AppError(
                f"{lab.label}: say which intended critiques they found, or none", field="labelers"
            )
        i, v = labelers[lab.task_id]
        if not v.covers and not v.none:
            raise AppError(
                f"{lab.label}: say which intended critiques they found, or none",
                field=f"labelers.{i}.covers",
            )
        if v.covers and v.none:
            raise AppError(
                f"{lab.label}: 'none' and an intended critique are both ticked",
                field=f"labelers.{i}.none",
            )
        for c in lab.critiques:
            if c.id not in critiques:
                raise AppError(
                    f"{lab.label}: say whether each critique is valid", field="critiques"
                )
            j, verdict = critiques[c.id]
            if verdict.valid is None:
                raise AppError(
                    f"{lab.label}: say whether each critique is valid",
                    field=f"critiques.{j}.valid",
                )
            if verdict.valid and verdict.novel is None:
                raise AppError(
                    f"{lab.label}: say whether each valid critique is novel",
                    field=f"critiques.{j}.novel",
                )


def submit(
    session: Session, user_id: int, review_id: int, body: ReviewIn | None = None
) -> IntendedCritiqueReview:
    """Store the review from the body (or the saved draft); a second submit changes nothing."""
    review = repository.own(session, user_id, review_id)
    if review.status == ReviewStatus.submitted:
        return review
    body = body if body is not None else ReviewIn.model_validate(review.draft or {})
    _check_ids(session, review, body)
    view_ = reviewer_view(session, user_id, review_id)
    _check_complete(view_, body)
    labelers = {v.task_id: v for v in body.labelers}
    critiques = {c.critique_id: c for c in body.critiques}
    session.execute(delete(ReviewCoverage).where(ReviewCoverage.review_id == review.id))
    session.execute(delete(ReviewJudgement).where(ReviewJudgement.review_id == review.id))
    for lab in view_.labelers:
        for ic in dict.fromkeys(labelers[lab.task_id].covers):
            session.add(
                ReviewCoverage(review_id=review.id, task_id=lab.task_id, intended_critique_id=ic)
            )
        for c in lab.critiques:
            verdict = critiques[c.id]
            session.add(
                ReviewJudgement(
                    review_id=review.id,
                    labeler_critique_id=c.id,
                    valid=verdict.valid,
                    novel=bool(verdict.valid and verdict.novel),
                )
            )
    review.draft = body.model_dump(mode="json")
    review.status = ReviewStatus.submitted
    review.submitted_at = now()
    session.flush()
    return review


def delegate(session: Session, review_id: int, reviewer: str, author_permission: str) -> None:
    """Hand a review to someone else, recording the author's permission in their words."""
    review = session.get(IntendedCritiqueReview, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}")
    if review.status == ReviewStatus.submitted:
        raise Conflict(f"review {review_id} is already submitted")
    if not author_permission.strip():
        raise AppError("record the author's permission", field="author_permission")
    user = UserRepository(session).get_by_username(reviewer)
    if user is None or not user.is_active:
        raise AppError(f"no active user named {reviewer!r}", field="reviewer")
    answer = session.get(Answer, review.answer_id)
    assert answer is not None
    labeled_it = session.scalar(
        select(Task.id).where(Task.answer_id == answer.id, Task.labeler_id == user.id).limit(1)
    )
    if labeled_it is not None:
        raise Conflict(f"{reviewer} labeled this answer and cannot review it", field="reviewer")
    question = session.get(Question, answer.question_id)
    assert question is not None
    holds_passage = session.scalar(
        select(Task.id)
        .where(
            Task.labeler_id == user.id,
            Task.passage_id == question.passage_id,
            Task.status == TaskStatus.assigned,
        )
        .limit(1)
    )
    if holds_passage is not None:
        raise Conflict(f"{reviewer} is labeling this passage right now", field="reviewer")
    review.reviewer_id = user.id
    review.author_permission = author_permission.strip()
    # Reading the passage to review it counts as seeing it.
    CorpusRepository(session).ensure_exposure(user.id, question.passage_id, ExposureReason.reviewed)
    session.flush()
