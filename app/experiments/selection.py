"""Choosing an experiment's questions at scale: search passages by title or text, keep those
whose questions have answers from every chosen source, then take every question, one random
question per passage, or every question of N random passages (seeded, so a design replays)."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from app.models import Answer, Passage, Question

PAGE_SIZE = 20


class Rule(StrEnum):
    one_per_passage = "one_per_passage"
    every_question = "every_question"
    random_passages = "random_passages"


@dataclass(frozen=True)
class Filter:
    search: str = ""  # words in a passage's title or text
    sources: Sequence[str] = ()  # with only_complete: every one needs an answer
    only_complete: bool = True
    passage_ids: Sequence[int] = ()  # hand-picked passages; empty: no restriction


@dataclass(frozen=True)
class PassageRow:
    id: int
    title: str | None
    questions: int


def _questions(f: Filter) -> Select[tuple[int, int]]:
    """(question id, passage id) of the questions the filter keeps."""
    stmt = select(Question.id, Question.passage_id).join(Passage, Passage.id == Question.passage_id)
    for word in f.search.split()[:8]:
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Passage.title.ilike(pattern), Passage.text.ilike(pattern)))
    if f.passage_ids:
        stmt = stmt.where(Passage.id.in_(list(f.passage_ids)))
    if f.only_complete and f.sources:
        complete = (
            select(Answer.question_id)
            .where(Answer.source.in_(list(f.sources)))
            .group_by(Answer.question_id)
            .having(func.count(func.distinct(Answer.source)) == len(set(f.sources)))
        )
        stmt = stmt.where(Question.id.in_(complete))
    return stmt


def passages_page(session: Session, f: Filter, page: int) -> tuple[list[PassageRow], int]:
    """One page of the passages the filter keeps, with their question counts, and the total."""
    kept = _questions(f).subquery()
    counts = (
        select(kept.c.passage_id, func.count().label("n")).group_by(kept.c.passage_id).subquery()
    )
    total = session.scalar(select(func.count()).select_from(counts)) or 0
    rows = session.execute(
        select(Passage.id, Passage.title, counts.c.n)
        .join(counts, counts.c.passage_id == Passage.id)
        .order_by(Passage.id)
        .offset(max(page, 0) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return [PassageRow(r.id, r.title, r.n) for r in rows], total


def choose_questions(
    session: Session, f: Filter, rule: Rule, seed: int, n_passages: int | None = None
) -> list[int]:
    by_passage: dict[int, list[int]] = {}
    for qid, pid in session.execute(_questions(f).order_by(Question.passage_id, Question.id)):
        by_passage.setdefault(pid, []).append(qid)
    rng = random.Random(seed)
    if rule == Rule.one_per_passage:
        return sorted(rng.choice(qids) for qids in by_passage.values())
    if rule == Rule.random_passages:
        chosen = rng.sample(sorted(by_passage), min(n_passages or 0, len(by_passage)))
        return sorted(q for pid in chosen for q in by_passage[pid])
    return sorted(q for qids in by_passage.values() for q in qids)
