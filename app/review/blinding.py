"""The review as its reviewer sees it: labelers and critiques under per-review pseudonyms.

The author must not learn who had model help. Task ids (created in condition order) and
labeler critique ids never leave the server; the reviewer reads and writes "Labeler A" and
"A1", and this module translates them to the internal ids at the edge.
"""

from sqlalchemy.orm import Session

from app.core.errors import AppError
from app.review.schemas import (
    BlindCritiqueOut,
    BlindLabelerOut,
    BlindReviewIn,
    BlindReviewOut,
    CritiqueVerdict,
    IntendedOut,
    LabelerVerdict,
    ReviewIn,
)
from app.review.view import ReviewView
from app.review.view import view as internal_view


def public_view(view: ReviewView) -> BlindReviewOut:
    """The view without internal ids: what the review page and its API show."""
    return BlindReviewOut(
        id=view.id,
        status=view.status,
        passage_title=view.passage_title,
        passage_text=view.passage_text,
        question=view.question,
        answer=view.answer,
        intended=[IntendedOut.model_validate(ic) for ic in view.intended],
        delegated=view.delegated,
        labelers=[
            BlindLabelerOut(
                key=lab.key,
                label=lab.label,
                covers=lab.covers,
                none=lab.none,
                critiques=[
                    BlindCritiqueOut.model_validate(c, from_attributes=True) for c in lab.critiques
                ],
            )
            for lab in view.labelers
        ],
    )


def reviewer_view(session: Session, user_id: int, review_id: int) -> BlindReviewOut:
    return public_view(internal_view(session, user_id, review_id))


def unblind(session: Session, user_id: int, review_id: int, body: BlindReviewIn) -> ReviewIn:
    """The reviewer's verdicts keyed by internal ids; an unknown pseudonym is a 400."""
    view = internal_view(session, user_id, review_id)
    labelers = {lab.key: lab.task_id for lab in view.labelers}
    critiques = {c.key: c.id for lab in view.labelers for c in lab.critiques}
    out = ReviewIn()
    for i, v in enumerate(body.labelers):
        if v.labeler not in labelers:
            raise AppError(
                f"no labeler {v.labeler!r} in this review", field=f"labelers.{i}.labeler"
            )
        out.labelers.append(
            LabelerVerdict(task_id=labelers[v.labeler], covers=v.covers, none=v.none)
        )
    for i, c in enumerate(body.critiques):
        if c.critique not in critiques:
            raise AppError(
                f"no critique {c.critique!r} in this review", field=f"critiques.{i}.critique"
            )
        out.critiques.append(
            CritiqueVerdict(critique_id=critiques[c.critique], valid=c.valid, novel=c.novel)
        )
    return out
