"""Storing what the model wrote, and asking for it to be written (as jobs)."""

from sqlalchemy.orm import Session

from app.assist.prompts import Context
from app.assist.repository import AssistRepository
from app.assist.sweep import Assistance
from app.core.errors import NotFound
from app.jobs import queue
from app.models import Answer, AnswerSource, AssistanceCritique, AssistanceSet, Question

ASSISTANCE = "assistance"
MODEL_ANSWER = "model_answer"


def context_of_answer(answer: Answer) -> Context:
    q = answer.question
    return Context(
        passage=q.passage.text, question=q.text, answer=answer.text, title=q.passage.title
    )


def context_of_question(question: Question) -> Context:
    return Context(
        passage=question.passage.text, question=question.text, title=question.passage.title
    )


def store_assistance(session: Session, answer_id: int, assistance: Assistance) -> AssistanceSet:
    """Store the critiques exactly as they will be shown; a second run for the same answer,
    model and prompt version keeps the first set (labelers may already have seen it)."""
    repo = AssistRepository(session)
    existing = repo.assistance_set(answer_id, assistance.model_name, assistance.prompt_version)
    if existing is not None:
        return existing
    aset = AssistanceSet(
        answer_id=answer_id,
        model_name=assistance.model_name,
        prompt_format=assistance.prompt_version,
        critiqueability_score=assistance.critiqueability.value,
        critiqueability_missing_reason=assistance.critiqueability.missing_reason,
    )
    session.add(aset)
    session.flush()
    for c in assistance.critiques:
        session.add(
            AssistanceCritique(
                assistance_set_id=aset.id,
                text=c.text,
                temperature=c.temperature,
                helpfulness_score=c.score.value,
                score_missing_reason=c.score.missing_reason,
                rank=c.rank,
                model_name=assistance.model_name,
                prompt_format=assistance.prompt_version,
                latency_ms=c.latency_ms,
            )
        )
    session.flush()
    return aset


def store_model_answer(
    session: Session,
    question_id: int,
    text: str,
    temperature: float,
    model_name: str,
    prompt_version: str,
) -> Answer:
    from app.corpus.repository import CorpusRepository

    question = session.get(Question, question_id)
    if question is None:
        raise NotFound(f"no question {question_id}")
    answer, _ = CorpusRepository(session).get_or_create_answer(
        question,
        AnswerSource.model.value,
        text,
        temperature=temperature,
        model_name=model_name,
        prompt_format=prompt_version,
    )
    return answer


def request_assistance(
    session: Session, answer_ids: list[int], model_name: str, prompt_version: str
) -> int:
    """Enqueue one assistance job per answer (idempotent: one job per answer and model)."""
    for answer_id in answer_ids:
        queue.enqueue(
            session,
            ASSISTANCE,
            f"{answer_id}:{model_name}:{prompt_version}",
            {"answer_id": answer_id},
        )
    return len(answer_ids)


def request_missing_assistance(session: Session, model_name: str, prompt_version: str) -> int:
    ids = list(AssistRepository(session).answers_without_assistance(model_name, prompt_version))
    return request_assistance(session, ids, model_name, prompt_version)


def request_missing_model_answers(session: Session) -> int:
    ids = AssistRepository(session).questions_without_model_answer()
    for qid in ids:
        queue.enqueue(session, MODEL_ANSWER, str(qid), {"question_id": qid})
    return len(ids)
