"""What the dashboard shows: progress by condition, per-labeler work, open tasks."""

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.models import (
    Condition,
    Experiment,
    ExperimentLabeler,
    PassageExposure,
    Task,
    TaskRelease,
    TaskStatus,
    User,
)


@dataclass
class ConditionProgress:
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class LabelerWork:
    username: str
    submitted: int
    open: int
    skipped: int
    median_s: float | None


def experiments(session: Session) -> Sequence[Experiment]:
    return session.scalars(select(Experiment).order_by(Experiment.id.desc())).all()


def by_condition(session: Session, exp_id: int) -> list[ConditionProgress]:
    conditions = session.scalars(
        select(Condition).where(Condition.experiment_id == exp_id).order_by(Condition.id)
    ).all()
    out = {c.id: ConditionProgress(c.name, {s.value: 0 for s in TaskStatus}) for c in conditions}
    for cond_id, status, n in session.execute(
        select(Task.condition_id, Task.status, func.count())
        .where(Task.experiment_id == exp_id)
        .group_by(Task.condition_id, Task.status)
    ):
        out[cond_id].counts[status] = n
    return list(out.values())


def labeler_work(session: Session, exp_id: int) -> list[LabelerWork]:
    pool = session.execute(
        select(User.id, User.username)
        .join(ExperimentLabeler, ExperimentLabeler.user_id == User.id)
        .where(ExperimentLabeler.experiment_id == exp_id)
        .order_by(User.username)
    ).all()
    durations: dict[int, list[float]] = defaultdict(list)
    open_counts: dict[int, int] = defaultdict(int)
    for labeler_id, status, assigned, opened, submitted in session.execute(
        select(
            Task.labeler_id, Task.status, Task.assigned_at, Task.opened_at, Task.submitted_at
        ).where(Task.experiment_id == exp_id, Task.labeler_id.is_not(None))
    ):
        if status == TaskStatus.submitted and submitted is not None:
            durations[labeler_id].append((submitted - (opened or assigned)).total_seconds())
        elif status == TaskStatus.assigned:
            open_counts[labeler_id] += 1
    skipped: dict[int, int] = dict(
        session.execute(
            select(TaskRelease.labeler_id, func.count())
            .join(Task, Task.id == TaskRelease.task_id)
            .where(Task.experiment_id == exp_id, TaskRelease.kind == "skipped")
            .group_by(TaskRelease.labeler_id)
        )
        .tuples()
        .all()
    )
    return [
        LabelerWork(
            username=name,
            submitted=len(durations[uid]),
            open=open_counts[uid],
            skipped=skipped.get(uid, 0),
            median_s=statistics.median(durations[uid]) if durations[uid] else None,
        )
        for uid, name in pool
    ]


def open_tasks(session: Session, exp_id: int, limit: int = 100) -> list[tuple[Task, str]]:
    rows = session.execute(
        select(Task, User.username)
        .join(User, User.id == Task.labeler_id)
        .where(Task.experiment_id == exp_id, Task.status == TaskStatus.assigned)
        .order_by(Task.assigned_at)
        .limit(limit)
    ).all()
    return [(t, name) for t, name in rows]


@dataclass(frozen=True)
class LabelerProgress:
    """One labeler's place in one experiment. A labeler reads each passage once, so what is
    left for them is at most the passages with a task still in the pool that they have not
    read (fewer if others take those tasks first)."""

    experiment_id: int
    name: str
    status: str
    done: int
    open: int
    left_for_you: int


def for_labeler(
    session: Session, labeler_id: int, experiment_id: int | None = None
) -> list[LabelerProgress]:
    """The labeler's experiments (or one of them), newest first: three grouped queries."""
    mine = (
        select(Experiment.id, Experiment.name, Experiment.status)
        .join(ExperimentLabeler, ExperimentLabeler.experiment_id == Experiment.id)
        .where(ExperimentLabeler.user_id == labeler_id)
        .order_by(Experiment.id.desc())
    )
    if experiment_id is not None:
        mine = mine.where(Experiment.id == experiment_id)
    experiments = session.execute(mine).all()
    ids = [e.id for e in experiments]
    if not ids:
        return []
    counts: dict[tuple[int, str], int] = {
        (exp_id, status): n
        for exp_id, status, n in session.execute(
            select(Task.experiment_id, Task.status, func.count())
            .where(Task.labeler_id == labeler_id, Task.experiment_id.in_(ids))
            .group_by(Task.experiment_id, Task.status)
        ).tuples()
    }
    seen = exists().where(
        PassageExposure.user_id == labeler_id, PassageExposure.passage_id == Task.passage_id
    )
    left: dict[int, int] = dict(
        session.execute(
            select(Task.experiment_id, func.count(func.distinct(Task.passage_id)))
            .where(Task.experiment_id.in_(ids), Task.status == TaskStatus.pending, ~seen)
            .group_by(Task.experiment_id)
        )
        .tuples()
        .all()
    )
    return [
        LabelerProgress(
            exp_id,
            name,
            status,
            counts.get((exp_id, TaskStatus.submitted), 0),
            counts.get((exp_id, TaskStatus.assigned), 0),
            left.get(exp_id, 0),
        )
        for exp_id, name, status in experiments
    ]


def for_task(session: Session, labeler_id: int, task_id: int) -> LabelerProgress | None:
    """The labeler's progress in the experiment of one of their tasks."""
    exp_id = session.scalar(select(Task.experiment_id).where(Task.id == task_id))
    found = [] if exp_id is None else for_labeler(session, labeler_id, exp_id)
    return found[0] if found else None
