"""Corpus queries: get-or-create by content hash, so the same text is stored once."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.corpus.hashing import content_hash
from app.models import (
    Answer,
    HelpfulnessJudgement,
    Passage,
    PassageExposure,
    Question,
    QuestionFeedback,
)


class CorpusRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # Within one import the same passage/question/answer repeats across records.
        self._passages: dict[str, Passage] = {}
        self._questions: dict[tuple[int, str], Question] = {}
        self._answers: dict[tuple[int, str, str], tuple[Answer, bool]] = {}

    def get_or_create_passage(self, title: str | None, text: str) -> tuple[Passage, bool]:
        key = content_hash(title, text)
        if key in self._passages:
            return self._passages[key], False
        passage = self.session.scalar(select(Passage).where(Passage.content_hash == key))
        created = passage is None
        if passage is None:
            passage = Passage(title=title, text=text, content_hash=key)
            self.session.add(passage)
            self.session.flush()
        self._passages[key] = passage
        return passage, created

    def get_or_create_question(self, passage: Passage, text: str) -> tuple[Question, bool]:
        key = (passage.id, content_hash(text))
        if key in self._questions:
            return self._questions[key], False
        question = self.session.scalar(
            select(Question).where(
                Question.passage_id == passage.id, Question.content_hash == key[1]
            )
        )
        created = question is None
        if question is None:
            question = Question(passage_id=passage.id, text=text, content_hash=key[1])
            self.session.add(question)
            self.session.flush()
        self._questions[key] = question
        return question, created

    def get_or_create_answer(
        self, question: Question, source: str, text: str, **fields: object
    ) -> tuple[Answer, bool]:
        key = (question.id, source, content_hash(text))
        if key in self._answers:
            return self._answers[key][0], False
        answer = self.session.scalar(
            select(Answer).where(
                Answer.question_id == question.id,
                Answer.source == source,
                Answer.content_hash == key[2],
            )
        )
        created = answer is None
        if answer is None:
            answer = Answer(
                question_id=question.id, source=source, text=text, content_hash=key[2], **fields
            )
            self.session.add(answer)
            self.session.flush()
        self._answers[key] = (answer, created)
        return answer, created

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def judgement_keys(self, record_ids: Sequence[str]) -> set[tuple[str, int, int, int]]:
        rows = self.session.execute(
            select(
                HelpfulnessJudgement.source_record_id,
                HelpfulnessJudgement.question_index,
                HelpfulnessJudgement.answer_index,
                HelpfulnessJudgement.critique_index,
            ).where(HelpfulnessJudgement.source_record_id.in_(record_ids))
        )
        return {tuple(r) for r in rows}

    def feedback_keys(self, record_ids: Sequence[str]) -> set[tuple[str, int]]:
        rows = self.session.execute(
            select(QuestionFeedback.source_record_id, QuestionFeedback.question_index).where(
                QuestionFeedback.source_record_id.in_(record_ids)
            )
        )
        return {tuple(r) for r in rows}

    def has_exposure(self, user_id: int, passage_id: int) -> bool:
        return (
            self.session.scalar(
                select(PassageExposure.id).where(
                    PassageExposure.user_id == user_id, PassageExposure.passage_id == passage_id
                )
            )
            is not None
        )

    def ensure_exposure(self, user_id: int, passage_id: int, reason: str) -> None:
        """Record that a user has read a passage (the first reason stays)."""
        if not self.has_exposure(user_id, passage_id):
            self.session.add(PassageExposure(user_id=user_id, passage_id=passage_id, reason=reason))
            self.session.flush()

    def list_passages(self, limit: int = 200, offset: int = 0) -> Sequence[Passage]:
        return self.session.scalars(
            select(Passage)
            .options(selectinload(Passage.questions).selectinload(Question.answers))
            .order_by(Passage.id)
            .limit(limit)
            .offset(offset)
        ).all()

    def count_passages(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Passage)) or 0
