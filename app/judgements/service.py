"""A labeler's judgement task: the blinded view, the draft saved as the page changes, and
submit, all or nothing (a second submit returns the first unchanged)."""

from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.core.locking import get_for_update
from app.core.ownership import get_owned
from app.judgements.schemas import (
    AnswerOut,
    CritiqueOut,
    JudgementDraftIn,
    JudgementSubmitIn,
    JudgementTaskOut,
    NewCritiqueOut,
)
from app.models import Answer, Passage, Question
from app.models.base import utcnow as now
from app.models.judgements import JudgementCritique, JudgementStatus, JudgementTask


def _own(session: Session, labeler_id: int, task_id: int) -> JudgementTask:
    return get_owned(session, JudgementTask, task_id, "labeler_id", labeler_id, "judgement task")


def lock(session: Session, labeler_id: int, task_id: int) -> JudgementTask:
    """The labeler's task, locked: writes to one task run one at a time."""
    task = get_for_update(session, JudgementTask, task_id)
    if task is None:
        raise NotFound(f"no judgement task {task_id}")
    if task.labeler_id != labeler_id:
        raise Forbidden("this judgement task is not yours")
    return task


def critiques_of(session: Session, task_id: int) -> list[JudgementCritique]:
    return list(
        session.scalars(
            select(JudgementCritique)
            .where(JudgementCritique.task_id == task_id)
            .order_by(JudgementCritique.position)
        )
    )


def view(session: Session, labeler_id: int, task_id: int) -> JudgementTaskOut:
    """What the labeler sees: the draft while open, the stored judgement once submitted.
    Blinded: no answer source, no author, no model score."""
    task = _own(session, labeler_id, task_id)
    question = session.get(Question, task.question_id)
    passage = session.get(Passage, task.passage_id)
    assert question is not None and passage is not None
    critiques = critiques_of(session, task.id)
    answer_text = dict(
        session.execute(
            select(Answer.id, Answer.text).where(Answer.id.in_({c.answer_id for c in critiques}))
        )
        .tuples()
        .all()
    )
    submitted = task.status == JudgementStatus.submitted
    draft = JudgementDraftIn.model_validate(task.draft or {})
    verdicts = {v.id: v for v in draft.critiques}
    answers: dict[int, AnswerOut] = {}
    for c in critiques:
        answer = answers.setdefault(
            c.answer_position, AnswerOut(text=answer_text[c.answer_id], critiques=[])
        )
        v = verdicts.get(c.id)
        helpful = c.helpful if submitted else (v.helpful if v else None)
        rank = c.rank if submitted else (v.rank if v else None)
        answer.critiques.append(CritiqueOut(id=c.id, text=c.text, helpful=helpful, rank=rank))
    new: NewCritiqueOut | None = None
    if submitted:
        if task.new_critique_text is not None:
            new = NewCritiqueOut(
                text=task.new_critique_text,
                severity=task.new_critique_severity or 2,
                category=task.new_critique_category or "accuracy",
                category_text=task.new_critique_category_text,
            )
        flags = (task.is_critiqueable, task.has_better_critique)
    else:
        if draft.new_critique is not None:
            new = NewCritiqueOut(**draft.new_critique.model_dump(mode="json"))
        flags = (draft.is_critiqueable, draft.has_better_critique)
    return JudgementTaskOut(
        id=task.id,
        status=task.status,
        passage_title=passage.title,
        passage=passage.text,
        question=question.text,
        answers=[answers[k] for k in sorted(answers)],
        is_critiqueable=flags[0],
        has_better_critique=flags[1],
        new_critique=new,
    )


def mine(session: Session, labeler_id: int) -> Sequence[tuple[JudgementTask, str]]:
    return session.execute(
        select(JudgementTask, Question.text)
        .join(Question, Question.id == JudgementTask.question_id)
        .where(JudgementTask.labeler_id == labeler_id)
        .order_by(JudgementTask.id)
    ).all()  # type: ignore[return-value]


def mark_opened(session: Session, labeler_id: int, task_id: int) -> None:
    task = _own(session, labeler_id, task_id)
    if task.opened_at is None:
        task.opened_at = now()
        session.flush()


def save_draft(session: Session, labeler_id: int, task_id: int, draft: JudgementDraftIn) -> None:
    task = lock(session, labeler_id, task_id)
    if task.status == JudgementStatus.submitted:
        raise Conflict(f"judgement task {task_id} is already submitted")
    known = {c.id for c in critiques_of(session, task.id)}
    for i, v in enumerate(draft.critiques):
        if v.id not in known:
            raise Invalid(f"critique {v.id} is not on this task", field=f"critiques.{i}.id")
    task.draft = draft.model_dump(mode="json")
    task.opened_at = task.opened_at or now()
    session.flush()


def from_draft(draft: JudgementDraftIn) -> JudgementSubmitIn:
    """The submission the page's draft makes; unanswered parts are named by their field."""
    if draft.is_critiqueable is None:
        raise Invalid("is_critiqueable: say whether the answer has a flaw", field="is_critiqueable")
    if draft.has_better_critique is None:
        raise Invalid(
            "has_better_critique: say whether there is a better critique",
            field="has_better_critique",
        )
    new = None
    if draft.has_better_critique and draft.new_critique is not None:
        new = draft.new_critique.model_dump(mode="json")
        new["text"] = new["text"].strip()
        new["category_text"] = (new["category_text"] or "").strip() or None
    verdicts = [
        {"id": v.id, "helpful": v.helpful, "rank": v.rank if v.helpful else None}
        for v in draft.critiques
        if v.helpful is not None
    ]
    try:
        return JudgementSubmitIn.model_validate(
            {
                "critiques": verdicts,
                "is_critiqueable": draft.is_critiqueable,
                "has_better_critique": draft.has_better_critique,
                "new_critique": new,
            }
        )
    except ValidationError as exc:
        raise Invalid.from_validation(exc) from exc


def check(body: JudgementSubmitIn, critique_ids: Sequence[int]) -> None:
    """Every critique judged once; the helpful ones ranked 1..k with no ties or gaps; a
    better critique exactly when the labeler says there is one."""
    known = set(critique_ids)
    seen: dict[int, int] = {}
    for i, v in enumerate(body.critiques):
        if v.id not in known:
            raise Invalid(
                f"critiques.{i}.id: critique {v.id} is not on this task", field=f"critiques.{i}.id"
            )
        if v.id in seen:
            raise Invalid(
                f"critiques.{i}.id: critique {v.id} is judged twice", field=f"critiques.{i}.id"
            )
        seen[v.id] = i
        if v.helpful and v.rank is None:
            raise Invalid(
                f"critiques.{i}.rank: rank every helpful critique (1 = most helpful)",
                field=f"critiques.{i}.rank",
            )
        if not v.helpful and v.rank is not None:
            raise Invalid(
                f"critiques.{i}.rank: only helpful critiques are ranked",
                field=f"critiques.{i}.rank",
            )
    if missing := [cid for cid in critique_ids if cid not in seen]:
        raise Invalid(
            f"critiques: judge every critique ({len(missing)} not judged yet)", field="critiques"
        )
    ranked = [(v.rank, i) for i, v in enumerate(body.critiques) if v.rank is not None]
    k = len(ranked)
    by_rank: dict[int, int] = {}
    for rank, i in ranked:
        if rank in by_rank:
            raise Invalid(
                f"critiques.{i}.rank: rank {rank} is given twice; give the {k} helpful "
                f"critiques the ranks 1 to {k}, each once",
                field=f"critiques.{i}.rank",
            )
        by_rank[rank] = i
    for rank, i in ranked:
        if rank > k:
            gap = min(r for r in range(1, k + 1) if r not in by_rank)
            raise Invalid(
                f"critiques.{i}.rank: rank {rank} leaves a gap (no critique is ranked {gap}); "
                f"give the {k} helpful critiques the ranks 1 to {k}",
                field=f"critiques.{i}.rank",
            )
    if body.has_better_critique and not body.is_critiqueable:
        raise Invalid(
            "has_better_critique: an answer without a flaw has no better critique",
            field="has_better_critique",
        )
    if body.has_better_critique and body.new_critique is None:
        raise Invalid("new_critique.text: write the better critique", field="new_critique.text")
    if not body.has_better_critique and body.new_critique is not None:
        raise Invalid(
            "new_critique: there is no better critique, so leave it out", field="new_critique"
        )


def submit(
    session: Session, labeler_id: int, task_id: int, body: JudgementSubmitIn | None = None
) -> JudgementTask:
    """Store the judgement from `body`, or else from the draft; nothing on any error."""
    task = lock(session, labeler_id, task_id)
    if task.status == JudgementStatus.submitted:
        return task
    if body is None:
        body = from_draft(JudgementDraftIn.model_validate(task.draft or {}))
    critiques = critiques_of(session, task.id)
    check(body, [c.id for c in critiques])
    verdicts = {v.id: v for v in body.critiques}
    for c in critiques:
        c.helpful = verdicts[c.id].helpful
        c.rank = verdicts[c.id].rank
    task.is_critiqueable = body.is_critiqueable
    task.has_better_critique = body.has_better_critique
    nc = body.new_critique
    if nc is not None:
        task.new_critique_text = nc.text.strip()
        task.new_critique_severity = nc.severity
        task.new_critique_category = nc.category.value
        task.new_critique_category_text = (nc.category_text or "").strip() or None
    task.draft = JudgementDraftIn(
        critiques=[v.model_dump() for v in body.critiques],  # type: ignore[misc]
        is_critiqueable=body.is_critiqueable,
        has_better_critique=body.has_better_critique,
        new_critique=nc.model_dump(mode="json") if nc else None,  # type: ignore[arg-type]
    ).model_dump(mode="json")
    task.status = JudgementStatus.submitted
    task.submitted_at = now()
    task.opened_at = task.opened_at or task.submitted_at
    session.flush()
    return task
