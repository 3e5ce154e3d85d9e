"""Where the reviews' queries live: finding a review, its labelers' tasks in their blinded
order, and its verdicts (the draft, or what was stored at submit)."""

import hashlib
import hmac
import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ownership import get_owned
from app.core.settings import get_settings
from app.models import (
    IntendedCritiqueReview,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
    Task,
    TaskStatus,
)
from app.review.schemas import CritiqueVerdict, LabelerVerdict, ReviewIn


def find(session: Session, answer_id: int, experiment_id: int) -> IntendedCritiqueReview | None:
    return session.scalar(
        select(IntendedCritiqueReview).where(
            IntendedCritiqueReview.answer_id == answer_id,
            IntendedCritiqueReview.experiment_id == experiment_id,
        )
    )


def tasks_of(session: Session, review: IntendedCritiqueReview) -> list[Task]:
    """The reviewed labelers' tasks in an order that hides their conditions.

    Within an answer the assist tasks were created first, so any order derived from task
    ids (or from anything the reviewer can see) would tell the author who had model help.
    The order is a shuffle seeded by a keyed hash of the review id: random per review,
    fixed across page loads, and not computable without the server's secret.
    """
    tasks = sorted(
        session.scalars(
            select(Task).where(
                Task.experiment_id == review.experiment_id,
                Task.answer_id == review.answer_id,
                Task.status == TaskStatus.submitted,
            )
        ).all(),
        key=lambda t: t.id,
    )
    seed = hmac.new(
        get_settings().secret_key.encode(), f"review-order:{review.id}".encode(), hashlib.sha256
    ).digest()
    random.Random(seed).shuffle(tasks)
    return tasks


def own(session: Session, user_id: int, review_id: int) -> IntendedCritiqueReview:
    return get_owned(session, IntendedCritiqueReview, review_id, "reviewer_id", user_id, "review")


@dataclass
class Verdicts:
    labelers: dict[int, LabelerVerdict]
    critiques: dict[int, CritiqueVerdict]


def verdicts(session: Session, review: IntendedCritiqueReview) -> Verdicts:
    """The draft, or once submitted what was stored."""
    if review.status == ReviewStatus.submitted:
        covers: dict[int, list[int]] = defaultdict(list)
        for cov in session.scalars(
            select(ReviewCoverage).where(ReviewCoverage.review_id == review.id)
        ):
            covers[cov.task_id].append(cov.intended_critique_id)
        judged = session.scalars(
            select(ReviewJudgement).where(ReviewJudgement.review_id == review.id)
        ).all()
        return Verdicts(
            {
                t.id: LabelerVerdict(task_id=t.id, covers=covers[t.id], none=not covers[t.id])
                for t in tasks_of(session, review)
            },
            {
                j.labeler_critique_id: CritiqueVerdict(
                    critique_id=j.labeler_critique_id, valid=j.valid, novel=j.novel
                )
                for j in judged
            },
        )
    draft = ReviewIn.model_validate(review.draft or {})
    return Verdicts(
        {v.task_id: v for v in draft.labelers}, {v.critique_id: v for v in draft.critiques}
    )
