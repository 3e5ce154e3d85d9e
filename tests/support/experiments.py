"""Building corpora, pools and stored assistance for experiment tests, without a model."""

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.prompts import prompt_format
from app.assist.scoring import Score
from app.assist.service import store_assistance
from app.assist.sweep import Assistance, SweptCritique
from app.core.settings import get_settings
from app.corpus.repository import CorpusRepository
from app.experiments import design
from app.models import (
    Answer,
    AnswerSource,
    Condition,
    ExposureReason,
    PassageExposure,
    Task,
    TaskStatus,
    User,
)
from app.users.service import create_user


def corpus(db: Session, passages: int, questions_per_passage: int = 1) -> list[int]:
    """Passages with questions, each with a model, a human and a misleading answer."""
    repo = CorpusRepository(db)
    answer_ids = []
    for p in range(passages):
        passage, _ = repo.get_or_create_passage(f"P{p}", f"Passage number {p}.")
        for q in range(questions_per_passage):
            question, _ = repo.get_or_create_question(passage, f"Question {q} about passage {p}?")
            for source in AnswerSource:
                # The text must not name its source: pages are checked for leaks.
                text = f"Answer number {list(AnswerSource).index(source)} to {p}.{q}."
                answer, _ = repo.get_or_create_answer(question, source.value, text)
                answer_ids.append(answer.id)
    db.flush()
    return answer_ids


def labelers(db: Session, n: int, prefix: str = "lab") -> list[str]:
    names = [f"{prefix}{i}" for i in range(n)]
    for name in names:
        create_user(db, name, "password-123", "labeler")
    return names


def store_fake_assistance(db: Session, answer_ids: list[int]) -> None:
    s = get_settings()
    version = prompt_format(s.prompt_format).version
    for aid in answer_ids:
        critiques = [
            SweptCritique(f"Critique {k} of {aid}", t, Score(0.9 - k / 10), k + 1, 5.0)
            for k, t in enumerate((0.0, 0.5))
        ]
        store_assistance(db, aid, Assistance(critiques, Score(0.5), s.model_name, version))


def launched(
    db: Session, names: list[str], lpc: int = 1, sources: tuple[str, ...] = design.ALL_SOURCES
) -> int:
    exp = design.create(
        db,
        design.Design(
            name=f"exp-{len(names)}-{lpc}",
            sources=sources,
            labelers=names,
            labelers_per_condition=lpc,
        ),
    )
    design.launch(db, exp.id)
    db.flush()
    return exp.id


def user_id(db: Session, name: str) -> int:
    uid = db.scalar(select(User.id).where(User.username == name))
    assert uid is not None
    return uid


def check_invariants(db: Session) -> None:
    """What must hold in the database whatever sequence of requests happened."""
    tasks = db.scalars(select(Task)).all()
    conditions = {c.id: c for c in db.scalars(select(Condition))}
    exposures = {(e.user_id, e.passage_id) for e in db.scalars(select(PassageExposure))}
    held = [t for t in tasks if t.status in (TaskStatus.assigned, TaskStatus.submitted)]
    by_labeler_passage: dict[tuple[int, int], int] = defaultdict(int)
    by_question: dict[int, list[int]] = defaultdict(list)
    answers = {a.id: a for a in db.scalars(select(Answer))}
    for t in held:
        assert t.labeler_id is not None
        by_labeler_passage[(t.labeler_id, t.passage_id)] += 1
        by_question[t.question_id].append(t.labeler_id)
        assert (t.labeler_id, t.passage_id) in exposures
        cond = conditions[t.condition_id]
        assert cond.source == answers[t.answer_id].source
        assert (t.assistance_set_id is not None) == cond.assist, (
            "assist tasks carry their stored assistance"
        )
    assert all(n == 1 for n in by_labeler_passage.values()), "a labeler saw a passage twice"
    for labeler_ids in by_question.values():
        assert len(labeler_ids) == len(set(labeler_ids)), (
            "one question's conditions went to the same labeler"
        )
    authored = {
        (e.user_id, e.passage_id)
        for e in db.scalars(
            select(PassageExposure).where(PassageExposure.reason == ExposureReason.authored)
        )
    }
    assert not authored & {(t.labeler_id, t.passage_id) for t in held}
    keys = [(t.answer_id, t.condition_id, t.slot) for t in tasks]
    assert len(keys) == len(set(keys))
