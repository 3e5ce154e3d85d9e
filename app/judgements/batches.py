"""Judgement batches: an admin asks labelers to judge the model critiques of some questions.

Each question gets `judgements_per_critique` tasks, each for a different labeler, chosen
from the pool least-loaded first (ties in a seeded random order). The critiques shown are
copied onto the task when it is created (what was shown stays what was shown), in an order
shuffled per task so the model's own ranking never leaks into the labels.

Exposure rules (DESIGN.md): a labeler who has labeled, written or reviewed on a passage
never judges it, and assigning a judgement records a `judged` exposure, so the labeling
assignment never gives the judge that passage afterwards. Judging several questions of
one passage is allowed (the paper's records hold several questions per passage).
"""

import hashlib
import random
import secrets
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict
from app.corpus.repository import CorpusRepository
from app.judgements.schemas import BatchIn, BatchOut, LabelerProgressOut
from app.models import (
    Answer,
    AssistanceCritique,
    AssistanceSet,
    HelpfulnessJudgement,
    Passage,
    PassageExposure,
    Question,
    Role,
    User,
)
from app.models.judgements import (
    JUDGED_EXPOSURE,
    JudgementBatch,
    JudgementCritique,
    JudgementStatus,
    JudgementTask,
)

_ALPHABET = string.ascii_letters + string.digits


def new_record_id() -> str:
    """30 random letters and digits, like the paper's record ids."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(30))


@dataclass(frozen=True)
class ShownCritique:
    text: str
    assistance_critique_id: int | None


def critiques_of_answer(session: Session, answer_id: int) -> list[ShownCritique]:
    """The model critiques to judge for one answer: its newest stored assistance set, or else
    the distinct critique texts imported with the paper's data."""
    set_id = session.scalar(
        select(AssistanceSet.id)
        .where(AssistanceSet.answer_id == answer_id)
        .order_by(AssistanceSet.id.desc())
        .limit(1)
    )
    if set_id is not None:
        rows = session.execute(
            select(AssistanceCritique.text, AssistanceCritique.id)
            .where(AssistanceCritique.assistance_set_id == set_id)
            .order_by(AssistanceCritique.rank)
        ).all()
        if rows:
            return [ShownCritique(text, cid) for text, cid in rows]
    texts = session.scalars(
        select(HelpfulnessJudgement.critique_text)
        .where(HelpfulnessJudgement.answer_id == answer_id)
        .group_by(HelpfulnessJudgement.critique_text)
        .order_by(func.min(HelpfulnessJudgement.id))
    ).all()
    return [ShownCritique(text, None) for text in texts]


def _shuffled(items: Sequence[object], key: str) -> list[int]:
    """A permutation of range(len(items)), fixed by `key`."""
    order = list(range(len(items)))
    random.Random(hashlib.sha256(key.encode()).digest()).shuffle(order)
    return order


def _snapshot(
    session: Session, task: JudgementTask, answers: list[tuple[int, list[ShownCritique]]]
) -> None:
    position = 0
    for answer_position, ai in enumerate(_shuffled(answers, f"{task.record_id}:answers")):
        answer_id, critiques = answers[ai]
        for ci in _shuffled(critiques, f"{task.record_id}:{answer_id}"):
            session.add(
                JudgementCritique(
                    task_id=task.id,
                    position=position,
                    answer_id=answer_id,
                    answer_position=answer_position,
                    text=critiques[ci].text,
                    assistance_critique_id=critiques[ci].assistance_critique_id,
                )
            )
            position += 1


def _pool(session: Session, usernames: Sequence[str]) -> list[User]:
    names = list(dict.fromkeys(usernames))
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
    for name in names:
        user = users.get(name)
        if user is None or not user.is_active:
            raise AppError(f"no active user named {name!r}", field="labelers")
        if user.role != Role.labeler:
            raise AppError(f"{name} is a {user.role}; only labelers judge", field="labelers")
    return [users[n] for n in names]


def create_batch(session: Session, spec: BatchIn, created_by: int | None = None) -> JudgementBatch:
    """The batch and all its tasks, or an error naming the field and nothing stored (the
    caller's transaction rolls back)."""
    if session.scalar(select(JudgementBatch.id).where(JudgementBatch.name == spec.name)):
        raise Conflict(f"a judgement batch named {spec.name!r} exists", field="name")
    pool = _pool(session, spec.labelers)
    per = spec.judgements_per_critique
    if per > len(pool):
        raise AppError(
            f"{per} judgements per critique need at least {per} labelers (got {len(pool)})",
            field="judgements_per_critique",
        )
    qids = list(dict.fromkeys(spec.question_ids))
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(qids)))}
    if missing := [q for q in qids if q not in questions]:
        raise AppError(f"no question {missing[0]}", field="question_ids")

    to_judge: dict[int, list[tuple[int, list[ShownCritique]]]] = {}
    for qid in qids:
        answers = session.scalars(
            select(Answer.id).where(Answer.question_id == qid).order_by(Answer.id)
        ).all()
        shown = [(aid, cs) for aid in answers if (cs := critiques_of_answer(session, aid))]
        if not shown:
            raise AppError(
                f"question {qid} has no model critiques to judge: generate its assistance "
                "or import critiques first",
                field="question_ids",
            )
        to_judge[qid] = shown

    pool_ids = [u.id for u in pool]
    seen = {
        (uid, pid): reason
        for uid, pid, reason in session.execute(
            select(
                PassageExposure.user_id, PassageExposure.passage_id, PassageExposure.reason
            ).where(PassageExposure.user_id.in_(pool_ids))
        )
    }
    judged = set(
        session.execute(
            select(JudgementTask.labeler_id, JudgementTask.question_id).where(
                JudgementTask.labeler_id.in_(pool_ids), JudgementTask.question_id.in_(qids)
            )
        )
        .tuples()
        .all()
    )
    order = list(pool)
    random.Random(spec.seed).shuffle(order)
    tiebreak = {u.id: i for i, u in enumerate(order)}

    batch = JudgementBatch(
        name=spec.name,
        judgements_per_critique=per,
        split=spec.split,
        seed=spec.seed,
        created_by_id=created_by,
    )
    session.add(batch)
    session.flush()
    load: Counter[int] = Counter()
    repo = CorpusRepository(session)
    for qid in qids:
        pid = questions[qid].passage_id
        eligible = [
            u
            for u in pool
            if seen.get((u.id, pid), JUDGED_EXPOSURE) == JUDGED_EXPOSURE
            and (u.id, qid) not in judged
        ]
        if len(eligible) < per:
            raise Conflict(
                f"question {qid}: only {len(eligible)} of the labelers may judge passage {pid} "
                "(the others labeled, wrote or reviewed on it, or already judge this question); "
                f"needed: {per}",
                field="labelers",
            )
        eligible.sort(key=lambda u: (load[u.id], tiebreak[u.id]))
        for user in eligible[:per]:
            task = JudgementTask(
                batch_id=batch.id,
                question_id=qid,
                passage_id=pid,
                labeler_id=user.id,
                record_id=new_record_id(),
            )
            session.add(task)
            session.flush()
            _snapshot(session, task, to_judge[qid])
            repo.ensure_exposure(user.id, pid, JUDGED_EXPOSURE)
            seen[(user.id, pid)] = seen.get((user.id, pid), JUDGED_EXPOSURE)
            load[user.id] += 1
    session.flush()
    return batch


def task_ids(session: Session, batch_id: int) -> list[int]:
    return list(
        session.scalars(
            select(JudgementTask.id)
            .where(JudgementTask.batch_id == batch_id)
            .order_by(JudgementTask.id)
        )
    )


def progress(session: Session, batch_id: int | None = None) -> list[BatchOut]:
    """Each batch (newest first) with its task counts, overall and per labeler."""
    query = select(JudgementBatch).order_by(JudgementBatch.id.desc())
    if batch_id is not None:
        query = query.where(JudgementBatch.id == batch_id)
    batches = session.scalars(query).all()
    rows = session.execute(
        select(
            JudgementTask.batch_id,
            User.username,
            JudgementTask.status,
            func.count(),
        )
        .join(User, User.id == JudgementTask.labeler_id)
        .where(JudgementTask.batch_id.in_([b.id for b in batches]))
        .group_by(JudgementTask.batch_id, User.username, JudgementTask.status)
    ).all()
    questions = dict(
        session.execute(
            select(JudgementTask.batch_id, func.count(func.distinct(JudgementTask.question_id)))
            .where(JudgementTask.batch_id.in_([b.id for b in batches]))
            .group_by(JudgementTask.batch_id)
        )
        .tuples()
        .all()
    )
    out = []
    for b in batches:
        per_labeler: dict[str, Counter[str]] = {}
        for bid, username, status, n in rows:
            if bid == b.id:
                per_labeler.setdefault(username, Counter())[status] += n
        submitted = sum(c[JudgementStatus.submitted] for c in per_labeler.values())
        opened = sum(c[JudgementStatus.open] for c in per_labeler.values())
        out.append(
            BatchOut(
                id=b.id,
                name=b.name,
                split=b.split,
                judgements_per_critique=b.judgements_per_critique,
                questions=questions.get(b.id, 0),
                tasks=submitted + opened,
                submitted=submitted,
                open=opened,
                labelers=[
                    LabelerProgressOut(
                        username=name,
                        submitted=c[JudgementStatus.submitted],
                        open=c[JudgementStatus.open],
                    )
                    for name, c in sorted(per_labeler.items())
                ],
            )
        )
    return out


@dataclass(frozen=True)
class QuestionChoice:
    id: int
    text: str
    title: str | None


def choices(session: Session) -> tuple[list[str], list[QuestionChoice]]:
    """Active labelers, and the questions that have critiques to judge."""
    labelers = list(
        session.scalars(
            select(User.username)
            .where(User.role == Role.labeler, User.is_active.is_(True))
            .order_by(User.username)
        )
    )
    with_assistance = select(Answer.question_id).join(
        AssistanceSet, AssistanceSet.answer_id == Answer.id
    )
    with_imported = select(Answer.question_id).join(
        HelpfulnessJudgement, HelpfulnessJudgement.answer_id == Answer.id
    )
    rows = session.execute(
        select(Question.id, Question.text, Passage.title)
        .join(Passage, Passage.id == Question.passage_id)
        .where(Question.id.in_(with_assistance.union(with_imported)))
        .order_by(Question.id)
    ).all()
    return labelers, [QuestionChoice(*r) for r in rows]
