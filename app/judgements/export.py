"""Helpfulness judgements in the paper's release format (../shared/data/
paper_helpfulness_sample.jsonl), one JSON line per record, streamed in batches.

Two kinds of record come out, in the same shape:
- imported ones (`critiquelab import --format paper`), one per paper record id, rebuilt
  from question_feedback and helpfulness_judgements; their labeler is the hash they came
  with;
- judgement tasks submitted in the app, one per task; the labeler is the keyed pseudonym of
  app/export (CRITIQUELAB_EXPORT_SALT), ranks are written 0-based (0 = most helpful) like
  the release's, and unranked (not helpful) critiques get null.

`source_id` is not kept by the importer; every record gets a content id instead (a hash of
the passage and its questions), so records that judged the same passage and questions
share it, as they do in the release. docs/decisions.md says what survives a round trip.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.corpus.hashing import content_hash
from app.export.service import pseudonym
from app.models import Answer, HelpfulnessJudgement, Passage, Question, QuestionFeedback
from app.models.judgements import (
    JudgementBatch,
    JudgementCritique,
    JudgementStatus,
    JudgementTask,
)

BATCH = 500

Record = dict[str, Any]


def source_id(title: str | None, text: str, questions: Sequence[str]) -> str:
    return content_hash("paper-source", title, text, *questions)[:30]


def _time(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def _record(
    record_id: str,
    split: str | None,
    at: datetime | None,
    labeler: str,
    passage: tuple[str | None, str],
    questions: list[Record],
) -> Record:
    title, text = passage
    return {
        "id": record_id,
        "source_id": source_id(title, text, [q["question"] for q in questions]),
        "split": split,
        "time": _time(at),
        "labeler": labeler,
        # The app holds topic-based summarisation only.
        "is_topic_based_summarization": True,
        "data": {"passage": {"text": text, "title": title}, "questions": questions},
    }


def _answers(critiques: list[tuple[int, str, str, bool | None]]) -> list[Record]:
    """(answer key, answer text, critique, helpful) in order -> the release's answers."""
    answers: dict[int, Record] = {}
    for key, answer_text, critique, helpful in critiques:
        answer = answers.setdefault(key, {"answer": answer_text, "critiques": []})
        answer["critiques"].append({"critique": critique, "feedback": {"helpful": helpful}})
    return list(answers.values())


def imported_records(session: Session) -> Iterator[Record]:
    """One record per imported paper record, in import order; records whose id is an
    in-app task's (an export re-imported into the same database) are left to the task."""
    in_app = select(JudgementTask.record_id)
    ids_query = (
        select(QuestionFeedback.source_record_id)
        .where(QuestionFeedback.source_record_id.not_in(in_app))
        .group_by(QuestionFeedback.source_record_id)
        .order_by(func.min(QuestionFeedback.id))
    )
    chunk: list[str] = []
    for record_id in session.scalars(ids_query):
        chunk.append(record_id)
        if len(chunk) == BATCH:
            yield from _imported_chunk(session, chunk)
            chunk = []
    if chunk:
        yield from _imported_chunk(session, chunk)


def _imported_chunk(session: Session, ids: list[str]) -> Iterator[Record]:
    f = QuestionFeedback
    feedback = session.execute(
        select(
            f.source_record_id,
            f.question_index,
            f.labeler_hash,
            f.judged_at,
            f.split,
            f.is_critiqueable,
            f.has_better_critique,
            f.new_critique_text,
            f.new_critique_category,
            f.new_critique_severity,
            f.new_critique_category_text,
            f.new_critique_refinement,
            Question.text.label("question"),
            Question.passage_id,
        )
        .join(Question, Question.id == f.question_id)
        .where(f.source_record_id.in_(ids))
        .order_by(f.source_record_id, f.question_index)
    ).all()
    j = HelpfulnessJudgement
    critiques: dict[tuple[str, int], list[tuple[int, str, str, bool | None, int | None]]] = (
        defaultdict(list)
    )
    for rid, qi, ai, text, helpful, rank, answer_text in session.execute(
        select(
            j.source_record_id,
            j.question_index,
            j.answer_index,
            j.critique_text,
            j.helpful,
            j.rank,
            Answer.text,
        )
        .join(Answer, Answer.id == j.answer_id)
        .where(j.source_record_id.in_(ids))
        .order_by(j.source_record_id, j.question_index, j.answer_index, j.critique_index)
    ):
        critiques[(rid, qi)].append((ai, answer_text, text, helpful, rank))
    passages = {
        pid: (title, text)
        for pid, title, text in session.execute(
            select(Passage.id, Passage.title, Passage.text).where(
                Passage.id.in_({row.passage_id for row in feedback})
            )
        )
    }
    by_record: dict[str, list[Any]] = defaultdict(list)
    for row in feedback:
        by_record[row.source_record_id].append(row)
    for rid in ids:
        rows = by_record[rid]
        questions = []
        for row in rows:
            cs = critiques[(rid, row.question_index)]
            new = None
            if row.new_critique_category is not None:
                new = {
                    "text": row.new_critique_text,
                    "category": row.new_critique_category,
                    "severity": row.new_critique_severity,
                    "category_text": row.new_critique_category_text,
                }
                if row.new_critique_refinement is not None:
                    new["refinement"] = row.new_critique_refinement
            questions.append(
                {
                    "question": row.question,
                    "answers": _answers([c[:4] for c in cs]),
                    "rankings": [c[4] for c in cs],
                    "is_critiqueable": row.is_critiqueable,
                    "has_better_critique": row.has_better_critique,
                    "new_critique": new,
                }
            )
        first = rows[0]
        yield _record(
            rid,
            first.split,
            first.judged_at,
            first.labeler_hash,
            passages[first.passage_id],
            questions,
        )


def task_records(session: Session) -> Iterator[Record]:
    """One record per submitted judgement task, in task order."""
    last_id = 0
    while True:
        tasks = session.execute(
            select(
                JudgementTask.id,
                JudgementTask.record_id,
                JudgementTask.labeler_id,
                JudgementTask.submitted_at,
                JudgementTask.is_critiqueable,
                JudgementTask.has_better_critique,
                JudgementTask.new_critique_text,
                JudgementTask.new_critique_category,
                JudgementTask.new_critique_severity,
                JudgementTask.new_critique_category_text,
                JudgementBatch.split,
                Question.text.label("question"),
                Passage.title.label("passage_title"),
                Passage.text.label("passage_text"),
            )
            .join(JudgementBatch, JudgementBatch.id == JudgementTask.batch_id)
            .join(Question, Question.id == JudgementTask.question_id)
            .join(Passage, Passage.id == JudgementTask.passage_id)
            .where(JudgementTask.status == JudgementStatus.submitted, JudgementTask.id > last_id)
            .order_by(JudgementTask.id)
            .limit(BATCH)
        ).all()
        if not tasks:
            return
        last_id = tasks[-1].id
        critiques: dict[int, list[tuple[int, str, str, bool | None, int | None]]] = defaultdict(
            list
        )
        c = JudgementCritique
        for tid, ap, text, helpful, rank, answer_text in session.execute(
            select(c.task_id, c.answer_position, c.text, c.helpful, c.rank, Answer.text)
            .join(Answer, Answer.id == c.answer_id)
            .where(c.task_id.in_([t.id for t in tasks]))
            .order_by(c.task_id, c.position)
        ):
            critiques[tid].append((ap, answer_text, text, helpful, rank))
        for t in tasks:
            cs = critiques[t.id]
            new = None
            if t.new_critique_text is not None:
                new = {
                    "text": t.new_critique_text,
                    "category": t.new_critique_category,
                    "severity": t.new_critique_severity,
                    "category_text": t.new_critique_category_text or "",
                }
            question = {
                "question": t.question,
                "answers": _answers([x[:4] for x in cs]),
                "rankings": [x[4] - 1 if x[4] is not None else None for x in cs],
                "is_critiqueable": t.is_critiqueable,
                "has_better_critique": t.has_better_critique,
                "new_critique": new,
            }
            yield _record(
                t.record_id,
                t.split,
                t.submitted_at,
                pseudonym(t.labeler_id),
                (t.passage_title, t.passage_text),
                [question],
            )


def records(session: Session) -> Iterator[Record]:
    yield from imported_records(session)
    yield from task_records(session)


def export_lines(session: Session) -> Iterator[bytes]:
    for record in records(session):
        yield orjson.dumps(record) + b"\n"


def stream_lines() -> Iterator[bytes]:
    """The export for a streamed response, in its own read session: the response streams after
    the request's session has closed (reading through that one checked out a connection that
    nothing returned to the pool)."""
    with session_scope(writes=False) as session:
        yield from export_lines(session)


def export_file(session: Session, path: str) -> int:
    """Write the export to `path`; returns the number of records."""
    n = 0
    with open(path, "wb") as fh:
        for line in export_lines(session):
            fh.write(line)
            n += 1
    return n
