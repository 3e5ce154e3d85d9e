"""A labeler's work on a task: draft critiques and rating, saved as they change, then submit.

Submitting is all or nothing, and submitting twice stores the task once.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Insert, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict, Forbidden, Invalid, NotFound
from app.core.locking import get_for_update
from app.core.settings import get_settings
from app.integrity import provenance
from app.integrity.schemas import ProvenanceIn
from app.labeling import quotes
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
    _shown_texts(session, task, {assistance_critique_id})


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
    quotes.check_quote(session, task, data)
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
    for key, value in data.model_dump(
        exclude={"assistance_critique_id", *quotes.QUOTE_FIELDS}
    ).items():
        setattr(critique, key, value)
    quotes.update_quote(session, task, critique, data)
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
    """All or nothing, in one transaction under the task's row lock. The hot path of the
    labeler loop (issue 12): Core statements for the critiques and the rating, and the
    task's own changes written by one UPDATE at the end."""
    task = lock_task(session, task_id)
    if task is not None and task.status == TaskStatus.submitted and task.labeler_id == labeler_id:
        return task  # submitting twice stores it once
    task = open_task(session, labeler_id, task_id)
    _forget_drafts(session, task.id)  # before the Core writes below
    if body.critiques is not None:
        count = _replace_critiques(session, task, body.critiques)
    else:
        count = _score_draft_critiques(session, task)
    if body.rating is not None:
        _upsert_rating(session, task, body.rating)
    elif session.connection().execute(_RATING, {"task_id": task.id}).first() is None:
        raise AppError("rate the answer from 1 to 7 before submitting", field="rating")
    if not count and not body.confirm_no_critiques:
        raise AppError(
            "no critiques: confirm that the answer has no flaw you can name",
            field="confirm_no_critiques",
        )
    if body.rating is not None or (body.critiques and count):
        _touch(task)  # written with the task's other changes, by the one UPDATE below
    provenance.record(session, task, body.provenance)  # issue 21; nothing when absent
    at = now()
    task.opened_at = task.opened_at or task.assigned_at or at
    task.status = TaskStatus.submitted
    task.submitted_at = at
    session.flush()
    reviews.open_if_done(session, task)
    _complete_if_done(session, task)  # last: it holds the experiment's row lock till commit
    return task


_RATING = select(Rating.value).where(Rating.task_id == bindparam("task_id"))
_SHOWN = select(AssistanceCritique.id, AssistanceCritique.text).where(
    AssistanceCritique.id.in_(bindparam("ids", expanding=True)),
    AssistanceCritique.assistance_set_id == bindparam("set_id"),
)
_DELETE_CRITIQUES = delete(LabelerCritique).where(LabelerCritique.task_id == bindparam("task_id"))


def _shown_texts(session: Session, task: Task, links: set[int | None]) -> dict[int, str]:
    """The texts of the model critiques linked to, all shown on this task (else 422)."""
    used = {link for link in links if link is not None}
    if not used:
        return {}
    shown: dict[int, str] = {}
    if task.assistance_set_id is not None:
        params = {"ids": sorted(used), "set_id": task.assistance_set_id}
        shown = dict(session.connection().execute(_SHOWN, params).tuples().all())
    if used - shown.keys():
        raise AppError(
            "that model critique was not shown on this task", field="assistance_critique_id"
        )
    return shown


def _replace_critiques(session: Session, task: Task, new: list[CritiqueIn]) -> int:
    """Submit's critiques replace the draft: one delete, one batched insert (Core: no
    objects to track), each linked one scored by its edit distance to the model's text.
    The caller has flushed and forgotten the session's drafts (_forget_drafts)."""
    shown = _shown_texts(session, task, {c.assistance_critique_id for c in new})
    quotes.check_quotes(session, task, new)
    rows = []
    for position, data in enumerate(new, 1):
        row = {"task_id": task.id, "position": position, **data.model_dump()}
        row["category"] = data.category.value
        # Every row names the same columns: an executemany INSERT takes its columns from the
        # first row, so a key only some rows carry would be dropped silently.
        row.update(edit_distance=None, edited=None)
        if data.assistance_critique_id is not None:
            distance = edit_distance(shown[data.assistance_critique_id], data.text)
            row.update(edit_distance=distance, edited=distance > 0)
        rows.append(row)
    conn = session.connection()
    conn.execute(_DELETE_CRITIQUES, {"task_id": task.id})
    if rows:
        conn.execute(insert(LabelerCritique), rows)
    return len(rows)


def _forget_drafts(session: Session, task_id: int) -> None:
    """The Core writes of submit bypass the session: copies of the task's draft critiques and
    rating loaded earlier in this session must not be used (or written back) stale. Their
    pending changes (a draft critique's edit distance) are written first, not dropped."""
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, LabelerCritique | Rating) and obj.task_id == task_id:
            if isinstance(obj, LabelerCritique):
                session.expunge(obj)
            else:
                session.expire(obj)


def _score_draft_critiques(session: Session, task: Task) -> int:
    """Submit without critiques keeps the draft's: each linked one gets its edit distance."""
    critiques = critiques_of(session, task.id)
    shown = _shown_texts(session, task, {c.assistance_critique_id for c in critiques})
    for critique in critiques:
        if critique.assistance_critique_id is not None:
            critique.edit_distance = edit_distance(
                shown[critique.assistance_critique_id], critique.text
            )
            critique.edited = critique.edit_distance > 0
    return len(critiques)


def _upsert_rating(session: Session, task: Task, value: int) -> None:
    """One statement whether or not a draft rating exists (after _forget_drafts)."""
    stmt = _rating_upsert(session.get_bind().dialect.name)
    session.connection().execute(stmt, {"task_id": task.id, "value": value})


@lru_cache
def _rating_upsert(dialect: str) -> Insert:
    """_upsert_rating's statement, built once per dialect."""
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = upsert(Rating).values(task_id=bindparam("task_id"), value=bindparam("value"))
    return stmt.on_conflict_do_update(
        index_elements=[Rating.task_id],
        set_={"value": stmt.excluded.value, "updated_at": func.now()},
    )


def _complete_if_done(session: Session, task: Task) -> None:
    # Locked before looking, so of two last submits landing together the second sees the
    # first and completes the experiment (without it, each sees the other still open).
    # FOR NO KEY UPDATE: it serialises submits, yet leaves the row free to foreign-key
    # checks. One indexed probe for a task still open (its own statement: it must read
    # after the lock is granted), never a count of all of them.
    postgres = session.get_bind().dialect.name == "postgresql"
    conn = session.connection()
    params = {"experiment_id": task.experiment_id}
    status = conn.execute(_EXPERIMENT_LOCK if postgres else _EXPERIMENT, params).scalar()
    if status != ExperimentStatus.launched:
        return
    if conn.execute(_OPEN_TASK, params).first() is None:
        conn.execute(
            update(Experiment)
            .where(Experiment.id == task.experiment_id)
            .values(status=ExperimentStatus.completed)
        )
        held = session.identity_map.get(session.identity_key(Experiment, task.experiment_id))
        if held is not None:
            session.expire(held)  # the session's copy must not keep the old status


_EXPERIMENT = select(Experiment.status).where(Experiment.id == bindparam("experiment_id"))
_EXPERIMENT_LOCK = _EXPERIMENT.with_for_update(key_share=True)
_OPEN_TASK = (
    select(Task.id)
    .where(
        Task.experiment_id == bindparam("experiment_id"),
        Task.status.in_([TaskStatus.pending, TaskStatus.assigned]),
    )
    .limit(1)
)


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
