"""A corpus with stored model critiques, labelers, batches, and a second database."""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.core.database import make_engine
from app.judgements import batches, service
from app.judgements.schemas import BatchIn, JudgementSubmitIn
from app.models import Answer
from app.models.judgements import JudgementCritique, JudgementTask
from tests.support.experiments import corpus, labelers, store_fake_assistance, user_id


def judged_corpus(
    db: Session, passages: int = 2, n_labelers: int = 3
) -> tuple[list[int], list[str]]:
    """Passages with one question each (model, human and misleading answers), two stored
    model critiques per answer; returns (question ids, labeler names)."""
    answer_ids = corpus(db, passages)
    store_fake_assistance(db, answer_ids)
    names = labelers(db, n_labelers)
    qids = sorted({a.question_id for a in db.scalars(select(Answer))})
    db.flush()
    return qids, names


def batch(db: Session, qids: list[int], names: list[str], per: int = 1, name: str = "b1") -> int:
    return batches.create_batch(
        db, BatchIn(name=name, question_ids=qids, labelers=names, judgements_per_critique=per)
    ).id


def tasks_of(db: Session, name: str) -> list[JudgementTask]:
    uid = user_id(db, name)
    return list(
        db.scalars(
            select(JudgementTask).where(JudgementTask.labeler_id == uid).order_by(JudgementTask.id)
        )
    )


def full_submission(db: Session, task_id: int, better: bool = True) -> dict[str, Any]:
    """A valid submission: every other critique helpful, ranked in page order."""
    cs = service.critiques_of(db, task_id)
    verdicts, rank = [], 0
    for i, c in enumerate(cs):
        helpful = i % 2 == 0
        rank += helpful
        verdicts.append({"id": c.id, "helpful": helpful, "rank": rank if helpful else None})
    body: dict[str, Any] = {
        "critiques": verdicts,
        "is_critiqueable": True,
        "has_better_critique": better,
    }
    if better:
        body["new_critique"] = {
            "text": "It misses the ending.",
            "severity": 3,
            "category": "other",
            "category_text": "tone",
        }
    return body


def submit_all(db: Session, names: list[str]) -> int:
    n = 0
    for name in names:
        for task in tasks_of(db, name):
            body = JudgementSubmitIn.model_validate(full_submission(db, task.id, n % 2 == 0))
            service.submit(db, task.labeler_id, task.id, body)
            n += 1
    return n


def shown(db: Session, task_id: int) -> list[str]:
    return list(
        db.scalars(
            select(JudgementCritique.text)
            .where(JudgementCritique.task_id == task_id)
            .order_by(JudgementCritique.position)
        )
    )


@contextmanager
def second_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Session]:
    """A fresh, migrated database of the same backend as the test's, with its own session."""
    if database_url.startswith("sqlite"):
        path = Path(str(request.getfixturevalue("tmp_path"))) / "second.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        admin = None
        name = ""
    else:
        server = request.getfixturevalue("postgres")
        name = f"t2_{os.getpid()}_{abs(hash(database_url)) % 10**6}"
        admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE critiquelab_template"))
        url = server.url(name)
    engine = make_engine(url)
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()
