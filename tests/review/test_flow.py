"""The whole human-answer flow: write answers -> experiment -> labeling -> the author's review."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict
from app.experiments import assignment, design
from app.labeling import service as labeling
from app.labeling.schemas import CritiqueIn, SubmitIn
from app.models import (
    Answer,
    AnswerSource,
    ExposureReason,
    IntendedCritique,
    IntendedCritiqueReview,
    PassageExposure,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
)
from app.review import service as reviews
from app.review import view as review_view
from app.review.schemas import CritiqueVerdict, LabelerVerdict, ReviewIn
from app.users.service import create_user
from app.writing import service as writing
from tests.support.experiments import check_invariants, labelers, store_fake_assistance, user_id
from tests.support.writing import (
    HONEST,
    INTENDED,
    MISLEADING,
    answers_ids,
    label_everything,
    question,
    written,
)


def test_written_answers_are_authored_and_the_writer_never_labels_them(db: Session) -> None:
    qid, _ = written(db)
    writer = user_id(db, "writer0")
    answers = {a.source: a for a in db.scalars(select(Answer).where(Answer.question_id == qid))}
    assert answers["human"].text == HONEST and answers["human"].author_id == writer
    assert answers["human_misleading"].author_id == writer
    (intended,) = db.scalars(
        select(IntendedCritique).where(IntendedCritique.answer_id == answers["human_misleading"].id)
    ).all()
    assert intended.text == INTENDED["text"] and intended.severity == 3
    assert (
        db.scalar(select(PassageExposure.reason).where(PassageExposure.user_id == writer))
        == ExposureReason.authored
    )

    names = labelers(db, 6)
    exp = design.create(
        db, design.Design(name="written", sources=design.ALL_SOURCES, labelers=[*names, "writer0"])
    )
    design.launch(db, exp.id)
    store_fake_assistance(db, list(answers_ids(db)))
    assert assignment.next_task(db, writer).task_id is None
    label_everything(db, names)
    check_invariants(db)
    assert assignment.next_task(db, writer).task_id is None


def test_the_author_reviews_once_all_labeling_of_the_misleading_answer_is_in(db: Session) -> None:
    qid, _ = written(db)
    writer = user_id(db, "writer0")
    names = labelers(db, 6)
    exp = design.create(
        db, design.Design(name="reviewed", sources=["human_misleading"], labelers=names)
    )
    design.launch(db, exp.id)
    store_fake_assistance(db, answers_ids(db))
    first, second = names[0], names[1]
    got = assignment.next_task(db, user_id(db, first))
    assert got.task_id is not None
    labeling.submit(
        db,
        user_id(db, first),
        got.task_id,
        SubmitIn(
            critiques=[CritiqueIn(text="Wrong season.", severity=3, category="accuracy")], rating=3
        ),
    )
    assert review_view.mine(db, writer) == []  # one of two tasks still open
    label_everything(db, [second])

    (review,) = review_view.mine(db, writer)
    assert review.status == ReviewStatus.open
    view = review_view.view(db, writer, review.id)
    assert [lab.label for lab in view.labelers] == ["Labeler A", "Labeler B"]
    assert view.answer == MISLEADING and view.intended[0]["text"] == INTENDED["text"]
    shown = repr(view)
    assert first not in shown and "assist" not in shown  # anonymous, condition hidden

    found = next(lab for lab in view.labelers if lab.critiques[0].text == "Wrong season.")
    missed = next(lab for lab in view.labelers if lab is not found)
    intended_id = int(view.intended[0]["id"])  # type: ignore[call-overload]
    partial = ReviewIn(labelers=[LabelerVerdict(task_id=found.task_id, covers=[intended_id])])
    reviews.save_draft(db, writer, review.id, partial)
    assert review_view.view(db, writer, review.id).labelers[
        [lab.task_id for lab in view.labelers].index(found.task_id)
    ].covers == [intended_id]
    with pytest.raises(AppError, match="Labeler [AB]: say") as missing:
        reviews.submit(db, writer, review.id)
    # Labeler A is checked first: `found` has a verdict but its critique none, `missed` has
    # no verdict at all; a missing verdict names the list it is missing from.
    assert missing.value.field == ("critiques" if view.labelers[0] is found else "labelers")
    # A field is a path into the body, as a validation error's is.
    for wrong, problem, field in [
        (
            ReviewIn(
                labelers=[
                    LabelerVerdict(task_id=found.task_id, covers=[intended_id]),
                    LabelerVerdict(task_id=missed.task_id, covers=[intended_id], none=True),
                ],
                # Every critique judged, so "both ticked" is the only problem whichever
                # labeler the blinded order shows first.
                critiques=[
                    CritiqueVerdict(critique_id=c.id, valid=False)
                    for lab in (found, missed)
                    for c in lab.critiques
                ],
            ),
            "both ticked",
            "labelers.1.none",
        ),
        (
            ReviewIn(
                labelers=[
                    LabelerVerdict(task_id=found.task_id, covers=[intended_id]),
                    LabelerVerdict(task_id=missed.task_id, none=True),
                ],
                critiques=[
                    CritiqueVerdict(critique_id=missed.critiques[0].id, valid=False),
                    CritiqueVerdict(critique_id=found.critiques[0].id, valid=True),
                ],
            ),
            "novel",
            "critiques.1.novel",
        ),
        (
            ReviewIn(labelers=[LabelerVerdict(task_id=-1, none=True)]),
            "not part of this review",
            "labelers.0.task_id",
        ),
    ]:
        with pytest.raises(AppError, match=problem) as info:
            reviews.submit(db, writer, review.id, wrong)
        assert info.value.field == field

    body = ReviewIn(
        labelers=[
            LabelerVerdict(task_id=found.task_id, covers=[intended_id]),
            LabelerVerdict(task_id=missed.task_id, none=True),
        ],
        critiques=[
            CritiqueVerdict(critique_id=found.critiques[0].id, valid=True, novel=False),
            CritiqueVerdict(critique_id=missed.critiques[0].id, valid=True, novel=True),
        ],
    )
    reviews.submit(db, writer, review.id, body)
    reviews.submit(db, writer, review.id, body)
    assert [(c.task_id, c.intended_critique_id) for c in db.scalars(select(ReviewCoverage))] == [
        (found.task_id, intended_id)
    ]
    judged = {
        j.labeler_critique_id: (j.valid, j.novel) for j in db.scalars(select(ReviewJudgement))
    }
    assert judged == {found.critiques[0].id: (True, False), missed.critiques[0].id: (True, True)}
    with pytest.raises(Conflict):
        reviews.save_draft(db, writer, review.id, body)
    assert review_view.counts(db, exp.id) == {"open": 0, "submitted": 1, "waiting_for_labels": 0}


def test_an_admin_hands_a_review_on_with_the_authors_permission(db: Session) -> None:
    written(db)
    names = labelers(db, 2)
    exp = design.create(
        db, design.Design(name="handed", sources=["human_misleading"], labelers=names)
    )
    design.launch(db, exp.id)
    assert review_view.counts(db, exp.id)["waiting_for_labels"] == 1
    store_fake_assistance(db, answers_ids(db))
    label_everything(db, names)
    (review,) = db.scalars(select(IntendedCritiqueReview)).all()
    with pytest.raises(Conflict, match="labeled this answer"):
        reviews.delegate(db, review.id, names[0], "writer0 agreed by email")
    create_user(db, "stand_in", "password-123", "labeler")
    with pytest.raises(AppError, match="permission"):
        reviews.delegate(db, review.id, "stand_in", "   ")
    reviews.delegate(db, review.id, "stand_in", "writer0 agreed by email on 2026-11-20")
    stand_in = user_id(db, "stand_in")
    assert review_view.view(db, stand_in, review.id).delegated
    assert review.author_permission == "writer0 agreed by email on 2026-11-20"
    assert review_view.listing(db, exp.id)[0].reviewer == "stand_in"
    assert (
        db.scalar(select(PassageExposure.reason).where(PassageExposure.user_id == stand_in))
        == ExposureReason.reviewed
    )


def test_a_writer_who_labeled_the_passage_cannot_write_for_it(db: Session) -> None:
    qid = question(db)
    (name,) = labelers(db, 1)
    exp = design.create(db, design.Design(name="first", sources=["model"], labelers=[name]))
    design.launch(db, exp.id)
    assert assignment.next_task(db, user_id(db, name)).task_id is not None
    with pytest.raises(Conflict, match="already labeled"):
        writing.assign(db, name, [qid])
    assert AnswerSource.human not in set(db.scalars(select(Answer.source)))
