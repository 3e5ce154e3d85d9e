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
from app.integrity.repository import active_exclusions, provenance_of
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
    TaskIntegrity,
    TaskStatus,
    User,
)
from app.studies import export as studies

BATCH = 2000


def pseudonym(labeler_id: int, key: bytes | None = None) -> str:
    key = key if key is not None else get_settings().export_salt.encode()
    return hmac.new(key, f"labeler:{labeler_id}".encode(), hashlib.sha256).hexdigest()[:32]


# Labelled, so a row reads by name (row.task_id), not by place.
_TASK_COLUMNS = (
    Task.id.label("task_id"),
    Task.experiment_id.label("experiment_id"),
    Task.labeler_id.label("labeler_id"),
    Task.assistance_set_id.label("set_id"),
    Task.assigned_at.label("assigned_at"),
    Task.opened_at.label("opened_at"),
    Task.first_edit_at.label("first_edit_at"),
    Task.passage_revealed_at.label("passage_revealed_at"),
    Task.submitted_at.label("submitted_at"),
    Task.active_time_s.label("active_time_s"),
    Condition.source.label("condition_source"),
    Condition.assist.label("assist"),
    Answer.id.label("answer_id"),
    Answer.text.label("answer_text"),
    Answer.source.label("answer_source"),
    Answer.temperature.label("answer_temperature"),
    Answer.model_name.label("answer_model_name"),
    Answer.author_id.label("author_id"),
    Question.id.label("question_id"),
    Question.text.label("question_text"),
    Passage.id.label("passage_id"),
    Passage.title.label("passage_title"),
    Passage.text.label("passage_text"),
    Rating.value.label("rating"),
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
        last_id = rows[-1].task_id


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
    """Everything one batch of tasks refers to: one query per kind of thing, each a method.

    A new field of a critique record goes into `_critiques` (and postgres.py's `o` columns);
    of a task record, into `record`."""

    def __init__(self, conn: Connection, rows: Sequence[Any]) -> None:
        self.conn = conn
        task_ids = [r.task_id for r in rows]
        set_ids = {r.set_id for r in rows if r.set_id is not None}
        misleading = {r.answer_id for r in rows if r.answer_source == "human_misleading"}
        self.study = studies.by_task(conn, rows)  # gold checks, participants (app/studies)
        self.provenance = provenance_of(conn, task_ids)
        self.checks = self._checks(task_ids)
        self.excluded = active_exclusions(conn, task_ids)
        self.critiques = self._critiques(task_ids, self._judged(task_ids))
        self.critiqueability = self._critiqueability(set_ids)
        self.shown = self._shown(set_ids)
        self.intended = self._intended(misleading)
        self.reviews = self._reviews(misleading)
        self.covered = self._covered(task_ids) if misleading else {}

    def _judged(self, task_ids: list[int]) -> dict[int, tuple[bool, bool]]:
        """Each reviewed critique's (valid, novel)."""
        rows = self.conn.execute(
            select(
                ReviewJudgement.labeler_critique_id.label("critique_id"),
                ReviewJudgement.valid.label("valid"),
                ReviewJudgement.novel.label("novel"),
            )
            .join(LabelerCritique, LabelerCritique.id == ReviewJudgement.labeler_critique_id)
            .join(IntendedCritiqueReview, IntendedCritiqueReview.id == ReviewJudgement.review_id)
            .where(
                LabelerCritique.task_id.between(task_ids[0], task_ids[-1]),
                IntendedCritiqueReview.status == ReviewStatus.submitted,
            )
        )
        return {r.critique_id: (r.valid, r.novel) for r in rows}

    def _critiques(
        self, task_ids: list[int], judged: dict[int, tuple[bool, bool]]
    ) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rows = self.conn.execute(
            select(
                LabelerCritique.id,
                LabelerCritique.task_id,
                LabelerCritique.text,
                LabelerCritique.severity,
                LabelerCritique.category,
                LabelerCritique.category_text,
                LabelerCritique.assistance_critique_id.label("used_assistance_id"),
                LabelerCritique.edited,
                LabelerCritique.edit_distance,
                LabelerCritique.quote_of,
                LabelerCritique.quote_start,
                LabelerCritique.quote_end,
            )
            .where(LabelerCritique.task_id.in_(task_ids))
            .order_by(LabelerCritique.task_id, LabelerCritique.position)
        )
        for r in rows:
            valid, novel = judged.get(r.id, (None, None))
            key = str(r.id)
            prov = (self.provenance.get(r.task_id) or {}).get("critiques") or {}
            check = self.checks.get(r.task_id)
            near = (check["similarity"] or {}).get(key) if check else None
            out[r.task_id].append(
                {
                    "id": r.id,
                    "text": r.text,
                    "severity": r.severity,
                    "category": r.category,
                    "category_text": r.category_text,
                    "used_assistance_id": r.used_assistance_id,
                    "edited": r.edited,
                    "edit_distance": r.edit_distance,
                    "review_valid": valid,
                    "review_novel": novel,
                    "provenance": prov.get(key),
                    "closest_model_critique_id": near["model_critique_id"] if near else None,
                    "model_similarity": near["similarity"] if near else None,
                    "quote_of": r.quote_of,
                    "quote_start": r.quote_start,
                    "quote_end": r.quote_end,
                }
            )
        return out

    def _checks(self, task_ids: list[int]) -> dict[int, dict[str, Any]]:
        rows = self.conn.execute(
            select(
                TaskIntegrity.task_id,
                TaskIntegrity.flags,
                TaskIntegrity.evidence,
                TaskIntegrity.similarity,
            ).where(TaskIntegrity.task_id.in_(task_ids))
        )
        return {
            r.task_id: {"flags": r.flags, "evidence": r.evidence, "similarity": r.similarity}
            for r in rows
        }

    def _critiqueability(self, set_ids: set[int]) -> dict[int, float | None]:
        if not set_ids:
            return {}
        rows = self.conn.execute(
            select(AssistanceSet.id, AssistanceSet.critiqueability_score).where(
                AssistanceSet.id.in_(set_ids)
            )
        )
        return {r.id: r.critiqueability_score for r in rows}

    def _grouped(self, query: Any) -> dict[Any, list[dict[str, Any]]]:
        """Rows as dicts of their labelled columns, grouped by the first column (which the
        dicts leave out): the record's fields are the query's columns, in order."""
        out: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in self.conn.execute(query):
            fields = row._asdict()
            out[fields.pop(next(iter(fields)))].append(fields)
        return out

    def _shown(self, set_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
        if not set_ids:
            return {}
        return self._grouped(
            select(
                AssistanceCritique.assistance_set_id.label("set_id"),
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
        )

    def _intended(self, misleading: set[int]) -> dict[int, list[dict[str, Any]]]:
        if not misleading:
            return {}
        return self._grouped(
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
        )

    def _reviews(self, misleading: set[int]) -> dict[tuple[int, int], Any]:
        """The submitted review of each (experiment, misleading answer)."""
        if not misleading:
            return {}
        rows = self.conn.execute(
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
        )
        return {(r.experiment_id, r.answer_id): r for r in rows}

    def _covered(self, task_ids: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        rows = self.conn.execute(
            select(ReviewCoverage.task_id, ReviewCoverage.intended_critique_id)
            .where(ReviewCoverage.task_id.in_(task_ids))
            .order_by(ReviewCoverage.intended_critique_id)
        )
        for r in rows:
            out[r.task_id].append(r.intended_critique_id)
        return out

    def _integrity(self, r: Any) -> dict[str, Any]:
        prov = self.provenance.get(r.task_id)
        check = self.checks.get(r.task_id)
        ex = self.excluded.get(r.task_id)
        return {
            "provenance": None
            if prov is None
            else {"away_s": prov["away_s"], "departures": prov["departures"]},
            "checked": check is not None,
            "flags": check["flags"] if check else None,
            "evidence": check["evidence"] if check else None,
            "excluded": ex is not None,
            "exclusion": None
            if ex is None
            else {"scope": ex[3], "reason": ex[1], "excluded_at": ex[2]},
        }

    def record(self, r: Any, names: dict[int, str]) -> dict[str, Any]:
        start = r.opened_at or r.assigned_at
        review = self.reviews.get((r.experiment_id, r.answer_id))
        return {
            "schema_version": SCHEMA_VERSION,
            "task_id": r.task_id,
            "experiment_id": r.experiment_id,
            "labeler": names[r.labeler_id],
            "passage_id": r.passage_id,
            "passage_title": r.passage_title,
            "passage_text": r.passage_text,
            "question_id": r.question_id,
            "question_text": r.question_text,
            "answer_id": r.answer_id,
            "answer_text": r.answer_text,
            "answer_source": r.answer_source,
            "answer_temperature": r.answer_temperature,
            "answer_model_name": r.answer_model_name,
            "condition": f"{r.condition_source}/{'assist' if r.assist else 'no_assist'}",
            "assist": r.assist,
            "assistance": self.shown.get(r.set_id, []) if r.set_id else [],
            "critiqueability_score": self.critiqueability.get(r.set_id) if r.set_id else None,
            "critiques": self.critiques.get(r.task_id, []),
            "rating": r.rating,
            "timing": {
                "assigned_at": r.assigned_at,
                "opened_at": r.opened_at,
                "first_edit_at": r.first_edit_at,
                "passage_revealed_at": r.passage_revealed_at,
                "submitted_at": r.submitted_at,
                "duration_s": (r.submitted_at - start).total_seconds() if start else None,
                "active_time_s": r.active_time_s,
            },
            "intended_critiques": self.intended.get(r.answer_id, []),
            "review": None
            if review is None
            else {
                "review_id": review.id,
                "submitted_at": review.submitted_at,
                "reviewer_is_author": review.reviewer_id == r.author_id,
                "author_permission": review.author_permission,
                "covered_intended_ids": self.covered.get(r.task_id, []),
            },
            "integrity": self._integrity(r),
            "study": self.study.get(r.task_id),
        }
