"""The integrity check (lazy: the export and the admin page make what is missing, never the
submit) and the admin's exclusions."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import AppError, Conflict, NotFound
from app.core.settings import get_settings
from app.integrity import repository as repo
from app.integrity.flags import TaskFacts, Thresholds, check
from app.integrity.similarity import closest
from app.models import Exclusion, Experiment, Task, TaskStatus
from app.models.base import utcnow

BATCH = 2000


def refresh(session: Session, experiment_id: int | None = None) -> int:
    """Check every submitted task not yet checked with the current thresholds; returns how
    many were checked. A submitted task never changes, so a check is made once."""
    th = Thresholds.from_settings(get_settings())
    key = th.key()
    done = after = 0
    while rows := repo.tasks_to_check(session, key, experiment_id, after, BATCH):
        task_ids = [r[0] for r in rows]
        texts = repo.critique_texts(session, task_ids)
        models = repo.model_critiques(session, {r[2] for r in rows})
        prov = repo.provenance_of(session, task_ids)
        at = utcnow()
        out = []
        for task_id, assist, answer_id in rows:
            near = {cid: closest(text, models.get(answer_id, [])) for cid, text in texts[task_id]}
            flags, evidence = check(TaskFacts(assist, prov.get(task_id), near), th)
            similarity = {
                str(cid): None
                if c is None
                else {"model_critique_id": c.model_critique_id, "similarity": c.similarity}
                for cid, c in near.items()
            }
            out.append(
                {
                    "task_id": task_id,
                    "settings_key": key,
                    "flags": flags,
                    "evidence": evidence,
                    "similarity": similarity,
                    "computed_at": at,
                }
            )
        repo.save_checks(session, out)
        done += len(rows)
        after = task_ids[-1]
    session.flush()
    return done


def refresh_now(experiment_id: int | None = None) -> int:
    """refresh() in its own writing transaction: for read-only requests and commands
    (the export, the admin page) before they read."""
    with session_scope() as session:
        return refresh(session, experiment_id)


def refresh_before_reading(session: Session, experiment_id: int | None = None) -> int:
    """refresh_now() for a request that has already read in `session` (authentication
    does): its transaction ends, so the reads that follow see the checks just committed
    (SQLite reads the snapshot a transaction began with)."""
    done = refresh_now(experiment_id)
    session.rollback()
    return done


def exclude_task(
    session: Session, admin_id: int, task_id: int, reason: str, experiment_id: int | None = None
) -> Exclusion:
    task = session.get(Task, task_id)
    if task is None or experiment_id not in (None, task.experiment_id):
        raise AppError(f"no task {task_id} in this experiment", field="task_id")
    if task.status != TaskStatus.submitted:
        raise AppError(
            f"task {task_id} is not submitted; only results are excluded", field="task_id"
        )
    if repo.active_exclusions(session, [task_id]):
        raise Conflict(f"task {task_id} is already excluded")
    return _add(
        session, Exclusion(experiment_id=task.experiment_id, task_id=task_id), admin_id, reason
    )


def exclude_labeler(
    session: Session, admin_id: int, experiment_id: int, labeler_id: int, reason: str
) -> Exclusion:
    if session.get(Experiment, experiment_id) is None:
        raise NotFound(f"no experiment {experiment_id}")
    held = session.scalar(
        select(Task.id)
        .where(Task.experiment_id == experiment_id, Task.labeler_id == labeler_id)
        .limit(1)
    )
    if held is None:
        raise AppError(
            f"labeler {labeler_id} has no task in experiment {experiment_id}", field="labeler_id"
        )
    active = session.scalar(
        select(Exclusion.id).where(
            Exclusion.experiment_id == experiment_id,
            Exclusion.labeler_id == labeler_id,
            Exclusion.lifted_at.is_(None),
        )
    )
    if active is not None:
        raise Conflict(f"labeler {labeler_id} is already excluded from experiment {experiment_id}")
    row = Exclusion(experiment_id=experiment_id, labeler_id=labeler_id)
    return _add(session, row, admin_id, reason)


def _add(session: Session, row: Exclusion, admin_id: int, reason: str) -> Exclusion:
    if not reason.strip():
        raise AppError("say why (the reason is recorded with the exclusion)", field="reason")
    row.reason = reason.strip()
    row.excluded_by_id = admin_id
    session.add(row)
    session.flush()
    return row


def no_target() -> None:
    raise AppError("name a task or a labeler to exclude", field="task_id")


def lift(session: Session, admin_id: int, exclusion_id: int) -> Exclusion:
    row = session.get(Exclusion, exclusion_id)
    if row is None:
        raise NotFound(f"no exclusion {exclusion_id}")
    if row.lifted_at is not None:
        raise Conflict(f"exclusion {exclusion_id} was already lifted")
    row.lifted_at = utcnow()
    row.lifted_by_id = admin_id
    session.flush()
    return row
