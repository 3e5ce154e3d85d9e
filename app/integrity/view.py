"""What the admin's integrity page shows: flags per condition, per labeler and per task,
with their evidence, and the exclusions (who, when, why)."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.experiments import design
from app.integrity import repository as repo
from app.integrity.flags import FLAG_TITLES, Flag, Thresholds
from app.models import Experiment, User


@dataclass
class ConditionRow:
    condition: str
    tasks: int = 0
    flagged: int = 0
    excluded: int = 0


@dataclass
class LabelerRow:
    labeler_id: int
    username: str
    tasks: int = 0
    flagged: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    exclusion_id: int | None = None


@dataclass(frozen=True)
class TaskRow:
    task_id: int
    username: str
    condition: str
    flags: list[str]
    evidence: dict[str, Any]
    exclusion_id: int | None
    excluded_as: str | None  # "task" or "labeler"


@dataclass(frozen=True)
class ExclusionRow:
    id: int
    what: str
    reason: str
    by: str
    at: str
    lifted: str | None


@dataclass(frozen=True)
class IntegrityView:
    exp: Experiment
    thresholds: Thresholds
    conditions: list[ConditionRow]
    labelers: list[LabelerRow]
    tasks: list[TaskRow]  # flagged or excluded
    exclusions: list[ExclusionRow]
    titles: dict[str, str]


def experiment_view(session: Session, exp_id: int) -> IntegrityView:
    exp = design.get(session, exp_id)
    rows = repo.experiment_checks(session, exp_id)
    excluded = repo.active_exclusions(session, [r[0] for r in rows])
    conditions: dict[str, ConditionRow] = {}
    labelers: dict[int, LabelerRow] = {}
    tasks = []
    for task_id, labeler_id, username, source, assist, flags, evidence in rows:
        name = f"{source}/{'assist' if assist else 'no_assist'}"
        cond = conditions.setdefault(name, ConditionRow(name))
        lab = labelers.setdefault(labeler_id, LabelerRow(labeler_id, username))
        ex = excluded.get(task_id)
        flags = flags or []
        cond.tasks += 1
        lab.tasks += 1
        cond.flagged += bool(flags)
        cond.excluded += ex is not None
        lab.flagged += bool(flags)
        lab.flags.update(flags)
        if ex is not None and ex[3] == "labeler":
            lab.exclusion_id = ex[0]
        if flags or ex is not None:
            tasks.append(
                TaskRow(
                    task_id,
                    username,
                    name,
                    flags,
                    evidence or {},
                    None if ex is None else ex[0],
                    None if ex is None else ex[3],
                )
            )
    return IntegrityView(
        exp=exp,
        thresholds=Thresholds.from_settings(get_settings()),
        conditions=sorted(conditions.values(), key=lambda c: c.condition),
        labelers=sorted(labelers.values(), key=lambda r: (-r.flagged, r.username)),
        tasks=tasks,
        exclusions=_exclusions(session, exp_id),
        titles={str(f): FLAG_TITLES[f] for f in Flag},
    )


def _exclusions(session: Session, exp_id: int) -> list[ExclusionRow]:
    out = []
    names: dict[int | None, str] = {}

    def name(user_id: int | None) -> str:
        if user_id not in names:
            user = session.get(User, user_id) if user_id is not None else None
            names[user_id] = user.username if user is not None else "?"
        return names[user_id]

    for e in repo.exclusions_of(session, exp_id):
        what = f"task {e.task_id}" if e.task_id is not None else f"labeler {name(e.labeler_id)}"
        lifted = None
        if e.lifted_at is not None:
            lifted = f"{e.lifted_at:%Y-%m-%d %H:%M} by {name(e.lifted_by_id)}"
        out.append(
            ExclusionRow(
                e.id,
                what,
                e.reason,
                name(e.excluded_by_id),
                f"{e.created_at:%Y-%m-%d %H:%M}",
                lifted,
            )
        )
    return out
