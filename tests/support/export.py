"""Experiments ready to export, shared by the export tests (JSONL, PostgreSQL, Parquet)."""

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import design
from app.integrity import service as integrity
from app.models import AssistanceCritique, IntendedCritiqueReview
from app.review import service as reviews
from app.review import view as review_view
from app.review.schemas import CritiqueVerdict, LabelerVerdict, ReviewIn
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, store_fake_assistance
from tests.support.writing import labeled_misleading, written

MODEL_TEXT = "The answer puts the flood in spring; the passage says autumn."


def labeled(client: TestClient, db: Session) -> tuple[int, list[str]]:
    """Two labelers each label one task of a model answer (one assisted, one not), with
    provenance: the assisted one uses a model critique and edits it, the unassisted one
    pastes a near copy of a model critique (flagged). The integrity check is made."""
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    first = db.scalars(select(AssistanceCritique).order_by(AssistanceCritique.rank)).first()
    assert first is not None
    first.text = MODEL_TEXT
    names = labelers(db, 2)
    exp = design.create(db, design.Design(name="export", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    db.commit()
    for name in names:
        auth = {"Authorization": f"Bearer {api_token_for(db, name)}"}
        task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
        view = client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()
        critiques = [{"text": "Own flaw.", "severity": 2, "category": "coverage"}]
        own = {"position": 1, "typed_chars": 9, "typing_s": 2.5, "first_key_s": 4.0}
        if view["assistance"]:
            shown = view["assistance"][0]
            critiques.append(
                {
                    "text": shown["text"] + "!",
                    "severity": 3,
                    "category": "accuracy",
                    "assistance_critique_id": shown["id"],
                }
            )
            prov = [own, {"position": 2, "typed_chars": 1, "edits_after_use": 1}]
        else:
            critiques.append({"text": MODEL_TEXT.lower(), "severity": 3, "category": "accuracy"})
            paste = {"chars": len(MODEL_TEXT), "at_s": 40.5}
            prov = [own, {"position": 2, "pasted_chars": len(MODEL_TEXT), "pastes": [paste]}]
        body = {
            "critiques": critiques,
            "rating": 5,
            "provenance": {"away_s": 30.0, "departures": 2, "critiques": prov},
        }
        r = client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json=body)
        assert r.status_code == 200, r.text
    fresh(db)
    integrity.refresh(db, exp.id)
    return exp.id, names


@dataclass(frozen=True)
class Reviewed:
    exp_id: int
    found_task: int  # covers the intended critique; its critique judged valid, not novel
    missed_task: int  # covers nothing; its critique judged invalid
    intended_id: int


def misleading(db: Session) -> int:
    """A misleading answer labeled by two labelers, its review still open."""
    written(db)
    exp_id, _ = labeled_misleading(db, "reviewed")
    return exp_id


def reviewed(db: Session) -> Reviewed:
    """A misleading answer labeled by two labelers, its review submitted."""
    exp_id = misleading(db)
    review = db.query(IntendedCritiqueReview).one()
    view = review_view.view(db, review.reviewer_id, review.id)
    found, missed = view.labelers
    intended_id = int(view.intended[0]["id"])  # type: ignore[call-overload]
    reviews.submit(
        db,
        review.reviewer_id,
        review.id,
        ReviewIn(
            labelers=[
                LabelerVerdict(task_id=found.task_id, covers=[intended_id]),
                LabelerVerdict(task_id=missed.task_id, none=True),
            ],
            critiques=[
                CritiqueVerdict(critique_id=found.critiques[0].id, valid=True, novel=False),
                CritiqueVerdict(critique_id=missed.critiques[0].id, valid=False),
            ],
        ),
    )
    return Reviewed(exp_id, found.task_id, missed.task_id, intended_id)
