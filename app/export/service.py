"""Streaming export: one JSON line per submitted task, in task order, in flat memory.

On PostgreSQL the database writes the lines (app/export/postgres.py). Elsewhere (SQLite)
tasks are read in batches of plain rows (column selects, no ORM objects) and become dicts
serialised by orjson. Both give ExportRecord's shape, which the tests check against
export_schema.json, and the tests check that the two give the same records.
"""

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.export.postgres import record_chunks
from app.export.records import SCHEMA_VERSION
from app.models import (
    Answer,
    AssistanceCritique,
    AssistanceSet,
    Condition,
    IntendedCritique,
    IntendedCritiqueReview,
    LabelerCritique,
    Passage,
    Question,
    Rating,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
    Task,
    TaskStatus,
    User,
)
from app.studies import export as studies

BATCH = 2000


def pseudonym(labeler_id: int, key: bytes | None = None) -> str:
    key = key if key is not None else get_settings().export_salt.encode()
    return hmac.new(key, f"labeler:{labeler_id}".encode(), hashlib.sha256).hexdigest()[:32]


_TASK_COLUMNS = (
    Task.id,
    Task.experiment_id,
    Task.labeler_id,
    Task.assistance_set_id,
    Task.assigned_at,
    Task.opened_at,
    Task.first_edit_at,
    Task.passage_revealed_at,
    Task.submitted_at,
    Task.active_time_s,
    Condition.source,
    Condition.assist,
    Answer.id,
    Answer.text,
    Answer.source,
    Answer.temperature,
    Answer.model_name,
    Answer.author_id,
    Question.id,
    Question.text,
    Passage.id,
    Passage.title,
    Passage.text,
    Rating.value,
)


def export_chunks(session: Session, experiment_id: int | None = None) -> Iterator[bytes]:
    """The export as chunks of whole JSON lines (each ends with a newline), in task order."""
    if session.get_bind().dialect.name == "postgresql":
        names = _Pseudonyms(get_settings().export_salt.encode())
        for user_id in session.scalars(select(User.id)):
            names[user_id]  # noqa: B018 - computes the pseudonym
        yield from record_chunks(session, names, experiment_id)
        return
    batch: list[bytes] = []
    for line in python_lines(session, experiment_id):
        batch.append(line)
        if len(batch) == BATCH:
            yield b"".join(batch)
            batch.clear()
    if batch:
        yield b"".join(batch)


def export_lines(session: Session, experiment_id: int | None = None) -> Iterator[bytes]:
    """The export, one JSON line (bytes, newline-terminated) at a time."""
    for chunk in export_chunks(session, experiment_id):
        yield from chunk.splitlines(keepends=True)


def python_lines(session: Session, experiment_id: int | None = None) -> Iterator[bytes]:
    """JSON lines built in Python from batches of rows: any database (the SQLite path)."""
    key = get_settings().export_salt.encode()
    names: dict[int, str] = _Pseudonyms(key)
    # Core rows, not the ORM's: plain tuples cost a fraction of ORM result loading.
    conn = session.connection()
    last_id = 0
    while True:
        query = (
            select(*_TASK_COLUMNS)
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
        rows = conn.execute(query).all()
        if not rows:
            return
        batch = _Batch(conn, rows)
        for row in rows:
            yield orjson.dumps(batch.record(row, names), option=orjson.OPT_APPEND_NEWLINE)
        last_id = rows[-1][0]


def count_tasks(session: Session, experiment_id: int | None = None) -> int:
    query = select(func.count()).select_from(Task).where(Task.status == TaskStatus.submitted)
    if experiment_id is not None:
        query = query.where(Task.experiment_id == experiment_id)
    return session.scalar(query) or 0


class _Pseudonyms(dict[int, str]):
    """Each labeler's keyed hash, computed once per export."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self.key = key

    def __missing__(self, labeler_id: int) -> str:
        self[labeler_id] = value = pseudonym(labeler_id, self.key)
        return value


class _Batch:
    """Everything one batch of tasks refers to, fetched in a handful of queries."""

    def __init__(self, conn: Connection, rows: Sequence[Any]) -> None:
        task_ids = [r[0] for r in rows]
        self.study = studies.by_task(conn, rows)  # gold checks, participants (app/studies)
        self.critiques: dict[int, list[dict[str, Any]]] = defaultdict(list)
        judged = dict(
            (cid, (valid, novel))
            for cid, valid, novel in conn.execute(
                select(
                    ReviewJudgement.labeler_critique_id,
                    ReviewJudgement.valid,
                    ReviewJudgement.novel,
                )
                .join(LabelerCritique, LabelerCritique.id == ReviewJudgement.labeler_critique_id)
                .join(
                    IntendedCritiqueReview, IntendedCritiqueReview.id == ReviewJudgement.review_id
                )
                .where(
                    LabelerCritique.task_id.between(task_ids[0], task_ids[-1]),
                    IntendedCritiqueReview.status == ReviewStatus.submitted,
                )
            )
        )
        for (
            cid,
            task_id,
            text,
            severity,
            category,
            category_text,
            used,
            edited,
            dist,
        ) in conn.execute(
            select(
                LabelerCritique.id,
                LabelerCritique.task_id,
                LabelerCritique.text,
                LabelerCritique.severity,
                LabelerCritique.category,
                LabelerCritique.category_text,
                LabelerCritique.assistance_critique_id,
                LabelerCritique.edited,
                LabelerCritique.edit_distance,
            )
            .where(LabelerCritique.task_id.in_(task_ids))
            .order_by(LabelerCritique.task_id, LabelerCritique.position)
        ):
            valid, novel = judged.get(cid, (None, None))
            self.critiques[task_id].append(
                {
                    "id": cid,
                    "text": text,
                    "severity": severity,
                    "category": category,
                    "category_text": category_text,
                    "used_assistance_id": used,
                    "edited": edited,
                    "edit_distance": dist,
                    "review_valid": valid,
                    "review_novel": novel,
                }
            )
        set_ids = {r[3] for r in rows if r[3] is not None}
        self.shown: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.critiqueability: dict[int, float | None] = {}
        if set_ids:
            self.critiqueability = dict(
                conn.execute(
                    select(AssistanceSet.id, AssistanceSet.critiqueability_score).where(
                        AssistanceSet.id.in_(set_ids)
                    )
                )
                .tuples()
                .all()
            )
            for row in conn.execute(
                select(
                    AssistanceCritique.assistance_set_id,
                    AssistanceCritique.id,
                    AssistanceCritique.text,
                    AssistanceCritique.temperature,
                    AssistanceCritique.helpfulness_score,
                    AssistanceCritique.score_missing_reason,
                    AssistanceCritique.rank,
                    AssistanceCritique.model_name,
                    AssistanceCritique.prompt_format,
                )
                .where(AssistanceCritique.assistance_set_id.in_(set_ids))
                .order_by(AssistanceCritique.rank)
            ):
                self.shown[row[0]].append(
                    {
                        "id": row[1],
                        "text": row[2],
                        "temperature": row[3],
                        "helpfulness_score": row[4],
                        "score_missing_reason": row[5],
                        "rank": row[6],
                        "model_name": row[7],
                        "prompt_format": row[8],
                    }
                )
        misleading = {r[12] for r in rows if r[14] == "human_misleading"}
        self.intended: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.reviews: dict[tuple[int, int], dict[str, Any]] = {}
        self.covered: dict[int, list[int]] = defaultdict(list)
        if not misleading:
            return
        for ic in conn.execute(
            select(
                IntendedCritique.answer_id,
                IntendedCritique.id,
                IntendedCritique.position,
                IntendedCritique.text,
                IntendedCritique.severity,
                IntendedCritique.category,
                IntendedCritique.category_text,
            )
            .where(IntendedCritique.answer_id.in_(misleading))
            .order_by(IntendedCritique.position)
        ):
            self.intended[ic[0]].append(
                {
                    "id": ic[1],
                    "position": ic[2],
                    "text": ic[3],
                    "severity": ic[4],
                    "category": ic[5],
                    "category_text": ic[6],
                }
            )
        for rid, exp_id, answer_id, reviewer, permission, submitted in conn.execute(
            select(
                IntendedCritiqueReview.id,
                IntendedCritiqueReview.experiment_id,
                IntendedCritiqueReview.answer_id,
                IntendedCritiqueReview.reviewer_id,
                IntendedCritiqueReview.author_permission,
                IntendedCritiqueReview.submitted_at,
            ).where(
                IntendedCritiqueReview.answer_id.in_(misleading),
                IntendedCritiqueReview.status == ReviewStatus.submitted,
            )
        ):
            self.reviews[(exp_id, answer_id)] = {
                "review_id": rid,
                "submitted_at": submitted,
                "reviewer_id": reviewer,
                "author_permission": permission,
            }
        for task_id, ic_id in conn.execute(
            select(ReviewCoverage.task_id, ReviewCoverage.intended_critique_id)
            .where(ReviewCoverage.task_id.in_(task_ids))
            .order_by(ReviewCoverage.intended_critique_id)
        ):
            self.covered[task_id].append(ic_id)

    def record(self, r: Any, names: dict[int, str]) -> dict[str, Any]:
        (task_id, exp_id, labeler_id, set_id, assigned, opened, first_edit, revealed, submitted,
         active, source, assist, answer_id, answer_text, answer_source, temperature, model_name,
         author_id, question_id, question_text, passage_id, passage_title, passage_text,
         rating) = r  # fmt: skip
        start = opened or assigned
        review = self.reviews.get((exp_id, answer_id))
        return {
            "schema_version": SCHEMA_VERSION,
            "task_id": task_id,
            "experiment_id": exp_id,
            "labeler": names[labeler_id],
            "passage_id": passage_id,
            "passage_title": passage_title,
            "passage_text": passage_text,
            "question_id": question_id,
            "question_text": question_text,
            "answer_id": answer_id,
            "answer_text": answer_text,
            "answer_source": answer_source,
            "answer_temperature": temperature,
            "answer_model_name": model_name,
            "condition": f"{source}/{'assist' if assist else 'no_assist'}",
            "assist": assist,
            "assistance": self.shown.get(set_id, []) if set_id else [],
            "critiqueability_score": self.critiqueability.get(set_id) if set_id else None,
            "critiques": self.critiques.get(task_id, []),
            "rating": rating,
            "timing": {
                "assigned_at": assigned,
                "opened_at": opened,
                "first_edit_at": first_edit,
                "passage_revealed_at": revealed,
                "submitted_at": submitted,
                "duration_s": (submitted - start).total_seconds() if start else None,
                "active_time_s": active,
            },
            "intended_critiques": self.intended.get(answer_id, []),
            "review": None
            if review is None
            else {
                "review_id": review["review_id"],
                "submitted_at": review["submitted_at"],
                "reviewer_is_author": review["reviewer_id"] == author_id,
                "author_permission": review["author_permission"],
                "covered_intended_ids": self.covered.get(task_id, []),
            },
            "study": self.study.get(task_id),
        }
