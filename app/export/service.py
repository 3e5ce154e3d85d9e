"""Streaming export: submitted tasks read in batches, written one JSON line at a time."""

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.export.records import AssistanceShown, ExportRecord, LabelerCritiqueOut, Timing
from app.models import (
    Answer,
    AssistanceCritique,
    AssistanceSet,
    Condition,
    LabelerCritique,
    Passage,
    Question,
    Rating,
    Task,
    TaskStatus,
)

BATCH = 500


def pseudonym(labeler_id: int) -> str:
    key = get_settings().export_salt.encode()
    return hmac.new(key, f"labeler:{labeler_id}".encode(), hashlib.sha256).hexdigest()[:32]


def export_lines(session: Session, experiment_id: int | None = None) -> Iterator[str]:
    """JSON lines, in task order, holding one batch of tasks in memory at a time."""
    last_id = 0
    while True:
        query = (
            select(Task, Condition, Answer, Question, Passage, Rating)
            .join(Condition, Condition.id == Task.condition_id)
            .join(Answer, Answer.id == Task.answer_id)
            .join(Question, Question.id == Task.question_id)
            .join(Passage, Passage.id == Task.passage_id)
            .join(Rating, Rating.task_id == Task.id)
            .where(Task.status == TaskStatus.submitted, Task.id > last_id)
            .order_by(Task.id)
            .limit(BATCH)
        )
        if experiment_id is not None:
            query = query.where(Task.experiment_id == experiment_id)
        rows = session.execute(query).all()
        if not rows:
            return
        task_ids = [r[0].id for r in rows]
        critiques: dict[int, list[LabelerCritique]] = defaultdict(list)
        for c in session.scalars(
            select(LabelerCritique)
            .where(LabelerCritique.task_id.in_(task_ids))
            .order_by(LabelerCritique.position)
        ):
            critiques[c.task_id].append(c)
        set_ids = {r[0].assistance_set_id for r in rows if r[0].assistance_set_id is not None}
        shown: dict[int, list[AssistanceCritique]] = defaultdict(list)
        sets: dict[int, AssistanceSet] = {}
        if set_ids:
            sets = {
                s.id: s
                for s in session.scalars(select(AssistanceSet).where(AssistanceSet.id.in_(set_ids)))
            }
            for a in session.scalars(
                select(AssistanceCritique)
                .where(AssistanceCritique.assistance_set_id.in_(set_ids))
                .order_by(AssistanceCritique.rank)
            ):
                shown[a.assistance_set_id].append(a)
        for task, cond, answer, question, passage, rating in rows:
            yield (
                _record(
                    task, cond, answer, question, passage, rating, critiques[task.id], shown, sets
                ).model_dump_json()
                + "\n"
            )
        session.expunge_all()  # constant memory: forget the batch
        last_id = task_ids[-1]


def _record(task, cond, answer, question, passage, rating, critiques, shown, sets) -> ExportRecord:  # type: ignore[no-untyped-def]
    assert task.submitted_at is not None and task.labeler_id is not None
    start = task.opened_at or task.assigned_at
    aset = sets.get(task.assistance_set_id) if task.assistance_set_id else None
    return ExportRecord(
        task_id=task.id,
        experiment_id=task.experiment_id,
        labeler=pseudonym(task.labeler_id),
        passage_id=passage.id,
        passage_title=passage.title,
        passage_text=passage.text,
        question_id=question.id,
        question_text=question.text,
        answer_id=answer.id,
        answer_text=answer.text,
        answer_source=answer.source,
        answer_temperature=answer.temperature,
        answer_model_name=answer.model_name,
        condition=cond.name,
        assist=cond.assist,
        assistance=[
            AssistanceShown(
                id=a.id,
                text=a.text,
                temperature=a.temperature,
                helpfulness_score=a.helpfulness_score,
                score_missing_reason=a.score_missing_reason,
                rank=a.rank,
                model_name=a.model_name,
                prompt_format=a.prompt_format,
            )
            for a in shown.get(task.assistance_set_id, [])
        ],
        critiqueability_score=aset.critiqueability_score if aset else None,
        critiques=[
            LabelerCritiqueOut(
                id=c.id,
                text=c.text,
                severity=c.severity,
                category=c.category,
                category_text=c.category_text,
                used_assistance_id=c.assistance_critique_id,
                edited=c.edited,
                edit_distance=c.edit_distance,
            )
            for c in critiques
        ],
        rating=rating.value,
        timing=Timing(
            assigned_at=task.assigned_at,
            opened_at=task.opened_at,
            first_edit_at=task.first_edit_at,
            passage_revealed_at=task.passage_revealed_at,
            submitted_at=task.submitted_at,
            duration_s=(task.submitted_at - start).total_seconds() if start else None,
            active_time_s=task.active_time_s,
        ),
    )
