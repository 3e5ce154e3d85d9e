"""The integrity domain's queries: what the check reads, and exclusions."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import (
    AssistanceCritique,
    AssistanceSet,
    Condition,
    Exclusion,
    LabelerCritique,
    Task,
    TaskIntegrity,
    TaskProvenance,
    TaskStatus,
    User,
)


def tasks_to_check(
    session: Session, key: str, experiment_id: int | None, after: int, limit: int
) -> list[tuple[int, bool, int]]:
    """(task id, assist, answer id) of submitted tasks with no check made with `key`."""
    query = (
        select(Task.id, Condition.assist, Task.answer_id)
        .join(Condition, Condition.id == Task.condition_id)
        .outerjoin(TaskIntegrity, TaskIntegrity.task_id == Task.id)
        .where(
            Task.status == TaskStatus.submitted,
            Task.id > after,
            or_(TaskIntegrity.task_id.is_(None), TaskIntegrity.settings_key != key),
        )
        .order_by(Task.id)
        .limit(limit)
    )
    if experiment_id is not None:
        query = query.where(Task.experiment_id == experiment_id)
    return [(r[0], bool(r[1]), r[2]) for r in session.execute(query)]


def critique_texts(session: Session, task_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for task_id, cid, text in session.execute(
        select(LabelerCritique.task_id, LabelerCritique.id, LabelerCritique.text)
        .where(LabelerCritique.task_id.in_(task_ids))
        .order_by(LabelerCritique.task_id, LabelerCritique.position)
    ):
        out[task_id].append((cid, text))
    return out


def model_critiques(session: Session, answer_ids: set[int]) -> dict[int, list[tuple[int, str]]]:
    """Every stored model critique of each answer, whichever task showed it (if any)."""
    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if not answer_ids:
        return out
    for answer_id, cid, text in session.execute(
        select(AssistanceSet.answer_id, AssistanceCritique.id, AssistanceCritique.text)
        .join(AssistanceCritique, AssistanceCritique.assistance_set_id == AssistanceSet.id)
        .where(AssistanceSet.answer_id.in_(answer_ids))
        .order_by(AssistanceSet.id, AssistanceCritique.rank)
    ):
        out[answer_id].append((cid, text))
    return out


def provenance_of(
    session: Connection | Session, task_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    return {
        task_id: {"away_s": away, "departures": departures, "critiques": critiques}
        for task_id, away, departures, critiques in session.execute(
            select(
                TaskProvenance.task_id,
                TaskProvenance.away_s,
                TaskProvenance.departures,
                TaskProvenance.critiques,
            ).where(TaskProvenance.task_id.in_(task_ids))
        )
    }


def save_checks(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace checks; two refreshes at once both succeed (same result)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TaskIntegrity).values(rows)
    cols = ("settings_key", "flags", "evidence", "similarity", "computed_at")
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[TaskIntegrity.task_id],
            set_={c: getattr(stmt.excluded, c) for c in cols},
        )
    )


def active_exclusions(conn: Connection | Session, task_ids: Sequence[int]) -> dict[int, Any]:
    """Per task, the active exclusion that covers it (of the task, or of its labeler in
    its experiment): (exclusion id, reason, created_at, whose: "task" | "labeler")."""
    if not task_ids:
        return {}
    out: dict[int, Any] = {}
    rows = conn.execute(
        select(Task.id, Exclusion.id, Exclusion.reason, Exclusion.created_at, Exclusion.task_id)
        .join(
            Exclusion,
            and_(
                Exclusion.experiment_id == Task.experiment_id,
                or_(Exclusion.task_id == Task.id, Exclusion.labeler_id == Task.labeler_id),
            ),
        )
        .where(Task.id.in_(task_ids), Exclusion.lifted_at.is_(None))
        .order_by(Exclusion.id)
    )
    for task_id, eid, reason, at, on_task in rows:
        out.setdefault(task_id, (eid, reason, at, "task" if on_task is not None else "labeler"))
    return out


def experiment_checks(session: Session, experiment_id: int) -> list[Any]:
    """Each submitted task of the experiment with its labeler, condition and check."""
    return list(
        session.execute(
            select(
                Task.id,
                Task.labeler_id,
                User.username,
                Condition.source,
                Condition.assist,
                TaskIntegrity.flags,
                TaskIntegrity.evidence,
            )
            .join(Condition, Condition.id == Task.condition_id)
            .join(User, User.id == Task.labeler_id)
            .outerjoin(TaskIntegrity, TaskIntegrity.task_id == Task.id)
            .where(Task.experiment_id == experiment_id, Task.status == TaskStatus.submitted)
            .order_by(Task.id)
        )
    )


def exclusions_of(session: Session, experiment_id: int) -> list[Exclusion]:
    return list(
        session.scalars(
            select(Exclusion).where(Exclusion.experiment_id == experiment_id).order_by(Exclusion.id)
        )
    )
