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

Concurrency: the labeler's own row is locked first (FOR UPDATE on PostgreSQL; on SQLite a
write, which takes the database's single write lock), so one labeler's requests run one at
a time; a candidate task is then locked with SKIP LOCKED, so two labelers never take the
same task and never wait on each other.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, func, select, update
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


def now() -> datetime:
    return datetime.now(UTC)


def _lock_labeler(session: Session, labeler_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(User.id).where(User.id == labeler_id).with_for_update())
    else:
        session.execute(
            update(User).where(User.id == labeler_id).values(token_version=User.token_version)
        )


def order_key(seed: int, labeler_id: int, task_id: int) -> str:
    return hashlib.sha256(f"{seed}:{labeler_id}:{task_id}".encode()).hexdigest()


def release_expired(session: Session, at: datetime | None = None) -> int:
    """Tasks not submitted before their expiry go back to the pool."""
    at = at or now()
    expired = session.scalars(
        select(Task)
        .where(Task.status == TaskStatus.assigned, Task.expires_at < at)
        .with_for_update(skip_locked=True)
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
    task.assistance_set_id = None
    session.flush()


def next_task(session: Session, labeler_id: int) -> NextTask:
    _lock_labeler(session, labeler_id)
    release_expired(session)
    open_task = session.scalar(
        select(Task.id)
        .where(Task.labeler_id == labeler_id, Task.status == TaskStatus.assigned)
        .limit(1)
    )
    if open_task is not None:
        return NextTask(open_task, resumed=True)

    experiments = session.execute(
        select(Experiment.id, Experiment.seed, Experiment.task_expiry_s)
        .join(ExperimentLabeler, ExperimentLabeler.experiment_id == Experiment.id)
        .where(
            ExperimentLabeler.user_id == labeler_id, Experiment.status == ExperimentStatus.launched
        )
    ).all()
    if not experiments:
        return NextTask(None, reason="no running experiment includes you")
    settings = get_settings()
    model, version = settings.model_name, prompt_format(settings.prompt_format).version
    seen = exists().where(
        PassageExposure.user_id == labeler_id, PassageExposure.passage_id == Task.passage_id
    )
    assistance_ready = exists().where(
        AssistanceSet.answer_id == Task.answer_id,
        AssistanceSet.model_name == model,
        AssistanceSet.prompt_format == version,
    )
    candidates = session.execute(
        select(Task.id, Task.experiment_id, Task.condition_id, Condition.assist)
        .join(Condition, Condition.id == Task.condition_id)
        .where(
            Task.experiment_id.in_([e.id for e in experiments]),
            Task.status == TaskStatus.pending,
            ~seen,
            (Condition.assist.is_(False)) | assistance_ready,
        )
    ).all()
    if not candidates:
        waiting = session.scalar(
            select(func.count())
            .select_from(Task)
            .join(Condition, Condition.id == Task.condition_id)
            .where(
                Task.experiment_id.in_([e.id for e in experiments]),
                Task.status == TaskStatus.pending,
                ~seen,
            )
        )
        if waiting:
            return NextTask(
                None,
                reason="your next tasks are waiting for their model assistance; try again shortly",
            )
        return NextTask(
            None,
            reason="no tasks left for you: you have seen every remaining passage, or all are done",
        )

    served: dict[int, int] = dict(
        session.execute(
            select(Task.condition_id, func.count())
            .where(
                Task.labeler_id == labeler_id,
                Task.status.in_([TaskStatus.assigned, TaskStatus.submitted]),
            )
            .group_by(Task.condition_id)
        )
        .tuples()
        .all()
    )
    by_exp = {e.id: e for e in experiments}
    ranked = sorted(
        candidates,
        key=lambda c: (
            served.get(c.condition_id, 0),
            order_key(by_exp[c.experiment_id].seed, labeler_id, c.id),
        ),
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    for cand in ranked:
        query = select(Task).where(Task.id == cand.id, Task.status == TaskStatus.pending)
        task = session.scalar(query.with_for_update(skip_locked=True) if postgres else query)
        if task is None:
            continue  # another labeler holds it this instant
        _assign(
            session,
            task,
            labeler_id,
            by_exp[cand.experiment_id].task_expiry_s,
            model,
            version,
            cand.assist,
        )
        return NextTask(task.id)
    return NextTask(
        None, reason="every task you could take is being handed to someone else; try again"
    )


def _assign(
    session: Session,
    task: Task,
    labeler_id: int,
    expiry_s: int,
    model: str,
    version: str,
    assist: bool,
) -> None:
    at = now()
    task.status = TaskStatus.assigned
    task.labeler_id = labeler_id
    task.assigned_at = at
    task.expires_at = at + timedelta(seconds=expiry_s)
    if assist:
        task.assistance_set_id = session.scalar(
            select(AssistanceSet.id).where(
                AssistanceSet.answer_id == task.answer_id,
                AssistanceSet.model_name == model,
                AssistanceSet.prompt_format == version,
            )
        )
    session.add(
        PassageExposure(
            user_id=labeler_id,
            passage_id=task.passage_id,
            reason=ExposureReason.task,
            task_id=task.id,
        )
    )
    session.flush()


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
