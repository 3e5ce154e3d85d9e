"""What the dashboard shows: progress by condition, per-labeler work, open tasks."""

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Condition, Experiment, ExperimentLabeler, Task, TaskRelease, TaskStatus, User


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
