"""Storing validated import records: all-or-nothing inside the caller's transaction."""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.corpus.parsing import ImportFileError, ImportFormat, Progress, parse_records
from app.corpus.records import NativeRecord, PaperRecord
from app.corpus.repository import CorpusRepository
from app.models import (
    AnswerSource,
    ExposureReason,
    HelpfulnessJudgement,
    IntendedCritique,
    QuestionFeedback,
)
from app.users.repository import UserRepository


def import_file(
    session: Session,
    path: Path,
    fmt: ImportFormat,
    progress: Progress | None = None,
    display_name: str | None = None,
) -> dict[str, int]:
    """Validate the whole file, then store it; returns what was added, by entity."""
    records = parse_records(path, fmt, get_settings().max_text_chars, progress, display_name)
    return store_records(session, fmt, records, display_name or path.name)


def store_records(
    session: Session, fmt: ImportFormat, records: Sequence[tuple[int, BaseModel]], name: str
) -> dict[str, int]:
    """Store records that parse_records validated; the caller's transaction makes it atomic."""
    if fmt == ImportFormat.native:
        return _store_native(session, name, records)
    return _store_paper(session, records)


def _store_native(
    session: Session, name: str, records: Sequence[tuple[int, BaseModel]]
) -> dict[str, int]:
    repo = CorpusRepository(session)
    users = UserRepository(session)
    added: Counter[str] = Counter()
    for lineno, rec in records:
        assert isinstance(rec, NativeRecord)
        passage, created = repo.get_or_create_passage(rec.passage.title, rec.passage.text)
        added["passages"] += created
        for qi, q in enumerate(rec.questions):
            question, created = repo.get_or_create_question(passage, q.question)
            added["questions"] += created
            for ai, a in enumerate(q.answers):
                author_id = None
                if a.author is not None:
                    author = users.get_by_username(a.author)
                    if author is None:
                        raise ImportFileError(
                            name,
                            lineno,
                            f"questions[{qi}].answers[{ai}].author",
                            f"no user named {a.author!r}",
                        )
                    author_id = author.id
                answer, created = repo.get_or_create_answer(
                    question,
                    a.source.value,
                    a.text,
                    author_id=author_id,
                    temperature=a.temperature,
                    model_name=a.model_name,
                )
                added["answers"] += created
                if created:
                    for pos, c in enumerate(a.intended_critiques):
                        repo.add(
                            IntendedCritique(
                                answer_id=answer.id,
                                position=pos,
                                text=c.text,
                                severity=c.severity,
                                category=c.category.value,
                                category_text=c.category_text,
                            )
                        )
                        added["intended_critiques"] += 1
                # An author has read the passage: they must never label it.
                if author_id is not None:
                    repo.ensure_exposure(author_id, passage.id, ExposureReason.authored)
    session.flush()
    return dict(added)


def _store_paper(session: Session, records: Sequence[tuple[int, BaseModel]]) -> dict[str, int]:
    repo = CorpusRepository(session)
    added: Counter[str] = Counter()
    ids = [rec.id for _, rec in records]  # type: ignore[attr-defined]
    seen_judgements = repo.judgement_keys(ids)
    seen_feedback = repo.feedback_keys(ids)
    for _, rec in records:
        assert isinstance(rec, PaperRecord)
        judged_at = datetime.fromtimestamp(rec.time, UTC) if rec.time is not None else None
        passage, created = repo.get_or_create_passage(rec.data.passage.title, rec.data.passage.text)
        added["passages"] += created
        for qi, q in enumerate(rec.data.questions):
            question, created = repo.get_or_create_question(passage, q.question)
            added["questions"] += created
            if (rec.id, qi) not in seen_feedback:
                seen_feedback.add((rec.id, qi))
                nc = q.new_critique
                repo.add(
                    QuestionFeedback(
                        question_id=question.id,
                        source_record_id=rec.id,
                        question_index=qi,
                        labeler_hash=rec.labeler,
                        judged_at=judged_at,
                        split=rec.split,
                        is_critiqueable=q.is_critiqueable,
                        has_better_critique=q.has_better_critique,
                        new_critique_text=nc.text if nc else None,
                        new_critique_category=nc.category.value if nc else None,
                        new_critique_severity=nc.severity if nc else None,
                        new_critique_category_text=nc.category_text if nc else None,
                        new_critique_refinement=nc.refinement if nc else None,
                    )
                )
                added["question_feedback"] += 1
            flat = 0  # rankings run over the critiques of all answers, in order
            for ai, a in enumerate(q.answers):
                answer, created = repo.get_or_create_answer(
                    question, AnswerSource.model.value, a.answer
                )
                added["answers"] += created
                for ci, c in enumerate(a.critiques):
                    rank = q.rankings[flat] if q.rankings else None
                    flat += 1
                    if (rec.id, qi, ai, ci) in seen_judgements:
                        continue
                    seen_judgements.add((rec.id, qi, ai, ci))
                    repo.add(
                        HelpfulnessJudgement(
                            answer_id=answer.id,
                            critique_text=c.critique,
                            helpful=c.feedback.helpful,
                            rank=rank,
                            labeler_hash=rec.labeler,
                            judged_at=judged_at,
                            source_record_id=rec.id,
                            question_index=qi,
                            answer_index=ai,
                            critique_index=ci,
                        )
                    )
                    added["helpfulness_judgements"] += 1
    session.flush()
    return dict(added)
