"""A labeler's work on a task: draft critiques and rating, saved as they change, then submit.

Submitting is all or nothing, and submitting twice stores the task once.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.core.locking import get_for_update
from app.core.settings import get_settings
from app.integrity import provenance
from app.integrity.schemas import ProvenanceIn
from app.labeling.edits import edit_distance
from app.labeling.schemas import CritiqueIn, SubmitIn
from app.models import (
    AssistanceCritique,
    Category,
    Experiment,
    ExperimentStatus,
    LabelerCritique,
    Rating,
    Task,
    TaskStatus,
)
from app.models.base import utcnow as now
from app.review import service as reviews

_LOCKED = "critiquelab_locked_tasks"


def lock_task(session: Session, task_id: int) -> Task | None:
    """Every write to a task starts here: writes to one task run one at a time, each
    seeing what the previous one committed (two submits, eight critique adds at once).

    A task already locked in this transaction is not read again: nobody else can have
    changed it since, so the session's copy is current (a submit locks once, not once per
    critique)."""
    locked: dict[int, tuple[object, Task]] = session.info.setdefault(_LOCKED, {})
    transaction = session.get_transaction()
    held = locked.get(task_id)
    if (
        held is not None
        and transaction is not None
        and held[0] is transaction
        and held[1] in session
    ):
        return held[1]
    task = get_for_update(session, Task, task_id)
    if task is not None:
        locked.clear()  # entries of earlier transactions
        locked[task_id] = (session.get_transaction(), task)  # a strong reference
    return task


def open_task(session: Session, labeler_id: int, task_id: int) -> Task:
    """The labeler's task, locked and open for edits; a clear error for a stale, foreign or
    closed one."""
    task = lock_task(session, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.labeler_id != labeler_id:
        if task.status == TaskStatus.pending:
            raise Conflict(f"task {task_id} is no longer yours: it expired or was reassigned")
        raise Forbidden("this task is not yours")
    if task.status == TaskStatus.submitted:
        raise Conflict(f"task {task_id} is already submitted")
    if task.expires_at is not None and task.expires_at < now():
        raise Conflict(f"task {task_id} expired; ask for your next task")
    return task


def _touch(task: Task) -> None:
    at = now()
    task.opened_at = task.opened_at or at
    task.first_edit_at = task.first_edit_at or at


def _check_assistance(session: Session, task: Task, assistance_critique_id: int | None) -> None:
    if assistance_critique_id is None:
        return
    item = session.get(AssistanceCritique, assistance_critique_id)
    if (
        item is None
        or task.assistance_set_id is None
        or item.assistance_set_id != task.assistance_set_id
    ):
        raise AppError(
            "that model critique was not shown on this task", field="assistance_critique_id"
        )


def critiques_of(session: Session, task_id: int) -> list[LabelerCritique]:
    return list(
        session.scalars(
            select(LabelerCritique)
            .where(LabelerCritique.task_id == task_id)
            .order_by(LabelerCritique.position)
        )
    )


def add_critique(
    session: Session, labeler_id: int, task_id: int, data: CritiqueIn
) -> LabelerCritique:
    task = open_task(session, labeler_id, task_id)
    _check_assistance(session, task, data.assistance_critique_id)
    count, last = session.execute(
        select(func.count(), func.max(LabelerCritique.position)).where(
            LabelerCritique.task_id == task.id
        )
    ).one()
    limit = get_settings().max_critiques_per_task
    if count >= limit:
        raise Invalid(f"a task holds at most {limit} critiques", field="critiques")
    position = (last or 0) + 1
    critique = LabelerCritique(task_id=task.id, position=position, **data.model_dump())
    critique.category = data.category.value
    session.add(critique)
    _touch(task)
    session.flush()
    return critique


def update_critique(
    session: Session,
    labeler_id: int,
    task_id: int,
    critique_id: int,
    data: CritiqueIn,
    report: ProvenanceIn | None = None,
) -> LabelerCritique:
    task = open_task(session, labeler_id, task_id)
    critique = session.get(LabelerCritique, critique_id)
    if critique is None or critique.task_id != task.id:
        raise NotFound(f"no critique {critique_id} on task {task_id}")
    # Which model critique it came from is fixed at creation: an edit that does not name
    # the link keeps it (the page's autosave sends only the labeler's fields).
    if data.assistance_critique_id is not None:
        _check_assistance(session, task, data.assistance_critique_id)
    for key, value in data.model_dump(exclude={"assistance_critique_id"}).items():
        setattr(critique, key, value)
    critique.category = data.category.value
    if data.assistance_critique_id is not None:
        critique.assistance_critique_id = data.assistance_critique_id
    _touch(task)
    provenance.record(session, task, report)  # the page's counts ride on its autosave
    session.flush()
    return critique


def delete_critique(session: Session, labeler_id: int, task_id: int, critique_id: int) -> None:
    task = open_task(session, labeler_id, task_id)
    critique = session.get(LabelerCritique, critique_id)
    if critique is None or critique.task_id != task.id:
        raise NotFound(f"no critique {critique_id} on task {task_id}")
    session.delete(critique)
    _touch(task)
    session.flush()


RATING_RANGE = range(1, 8)  # the paper's 1-7 Likert scale, 7 = perfect


def set_rating(session: Session, labeler_id: int, task_id: int, value: int) -> Rating:
    if value not in RATING_RANGE:
        raise AppError("the rating is 1 to 7", field="rating")
    task = open_task(session, labeler_id, task_id)
    rating = session.get(Rating, task.id)
    if rating is None:
        rating = Rating(task_id=task.id, value=value)
        session.add(rating)
    rating.value = value
    _touch(task)
    session.flush()
    return rating


def submit(session: Session, labeler_id: int, task_id: int, body: SubmitIn) -> Task:
    task = lock_task(session, task_id)
    if task is not None and task.status == TaskStatus.submitted and task.labeler_id == labeler_id:
        return task  # submitting twice stores it once
    task = open_task(session, labeler_id, task_id)
    if body.critiques is not None:
        critiques = _replace_critiques(session, task, body.critiques)
    else:
        critiques = critiques_of(session, task.id)
    if body.rating is not None:
        rating: Rating | None = set_rating(session, labeler_id, task.id, body.rating)
    else:
        rating = session.get(Rating, task.id)
    if rating is None:
        raise AppError("rate the answer from 1 to 7 before submitting", field="rating")
    if not critiques and not body.confirm_no_critiques:
        raise AppError(
            "no critiques: confirm that the answer has no flaw you can name",
            field="confirm_no_critiques",
        )
    used = {c.assistance_critique_id for c in critiques} - {None}
    if used:
        shown = dict(
            session.execute(
                select(AssistanceCritique.id, AssistanceCritique.text).where(
                    AssistanceCritique.id.in_(used)
                )
            )
            .tuples()
            .all()
        )
        for critique in critiques:
            if critique.assistance_critique_id is not None:
                critique.edit_distance = edit_distance(
                    shown[critique.assistance_critique_id], critique.text
                )
                critique.edited = critique.edit_distance > 0
    provenance.record(session, task, body.provenance)  # issue 21; nothing when absent
    at = now()
    task.opened_at = task.opened_at or task.assigned_at or at
    task.status = TaskStatus.submitted
    task.submitted_at = at
    session.flush()
    reviews.open_if_done(session, task)
    _complete_if_done(session, task)  # last: it holds the experiment's row lock till commit
    return task


def _replace_critiques(
    session: Session, task: Task, new: list[CritiqueIn]
) -> list[LabelerCritique]:
    """Submit's critiques replace the draft: one delete, one batched insert."""
    used = {c.assistance_critique_id for c in new} - {None}
    if used:
        known = set(
            session.scalars(
                select(AssistanceCritique.id).where(
                    AssistanceCritique.id.in_(used),
                    AssistanceCritique.assistance_set_id == task.assistance_set_id,
                )
            )
        )
        if task.assistance_set_id is None or used - known:
            raise AppError(
                "that model critique was not shown on this task", field="assistance_critique_id"
            )
    session.execute(
        delete(LabelerCritique)
        .where(LabelerCritique.task_id == task.id)
        .execution_options(synchronize_session="fetch")
    )
    critiques = []
    for position, data in enumerate(new, 1):
        critique = LabelerCritique(task_id=task.id, position=position, **data.model_dump())
        critique.category = data.category.value
        critiques.append(critique)
    session.add_all(critiques)
    if critiques:
        _touch(task)
    session.flush()
    return critiques


def _complete_if_done(session: Session, task: Task) -> None:
    # Locked before looking, so of two last submits landing together the second sees the
    # first and completes the experiment (without it, each sees the other still open).
    # FOR NO KEY UPDATE: it serialises submits, yet leaves the row free to foreign-key
    # checks. One indexed probe for a task still open, never a count of all of them.
    lock = select(Experiment).where(Experiment.id == task.experiment_id)
    if session.get_bind().dialect.name == "postgresql":
        lock = lock.with_for_update(key_share=True)
    exp = session.scalar(lock.execution_options(populate_existing=True))
    if exp is None or exp.status != ExperimentStatus.launched:
        return
    left = session.scalar(
        select(Task.id)
        .where(
            Task.experiment_id == task.experiment_id,
            Task.status.in_([TaskStatus.pending, TaskStatus.assigned]),
        )
        .limit(1)
    )
    if left is None:
        exp.status = ExperimentStatus.completed
        session.flush()


ACTIVITY_PING_MAX_S = 30.0


def mark_opened(session: Session, labeler_id: int, task_id: int) -> None:
    task = open_task(session, labeler_id, task_id)
    task.opened_at = task.opened_at or now()
    session.flush()


def mark_passage_revealed(session: Session, labeler_id: int, task_id: int) -> None:
    task = open_task(session, labeler_id, task_id)
    task.passage_revealed_at = task.passage_revealed_at or now()
    session.flush()


def add_active_time(session: Session, labeler_id: int, task_id: int, seconds: float) -> None:
    """The page pings while the labeler is active; each ping counts at most 30 s."""
    task = open_task(session, labeler_id, task_id)
    task.active_time_s = (task.active_time_s or 0.0) + max(0.0, min(seconds, ACTIVITY_PING_MAX_S))
    session.flush()


def use_assistance(
    session: Session, labeler_id: int, task_id: int, assistance_critique_id: int
) -> LabelerCritique:
    """The "use" button: a new critique prefilled with the model's text, linked to it."""
    item = session.get(AssistanceCritique, assistance_critique_id)
    if item is None:
        raise NotFound(f"no model critique {assistance_critique_id}")
    data = CritiqueIn(
        text=item.text, severity=2, category=Category.accuracy, assistance_critique_id=item.id
    )
    return add_critique(session, labeler_id, task_id, data)


@dataclass(frozen=True)
class LabelerHome:
    done: int
    open_task_id: int | None


def labeler_home(session: Session, labeler_id: int) -> LabelerHome:
    """What the labeler's home page counts: tasks submitted, and the open one if any."""
    done = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.labeler_id == labeler_id, Task.status == TaskStatus.submitted)
    )
    open_id = session.scalar(
        select(Task.id)
        .where(Task.labeler_id == labeler_id, Task.status == TaskStatus.assigned)
        .limit(1)
    )
    return LabelerHome(done=done or 0, open_task_id=open_id)
