"""An experiment is completed by the submit of its last open task, and only then; when the
last two tasks are submitted in overlapping transactions (each holding its own task's lock),
the later one still sees the other and completes it (app/labeling/service.py:
_complete_if_done), on PostgreSQL and SQLite."""

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.experiments import assignment
from app.labeling import service
from app.labeling.schemas import SubmitIn
from app.models import Experiment, ExperimentStatus
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance, user_id

SUBMIT = {
    "critiques": [{"text": "Wrong town.", "severity": 2, "category": "accuracy"}],
    "rating": 3,
}


def _experiment(db: Session) -> tuple[int, list[str]]:
    """One passage: six tasks (3 sources x assist, no assist) for six labelers."""
    store_fake_assistance(db, corpus(db, passages=1))
    names = labelers(db, 6)
    exp_id = launched(db, names)
    db.commit()
    return exp_id, names


def _hand_out(db: Session, names: list[str]) -> list[tuple[int, int]]:
    """(labeler id, task id): each labeler's next task, committed."""
    held = []
    for name in names:
        got = assignment.next_task(db, user_id(db, name))
        assert got.task_id is not None
        held.append((user_id(db, name), got.task_id))
    db.commit()
    return held


def _status(db: Session, exp_id: int) -> str:
    return fresh(db).scalar(select(Experiment.status).where(Experiment.id == exp_id)) or ""


def test_the_last_submit_completes_the_experiment(db: Session) -> None:
    exp_id, names = _experiment(db)
    held = _hand_out(db, names)
    for i, (uid, task_id) in enumerate(held):
        assert _status(db, exp_id) == ExperimentStatus.launched, f"completed after {i} submits"
        service.submit(db, uid, task_id, SubmitIn.model_validate(SUBMIT))
        db.commit()
    assert _status(db, exp_id) == ExperimentStatus.completed


def test_two_last_submits_overlapping_complete_the_experiment(db: Session) -> None:
    # The second submit runs while the first one's transaction is still open: each would
    # see the other's task still open, and neither complete the experiment, without the
    # experiment's row lock (on SQLite the second waits for the writer lock instead).
    exp_id, names = _experiment(db)
    held = _hand_out(db, names)
    for uid, task_id in held[:-2]:
        service.submit(db, uid, task_id, SubmitIn.model_validate(SUBMIT))
    db.commit()
    first_open = threading.Event()
    errors: list[BaseException] = []

    def submit(uid: int, task_id: int, first: bool) -> None:
        try:
            if not first:
                first_open.wait(10)
            with session_scope() as session:
                service.submit(session, uid, task_id, SubmitIn.model_validate(SUBMIT))
                if first:
                    first_open.set()
                    time.sleep(0.5)  # the other submit overlaps this open transaction
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=submit, args=(*held[-2], True)),
        threading.Thread(target=submit, args=(*held[-1], False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert _status(db, exp_id) == ExperimentStatus.completed
