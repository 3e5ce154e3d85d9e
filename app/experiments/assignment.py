"""Handing out tasks. The rules, enforced here and by the database:

- a task goes to one labeler at a time; every (answer, condition, slot) is one task;
- a labeler never gets a passage they have seen (any task, condition or experiment, or as an
  author): each assignment inserts a PassageExposure, unique per (labeler, passage), so the
  six conditions of one question always go to six different labelers;
- an assist task is handed out only once its assistance is stored, and the task records
  exactly which stored set it shows;
- each labeler's tasks stay balanced across conditions (least-served condition first), in
  a random order fixed by the experiment's seed;
- a labeler holds one open task at a time; asking again returns it.

Cost: flat in the experiment's size. Each task draws a random key at launch from the seed;
the labeler's conditions are ranked in Python (a handful of rows: the labeler's counts per
condition), and the database returns the next task of a condition from the partial index
ix_tasks_pending_order (condition, key), stopping at the first task the labeler may take.
Expired tasks are found through ix_tasks_assigned_expires_at, which holds only open tasks.

Concurrency: the labeler's own row is locked first (FOR UPDATE on PostgreSQL; on SQLite a
write, which takes the database's single write lock), so one labeler's requests run one at
a time; a candidate task is then locked with SKIP LOCKED, so two labelers never take the
same task and never wait on each other.
"""

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Select, bindparam, delete, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app.assist.prompts import prompt_format
from app.core.errors import Conflict, NotFound
from app.core.locking import get_for_update
from app.core.ownership import get_owned
from app.core.settings import get_settings
from app.models import (
    AssistanceSet,
    Condition,
    Experiment,
    ExperimentLabeler,
    ExperimentStatus,
    ExposureReason,
    LabelerCritique,
    PassageExposure,
    Rating,
    Task,
    TaskRelease,
    TaskStatus,
    User,
)
from app.models.base import utcnow as now
from app.models.studies import ExperimentBriefing, StudyParticipant
from app.studies import stream
from app.studies.checks import CheckRate

SKIP_REASONS = (
    "I have read this text before",
    "The text or answer is broken or unreadable",
    "I cannot judge this topic",
    "Other",
)


@dataclass(frozen=True)
class NextTask:
    task_id: int | None
    resumed: bool = False
    reason: str | None = None  # why there is no task
    code: str | None = None  # the same, as one of END_REASONS (the labeler's end page)


# Why a labeler gets no task: a code for pages and clients, and the sentence shown.
END_REASONS = {
    "no_experiment": "no running experiment includes you",
    "all_done": "no tasks left: every task of your experiments is done or held by someone",
    "passage_rule": (
        "no tasks left for you: the remaining tasks are on passages you have already read,"
        " and each passage is read once"
    ),
    "busy": "every task you could take is being handed to someone else; try again",
    "waiting_assistance": "your next tasks are waiting for their model assistance; try again shortly",
}


def _none(code: str) -> "NextTask":
    return NextTask(None, reason=END_REASONS[code], code=code)


_LOCK_LABELER_PG = select(User.id).where(User.id == bindparam("labeler_id")).with_for_update()
_LOCK_LABELER = (
    update(User).where(User.id == bindparam("labeler_id")).values(token_version=User.token_version)
)


def _lock_labeler(session: Session, labeler_id: int) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    lock = _LOCK_LABELER_PG if postgres else _LOCK_LABELER
    session.connection().execute(lock, {"labeler_id": labeler_id})


def order_key(seed: int, labeler_id: int, item: int | str) -> str:
    """A random key per (labeler, item), fixed by the seed: it ranks the labeler's
    equally served conditions."""
    return hashlib.sha256(f"{seed}:{labeler_id}:{item}".encode()).hexdigest()


def task_keys(seed: int) -> Iterator[int]:
    """The keys launch gives an experiment's tasks, in creation order: each task's place
    in its condition's random order (0 <= key < 2**31)."""
    rng = random.Random(seed)
    while True:
        yield rng.randrange(2**31)


_EXPIRED = (
    select(Task.id)
    .where(Task.status == TaskStatus.assigned, Task.expires_at < bindparam("at"))
    .with_for_update(skip_locked=True)
)


def release_expired(session: Session, at: datetime | None = None) -> int:
    """Tasks not submitted before their expiry go back to the pool. Reads only the expired
    ones (ix_tasks_assigned_expires_at), so it is cheap enough to run on every request."""
    at = at or now()
    ids = session.connection().execute(_EXPIRED, {"at": at}).scalars().all()
    if not ids:  # the usual answer: no objects loaded
        return 0
    expired = session.scalars(
        select(Task).where(Task.id.in_(ids)).execution_options(populate_existing=True)
    ).all()
    for task in expired:
        _release(session, task, "expired", None)
    return len(expired)


def _release(session: Session, task: Task, kind: str, reason: str | None) -> None:
    assert task.labeler_id is not None
    session.add(TaskRelease(task_id=task.id, labeler_id=task.labeler_id, kind=kind, reason=reason))
    # The next labeler starts blank: never shown someone else's draft.
    session.execute(delete(LabelerCritique).where(LabelerCritique.task_id == task.id))
    session.execute(delete(Rating).where(Rating.task_id == task.id))
    task.status = TaskStatus.pending
    task.labeler_id = None
    task.assigned_at = task.expires_at = task.opened_at = None
    task.first_edit_at = task.passage_revealed_at = None
    # Time is per labeler: the next one must not inherit this one's active time.
    task.active_time_s = None
    task.assistance_set_id = None
    session.flush()


@dataclass(frozen=True)
class _Condition:
    id: int
    experiment_id: int
    assist: bool
    seed: int
    expiry_s: int
    served: int  # the labeler's tasks in it, open or submitted
    check_rate: int  # gold checks per hundred tasks in its experiment (app/studies)


def _conditions(session: Session, labeler_id: int) -> list[_Condition]:
    """The conditions of the launched experiments the labeler is in, with how many of each
    the labeler holds or did: one query, a few rows per experiment."""
    rows = session.connection().execute(_CONDITIONS, {"labeler_id": labeler_id}).all()
    return [_Condition(*row) for row in rows]


_SERVED = (
    select(Task.condition_id, func.count().label("n"))
    .where(
        Task.labeler_id == bindparam("labeler_id"),
        Task.status.in_([TaskStatus.assigned, TaskStatus.submitted]),
    )
    .group_by(Task.condition_id)
    .subquery()
)
_CONDITIONS = (
    select(
        Condition.id,
        Condition.experiment_id,
        Condition.assist,
        Experiment.seed,
        Experiment.task_expiry_s,
        func.coalesce(_SERVED.c.n, 0),
        func.coalesce(ExperimentBriefing.check_rate_percent, 0),
    )
    .join(Experiment, Experiment.id == Condition.experiment_id)
    .join(ExperimentLabeler, ExperimentLabeler.experiment_id == Experiment.id)
    .outerjoin(_SERVED, _SERVED.c.condition_id == Condition.id)
    .outerjoin(ExperimentBriefing, ExperimentBriefing.experiment_id == Experiment.id)
    .where(
        ExperimentLabeler.user_id == bindparam("labeler_id"),
        Experiment.status == ExperimentStatus.launched,
    )
)


def _take(
    session: Session,
    labeler_id: int,
    cond: _Condition,
    model: str,
    version: str,
    postgres: bool,
) -> tuple[int, int, int | None] | None:
    """The first task of the condition, in its key order, that the labeler may take
    (passage unseen, assistance stored if the condition has it), locked, with its
    assistance set id. Walks ix_tasks_pending_order and stops at the first match: it reads
    the tasks it skips (passages this labeler saw, tasks held by concurrent requests, assist
    tasks whose assistance is still being made), never the whole pool."""
    query = _take_query(cond.assist, postgres)
    params = {"labeler_id": labeler_id, "condition_id": cond.id, "model": model, "version": version}
    row = session.connection().execute(query, params).first()
    return None if row is None else (row[0], row[1], row[2])


@lru_cache
def _take_query(assist: bool, postgres: bool) -> Select[tuple[int, int, int | None]]:
    """_take's statement, built once per shape (its cache key and SQL are then reused)."""
    seen = exists().where(
        PassageExposure.user_id == bindparam("labeler_id"),
        PassageExposure.passage_id == Task.passage_id,
    )
    assistance = (
        select(AssistanceSet.id)
        .where(
            AssistanceSet.answer_id == Task.answer_id,
            AssistanceSet.model_name == bindparam("model"),
            AssistanceSet.prompt_format == bindparam("version"),
        )
        .scalar_subquery()
    )
    base = select(Task.id, Task.passage_id, assistance if assist else literal(None)).where(
        Task.condition_id == bindparam("condition_id"), Task.status == TaskStatus.pending, ~seen
    )
    if assist:
        base = base.where(assistance.is_not(None))
    query = base.order_by(Task.order_key, Task.id).limit(1)
    if postgres:
        query = query.with_for_update(of=Task, skip_locked=True)
    return query


def _tie(cond: _Condition, labeler_id: int) -> str:
    return order_key(cond.seed, labeler_id, f"condition {cond.id}, served {cond.served}")


# The labeler's open task, and whether they take part in a study: one statement, read
# after the labeler's lock is granted (so a concurrent request's new task is seen).
_OPEN_TASK = select(
    select(Task.id)
    .where(Task.labeler_id == bindparam("labeler_id"), Task.status == TaskStatus.assigned)
    .limit(1)
    .scalar_subquery(),
    exists().where(StudyParticipant.user_id == bindparam("labeler_id")),
)


def next_task(session: Session, labeler_id: int) -> NextTask:
    _lock_labeler(session, labeler_id)
    release_expired(session)
    open_task, in_study = session.connection().execute(_OPEN_TASK, {"labeler_id": labeler_id}).one()
    if open_task is not None:
        return NextTask(open_task, resumed=True)
    conditions = _conditions(session, labeler_id)
    # Studies: onboarding and quota gates, and gold checks mixed in (app/studies/stream.py);
    # asked only of participants and of experiments with checks (no query otherwise).
    rates = sorted(
        {
            CheckRate(c.experiment_id, c.seed, c.expiry_s, c.check_rate)
            for c in conditions
            if c.check_rate
        },
        key=lambda r: r.experiment_id,
    )
    detour = stream.detour(session, labeler_id, in_study, rates) if in_study or rates else None
    if detour is not None:
        return NextTask(detour.task_id, reason=detour.reason)
    if not conditions:
        return _none("no_experiment")
    settings = get_settings()
    model, version = settings.model_name, prompt_format(settings.prompt_format).version
    postgres = session.get_bind().dialect.name == "postgresql"
    # Least served first; ties in an order drawn from the seed for this labeler and count.
    conditions.sort(key=lambda c: (c.served, _tie(c, labeler_id)))
    for cond in conditions:
        taken = _take(session, labeler_id, cond, model, version, postgres)
        if taken is not None:
            task_id, passage_id, assistance_set_id = taken
            _assign(session, task_id, passage_id, labeler_id, cond.expiry_s, assistance_set_id)
            return NextTask(task_id)
    return _why_none(session, labeler_id, conditions, model, version)


def _why_none(
    session: Session, labeler_id: int, conditions: list[_Condition], model: str, version: str
) -> NextTask:
    """Why no task could be taken (only asked when none could, so its cost is no worry)."""
    seen = exists().where(
        PassageExposure.user_id == labeler_id, PassageExposure.passage_id == Task.passage_id
    )
    ready = exists().where(
        AssistanceSet.answer_id == Task.answer_id,
        AssistanceSet.model_name == model,
        AssistanceSet.prompt_format == version,
    )
    pending = select(Task.id).where(
        Task.condition_id.in_([c.id for c in conditions]), Task.status == TaskStatus.pending
    )
    if session.scalar(pending.limit(1)) is None:
        return _none("all_done")
    unseen = pending.where(~seen)
    if session.scalar(unseen.limit(1)) is None:
        return _none("passage_rule")
    plain = [c.id for c in conditions if not c.assist]
    if session.scalar(unseen.where(Task.condition_id.in_(plain) | ready).limit(1)) is not None:
        return _none("busy")
    return _none("waiting_assistance")


def _assign(
    session: Session,
    task_id: int,
    passage_id: int,
    labeler_id: int,
    expiry_s: int,
    assistance_set_id: int | None,
) -> None:
    """Core statements: the task row is locked by _take, and no object is loaded for it."""
    at = now()
    conn = session.connection()
    conn.execute(
        _ASSIGN,
        {
            "task_id": task_id,
            "labeler_id": labeler_id,
            "at": at,
            "expires_at": at + timedelta(seconds=expiry_s),
            "set_id": assistance_set_id,
        },
    )
    held = session.identity_map.get(session.identity_key(Task, task_id))
    if held is not None:
        session.expire(held)  # a copy loaded earlier in this session reloads on next use
    conn.execute(
        _EXPOSE,
        {
            "user_id": labeler_id,
            "passage_id": passage_id,
            "reason": ExposureReason.task.value,
            "task_id": task_id,
        },
    )


_ASSIGN = (
    update(Task)
    .where(Task.id == bindparam("task_id"))
    .values(
        status=TaskStatus.assigned,
        labeler_id=bindparam("labeler_id"),
        assigned_at=bindparam("at"),
        expires_at=bindparam("expires_at"),
        assistance_set_id=bindparam("set_id"),
    )
)
_EXPOSE = insert(PassageExposure).values(
    user_id=bindparam("user_id"),
    passage_id=bindparam("passage_id"),
    reason=bindparam("reason"),
    task_id=bindparam("task_id"),
)


def _own_open_task(session: Session, labeler_id: int, task_id: int) -> Task:
    get_for_update(session, Task, task_id)  # serialised with the task's other writes
    task = get_owned(session, Task, task_id, "labeler_id", labeler_id, "task")
    if task.status != TaskStatus.assigned:
        raise Conflict(f"task {task_id} is {task.status}, not open")
    return task


def skip(session: Session, labeler_id: int, task_id: int, reason: str) -> None:
    """Give a task back with a reason; someone else gets it. The labeler has still seen the passage."""
    if not reason.strip():
        raise Conflict("say why you skip this task")
    _lock_labeler(session, labeler_id)
    _release(session, _own_open_task(session, labeler_id, task_id), "skipped", reason.strip()[:500])


def reassign(session: Session, task_id: int, by_admin: str) -> None:
    """An admin takes an open task back into the pool."""
    task = get_for_update(session, Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status != TaskStatus.assigned:
        raise Conflict(f"task {task_id} is {task.status}; only open tasks can be reassigned")
    _release(session, task, "reassigned", f"by {by_admin}")
