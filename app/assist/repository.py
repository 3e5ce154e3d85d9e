from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import Answer, AnswerSource, AssistanceSet, HelpfulnessJudgement, Question


class AssistRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def answer_with_context(self, answer_id: int) -> Answer | None:
        return self.session.scalar(
            select(Answer)
            .where(Answer.id == answer_id)
            .options(joinedload(Answer.question).joinedload(Question.passage))
        )

    def question_with_passage(self, question_id: int) -> Question | None:
        return self.session.scalar(
            select(Question).where(Question.id == question_id).options(joinedload(Question.passage))
        )

    def assistance_set(
        self, answer_id: int, model_name: str, prompt_format: str
    ) -> AssistanceSet | None:
        return self.session.scalar(
            select(AssistanceSet)
            .where(
                AssistanceSet.answer_id == answer_id,
                AssistanceSet.model_name == model_name,
                AssistanceSet.prompt_format == prompt_format,
            )
            .options(selectinload(AssistanceSet.critiques))
        )

    def answers_without_assistance(self, model_name: str, prompt_format: str) -> Sequence[int]:
        has = exists().where(
            AssistanceSet.answer_id == Answer.id,
            AssistanceSet.model_name == model_name,
            AssistanceSet.prompt_format == prompt_format,
        )
        return self.session.scalars(select(Answer.id).where(~has).order_by(Answer.id)).all()

    def questions_without_model_answer(self) -> Sequence[int]:
        has = exists().where(Answer.question_id == Question.id, Answer.source == AnswerSource.model)
        return self.session.scalars(select(Question.id).where(~has).order_by(Question.id)).all()

    def judgements_with_context(
        self, limit: int | None = None
    ) -> Sequence[tuple[HelpfulnessJudgement, Answer]]:
        query = (
            select(HelpfulnessJudgement, Answer)
            .join(Answer, Answer.id == HelpfulnessJudgement.answer_id)
            .options(joinedload(Answer.question).joinedload(Question.passage))
            .order_by(HelpfulnessJudgement.id)
        )
        if limit:
            query = query.limit(limit)
        return [(j, a) for j, a in self.session.execute(query).unique()]
