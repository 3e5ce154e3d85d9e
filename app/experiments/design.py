"""Designing and launching experiments: conditions, tasks, and whether they can be filled."""

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.assist.prompts import prompt_format
from app.assist.service import request_assistance
from app.core.errors import AppError, Conflict, Invalid, NotFound
from app.core.settings import get_settings
from app.experiments.assignment import task_keys
from app.models import (
    Answer,
    AnswerSource,
    Condition,
    Experiment,
    ExperimentLabeler,
    ExperimentQuestion,
    ExperimentStatus,
    PassageExposure,
    Question,
    Role,
    Task,
    TaskStatus,
    User,
)

ALL_SOURCES = tuple(s.value for s in AnswerSource)


@dataclass(frozen=True)
class Design:
    name: str
    sources: Sequence[str]
    labelers: Sequence[str]  # usernames
    question_ids: Sequence[int] | None = None  # None: every question
    labelers_per_condition: int = 1
    task_expiry_s: int = 4 * 3600
    seed: int | None = None  # None: a random one (replays use the stored seed)


def _validate(session: Session, design: Design) -> tuple[list[int], list[int]]:
    if not design.name.strip():
        raise AppError("give the experiment a name", field="name")
    limit = get_settings().max_name_chars
    if len(design.name.strip()) > limit:
        raise Invalid(f"name: at most {limit} characters", field="name")
    bad = [s for s in design.sources if s not in ALL_SOURCES]
    if bad or not design.sources:
        raise AppError(
            f"sources must be some of {', '.join(ALL_SOURCES)} (got {', '.join(bad) or 'none'})",
            field="sources",
        )
    if design.labelers_per_condition < 1:
        raise AppError("labelers per condition must be at least 1", field="labelers_per_condition")
    if design.task_expiry_s < 60:
        raise AppError("task expiry must be at least 60 seconds", field="task_expiry_s")
    users = session.scalars(select(User).where(User.username.in_(design.labelers))).all()
    found = {u.username: u for u in users}
    missing = [n for n in design.labelers if n not in found]
    if missing:
        raise AppError(f"no such users: {', '.join(missing)}", field="labelers")
    not_labelers = [u.username for u in users if u.role != Role.labeler or not u.is_active]
    if not_labelers:
        raise AppError(f"not active labelers: {', '.join(sorted(not_labelers))}", field="labelers")
    if design.question_ids is None:
        qids = list(session.scalars(select(Question.id).order_by(Question.id)))
    else:
        qids = sorted(set(design.question_ids))
        known = set(session.scalars(select(Question.id).where(Question.id.in_(qids))))
        if unknown := [q for q in qids if q not in known]:
            raise AppError(f"no such questions: {unknown[:10]}", field="questions")
    if not qids:
        raise AppError("the experiment has no questions", field="questions")
    # A labeler named twice is in the pool once.
    return qids, [found[n].id for n in dict.fromkeys(design.labelers)]


def create(session: Session, design: Design, created_by: int | None = None) -> Experiment:
    qids, labeler_ids = _validate(session, design)
    if session.scalar(select(Experiment.id).where(Experiment.name == design.name.strip())):
        raise Conflict(f"an experiment named {design.name!r} exists", field="name")
    exp = Experiment(
        name=design.name.strip(),
        status=ExperimentStatus.draft,
        seed=design.seed if design.seed is not None else random.SystemRandom().randrange(2**31),
        labelers_per_condition=design.labelers_per_condition,
        task_expiry_s=design.task_expiry_s,
        created_by_id=created_by,
    )
    session.add(exp)
    session.flush()
    _write_design(session, exp, design.sources, qids, labeler_ids)
    return exp


def update_draft(session: Session, exp_id: int, design: Design) -> Experiment:
    exp = get(session, exp_id)
    if exp.status != ExperimentStatus.draft:
        raise Conflict("a launched experiment's design cannot change")
    qids, labeler_ids = _validate(session, design)
    taken = session.scalar(
        select(Experiment.id).where(Experiment.name == design.name.strip(), Experiment.id != exp.id)
    )
    if taken is not None:
        raise Conflict(f"an experiment named {design.name.strip()!r} exists", field="name")
    exp.name = design.name.strip()
    exp.labelers_per_condition = design.labelers_per_condition
    exp.task_expiry_s = design.task_expiry_s
    for model in (Condition, ExperimentQuestion, ExperimentLabeler):
        session.execute(delete(model).where(model.experiment_id == exp.id))
    _write_design(session, exp, design.sources, qids, labeler_ids)
    return exp


def _write_design(
    session: Session,
    exp: Experiment,
    sources: Sequence[str],
    qids: list[int],
    labeler_ids: list[int],
) -> None:
    for source in ALL_SOURCES:
        if source in sources:
            for assist in (True, False):
                session.add(Condition(experiment_id=exp.id, source=source, assist=assist))
    session.add_all(ExperimentQuestion(experiment_id=exp.id, question_id=q) for q in qids)
    session.add_all(ExperimentLabeler(experiment_id=exp.id, user_id=u) for u in labeler_ids)
    session.flush()


def get(session: Session, exp_id: int) -> Experiment:
    exp = session.get(Experiment, exp_id)
    if exp is None:
        raise NotFound(f"no experiment {exp_id}")
    return exp


def launch(session: Session, exp_id: int) -> int:
    """Create every task (answer x condition x slot) and ask for assistance where needed."""
    exp = get(session, exp_id)
    if exp.status != ExperimentStatus.draft:
        raise Conflict(f"experiment {exp.name!r} is already {exp.status}")
    conditions = session.scalars(select(Condition).where(Condition.experiment_id == exp.id)).all()
    by_source: dict[str, list[Condition]] = {}
    for c in conditions:
        by_source.setdefault(c.source, []).append(c)
    rows = session.execute(
        select(Answer.id, Answer.source, Answer.question_id, Question.passage_id)
        .join(Question, Question.id == Answer.question_id)
        .join(ExperimentQuestion, ExperimentQuestion.question_id == Question.id)
        .where(ExperimentQuestion.experiment_id == exp.id, Answer.source.in_(list(by_source)))
        .order_by(Answer.id)
    ).all()
    if not rows:
        raise AppError("no answers of the chosen sources in the chosen questions")
    assist_answers: list[int] = []
    # Each task's place in its condition's random order, drawn from the seed in creation
    # order, so a replay of the design orders its tasks the same way.
    keys = task_keys(exp.seed)
    tasks = []
    for answer_id, source, question_id, passage_id in rows:
        for cond in by_source[source]:
            for slot in range(exp.labelers_per_condition):
                tasks.append(
                    {
                        "experiment_id": exp.id,
                        "condition_id": cond.id,
                        "answer_id": answer_id,
                        "question_id": question_id,
                        "passage_id": passage_id,
                        "slot": slot,
                        "status": TaskStatus.pending.value,
                        "order_key": next(keys),
                    }
                )
            if cond.assist:
                assist_answers.append(answer_id)
    for start in range(0, len(tasks), 5000):
        session.execute(insert(Task), tasks[start : start + 5000])
    n = len(tasks)
    exp.status = ExperimentStatus.launched
    exp.launched_at = datetime.now(UTC)
    session.flush()
    settings = get_settings()
    request_assistance(
        session,
        sorted(set(assist_answers)),
        settings.model_name,
        prompt_format(settings.prompt_format).version,
    )
    return n


def set_paused(session: Session, exp_id: int, paused: bool) -> Experiment:
    exp = get(session, exp_id)
    allowed = ExperimentStatus.launched if paused else ExperimentStatus.paused
    if exp.status != allowed:
        raise Conflict(
            f"experiment {exp.name!r} is {exp.status}; cannot {'pause' if paused else 'resume'} it"
        )
    exp.status = ExperimentStatus.paused if paused else ExperimentStatus.launched
    session.flush()
    return exp


def fill_problems(session: Session, exp_id: int) -> list[str]:
    """Why the experiment cannot be completely filled, in words an admin can act on."""
    exp = get(session, exp_id)
    pool = set(
        session.scalars(
            select(ExperimentLabeler.user_id).where(ExperimentLabeler.experiment_id == exp.id)
        )
    )
    n_conditions = len(
        session.scalars(select(Condition.id).where(Condition.experiment_id == exp.id)).all()
    )
    sources = {
        c.source
        for c in session.scalars(select(Condition).where(Condition.experiment_id == exp.id))
    }
    problems: list[str] = []
    if len(pool) < n_conditions * exp.labelers_per_condition:
        problems.append(
            f"{len(pool)} labelers in the pool, but each question needs {n_conditions * exp.labelers_per_condition} "
            f"different ones ({n_conditions} conditions x {exp.labelers_per_condition} per condition)"
        )
    seen: dict[int, set[int]] = {}
    for user_id, passage_id in session.execute(
        select(PassageExposure.user_id, PassageExposure.passage_id).where(
            PassageExposure.user_id.in_(pool)
        )
    ):
        seen.setdefault(passage_id, set()).add(user_id)
    rows = session.execute(
        select(Question.passage_id)
        .join(ExperimentQuestion, ExperimentQuestion.question_id == Question.id)
        .join(Answer, Answer.question_id == Question.id)
        .where(ExperimentQuestion.experiment_id == exp.id, Answer.source.in_(sources))
    ).all()
    # A labeler sees a passage once: all tasks on one passage need different labelers.
    # Before launch, every task counts; after it, the tasks still waiting for someone.
    needed: Counter[int] = Counter()
    if exp.status == ExperimentStatus.draft:
        for (pid,) in rows:
            needed[pid] += 2 * exp.labelers_per_condition
    else:
        waiting = session.execute(
            select(Task.passage_id).where(
                Task.experiment_id == exp.id, Task.status == TaskStatus.pending
            )
        ).all()
        for (pid,) in waiting:
            needed[pid] += 1
    short = sorted(pid for pid, n in needed.items() if len(pool - seen.get(pid, set())) < n)
    if short:
        worst = max(short, key=lambda pid: needed[pid] - len(pool - seen.get(pid, set())))
        problems.append(
            f"{len(short)} of {len(needed)} passages have more {'tasks' if exp.status == ExperimentStatus.draft else 'waiting tasks'} than labelers who have not seen them "
            f"(passage {worst}: {needed[worst]} tasks, {len(pool - seen.get(worst, set()))} eligible labelers); "
            "those tasks will stay unassigned until you add labelers"
        )
    return problems
