"""What the admin's study setup page shows for one experiment."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.models import Answer, AnswerSource, Experiment, IntendedCritique, Question
from app.studies import checks, links
from app.studies.markdown import render
from app.studies.repository import StudyRepository

CANDIDATES_SHOWN = 20


def experiment(session: Session, experiment_id: int) -> Experiment:
    exp = session.get(Experiment, experiment_id)
    if exp is None:
        raise NotFound(f"no experiment {experiment_id}")
    return exp


def check_candidates(session: Session, experiment_id: int) -> list[tuple[int, str, int]]:
    """Misleading answers with intended critiques not yet marked: (answer, question, flaws)."""
    marked = {a for a, _, _ in checks.marked(session, experiment_id)}
    rows = session.execute(
        select(Answer.id, Question.text, func.count(IntendedCritique.id))
        .join(Question, Question.id == Answer.question_id)
        .join(IntendedCritique, IntendedCritique.answer_id == Answer.id)
        .where(Answer.source == AnswerSource.human_misleading)
        .group_by(Answer.id, Question.text)
        .order_by(Answer.id)
        .limit(CANDIDATES_SHOWN + len(marked))
    ).all()
    return [(a, q, n) for a, q, n in rows if a not in marked][:CANDIDATES_SHOWN]


def page_context(session: Session, experiment_id: int, base_url: str) -> dict[str, Any]:
    repo = StudyRepository(session)
    briefing = repo.briefing(experiment_id)
    instructions = briefing.instructions if briefing else ""
    base = base_url.rstrip("/")
    return {
        "exp": experiment(session, experiment_id),
        "instructions": instructions,
        "preview": render(instructions),
        "check_rate": briefing.check_rate_percent if briefing else 0,
        "questions": repo.questions(experiment_id),
        "checks": checks.marked(session, experiment_id),
        "candidates": check_candidates(session, experiment_id),
        "studies": [
            (study, count, base + links.link_path(study.id, study.expires_at))
            for study, count in repo.studies(experiment_id)
        ],
        "platforms": links.PLATFORMS,
    }
