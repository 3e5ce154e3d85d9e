"""Each labeler's quality on an experiment, for the admin: gold check results (the known
flaws found), median time per task, and flags for outliers. Exclusion itself is decided
elsewhere (app/integrity); this only shows the data."""

from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import IntendedCritique, LabelerCritique, Rating, Task, TaskStatus, User
from app.models.studies import CheckTask, ParticipantAccount

# A labeler critique "finds" an intended critique when their words overlap this much
# (rapidfuzz token_set_ratio, 0-100). A screen, not a verdict: the author's review of the
# critiques (app/review) is the real judgement.
FOUND_SIMILARITY = 60
# Flags need this many submitted tasks, so one quick task flags nobody.
MIN_TASKS_FOR_FLAGS = 3
# Too fast: a median time per task under this share of the experiment's median.
TOO_FAST_SHARE = 0.33


@dataclass(frozen=True)
class LabelerQuality:
    labeler: str
    participant: bool
    tasks: int
    checks: int
    flaws_found: int
    flaws_total: int
    median_s: float | None
    flags: list[str]


def _seconds(task: Task) -> float | None:
    if task.active_time_s:
        return task.active_time_s
    if task.submitted_at is None:
        return None
    start = task.opened_at or task.assigned_at
    return (task.submitted_at - start).total_seconds() if start is not None else None


def found(intended: list[str], written: list[str]) -> int:
    """How many intended critiques some written critique matches."""
    return sum(
        any(
            fuzz.token_set_ratio(flaw.lower(), text.lower()) >= FOUND_SIMILARITY for text in written
        )
        for flaw in intended
    )


def by_labeler(session: Session, experiment_id: int) -> list[LabelerQuality]:
    tasks = session.scalars(
        select(Task).where(Task.experiment_id == experiment_id, Task.status == TaskStatus.submitted)
    ).all()
    ids = [t.id for t in tasks]
    check_ids = set(
        session.scalars(select(CheckTask.task_id).where(CheckTask.experiment_id == experiment_id))
    )
    ratings = dict(
        session.execute(select(Rating.task_id, Rating.value).where(Rating.task_id.in_(ids)))
        .tuples()
        .all()
    )
    written: dict[int, list[str]] = defaultdict(list)
    for task_id, text in session.execute(
        select(LabelerCritique.task_id, LabelerCritique.text).where(
            LabelerCritique.task_id.in_(check_ids)
        )
    ):
        written[task_id].append(text)
    answers = {t.answer_id for t in tasks if t.id in check_ids}
    intended: dict[int, list[str]] = defaultdict(list)
    for answer_id, text in session.execute(
        select(IntendedCritique.answer_id, IntendedCritique.text).where(
            IntendedCritique.answer_id.in_(answers)
        )
    ):
        intended[answer_id].append(text)
    labeler_ids = {t.labeler_id for t in tasks if t.labeler_id is not None}
    names = dict(
        session.execute(select(User.id, User.username).where(User.id.in_(labeler_ids)))
        .tuples()
        .all()
    )
    participants = set(
        session.scalars(
            select(ParticipantAccount.user_id).where(ParticipantAccount.user_id.in_(labeler_ids))
        )
    )
    mine: dict[int, list[Task]] = defaultdict(list)
    for t in tasks:
        if t.labeler_id is not None:
            mine[t.labeler_id].append(t)
    times = [s for t in tasks if (s := _seconds(t)) is not None]
    overall = median(times) if times else None
    rows = []
    for labeler_id, own in sorted(mine.items(), key=lambda kv: names.get(kv[0], "")):
        seconds = [s for t in own if (s := _seconds(t)) is not None]
        mid = median(seconds) if seconds else None
        checks = [t for t in own if t.id in check_ids]
        values = [ratings[t.id] for t in own if t.id in ratings]
        flags = []
        if len(own) >= MIN_TASKS_FOR_FLAGS:
            if mid is not None and overall and mid < TOO_FAST_SHARE * overall:
                flags.append("too fast")
            if len(values) >= MIN_TASKS_FOR_FLAGS and len(set(values)) == 1:
                flags.append(f"all ratings {values[0]}")
        rows.append(
            LabelerQuality(
                labeler=names.get(labeler_id, str(labeler_id)),
                participant=labeler_id in participants,
                tasks=len(own),
                checks=len(checks),
                flaws_found=sum(found(intended[t.answer_id], written[t.id]) for t in checks),
                flaws_total=sum(len(intended[t.answer_id]) for t in checks),
                median_s=mid,
                flags=flags,
            )
        )
    return rows
