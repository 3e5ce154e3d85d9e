"""The research export: one valid, versioned JSON line per submitted task, streamed."""

import json
from pathlib import Path

import jsonschema
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.experiments import design
from app.export.records import SCHEMA_VERSION, export_json_schema
from app.export.service import export_lines, pseudonym
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, store_fake_assistance, user_id
from tests.support.web import make_user

SCHEMA = Path(__file__).resolve().parents[2] / "app" / "export" / "export_schema.json"


def _labeled(client: TestClient, db: Session) -> tuple[int, list[str]]:
    """Two labelers each label one task of a model answer (one assisted, one not)."""
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 2)
    exp = design.create(db, design.Design(name="export", sources=["model"], labelers=names))
    design.launch(db, exp.id)
    db.commit()
    for name in names:
        auth = {"Authorization": f"Bearer {api_token_for(db, name)}"}
        task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
        view = client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()
        own = {"text": "Own flaw.", "severity": 2, "category": "coverage"}
        critiques = [{**own, "quote_of": "answer", "quote_start": 0, "quote_end": 3}]
        if view["assistance"]:
            first = view["assistance"][0]
            critiques.append(
                {
                    "text": first["text"] + "!",
                    "severity": 3,
                    "category": "accuracy",
                    "assistance_critique_id": first["id"],
                }
            )
        r = client.post(
            f"/api/v1/tasks/{task_id}/submit",
            headers=auth,
            json={"critiques": critiques, "rating": 5},
        )
        assert r.status_code == 200, r.text
    fresh(db)
    return exp.id, names


def test_committed_schema_is_the_records_schema() -> None:
    assert json.loads(SCHEMA.read_text()) == export_json_schema()


def test_exported_records_are_valid_and_complete(client: TestClient, db: Session) -> None:
    exp_id, names = _labeled(client, db)
    lines = list(export_lines(db, exp_id))
    assert len(lines) == 2
    schema = json.loads(SCHEMA.read_text())
    records = [json.loads(line) for line in lines]
    for rec in records:
        jsonschema.validate(rec, schema)
        assert rec["schema_version"] == SCHEMA_VERSION and rec["answer_source"] == "model"
        assert (
            rec["rating"] == 5
            and rec["timing"]["submitted_at"]
            and rec["timing"]["duration_s"] is not None
        )
    assisted = next(r for r in records if r["assist"])
    plain = next(r for r in records if not r["assist"])
    assert assisted["condition"] == "model/assist" and len(assisted["assistance"]) == 2
    for rec in records:  # "critique this": the quoted span of the answer
        assert [(c["quote_of"], c["quote_start"], c["quote_end"]) for c in rec["critiques"]][0] == (
            "answer",
            0,
            3,
        )
    used = [c for c in assisted["critiques"] if c["used_assistance_id"]]
    assert used and used[0]["edited"] is True and used[0]["edit_distance"] == 1
    assert used[0]["used_assistance_id"] == assisted["assistance"][0]["id"]
    assert (
        plain["condition"] == "model/no_assist"
        and plain["assistance"] == []
        and plain["critiqueability_score"] is None
    )
    # Pseudonyms: stable, keyed, never the username or id.
    expected = {pseudonym(user_id(db, n)) for n in names}
    assert {r["labeler"] for r in records} == expected
    assert not any(n.encode() in line for n in names for line in lines)


def test_export_streams_over_the_api_for_researchers_only(client: TestClient, db: Session) -> None:
    exp_id, names = _labeled(client, db)
    make_user(db, "rita", "researcher")
    resp = client.get(
        f"/api/v1/experiments/{exp_id}/export",
        headers={"Authorization": f"Bearer {api_token_for(db, 'rita')}"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "application/x-ndjson"
    )
    assert len(resp.text.strip().splitlines()) == 2
    labeler = {"Authorization": f"Bearer {api_token_for(db, names[0])}"}
    assert client.get(f"/api/v1/experiments/{exp_id}/export", headers=labeler).status_code == 403
    assert (
        client.get(
            "/api/v1/experiments/999/export",
            headers={"Authorization": f"Bearer {api_token_for(db, 'rita')}"},
        ).status_code
        == 404
    )


def test_review_outcomes_are_exported(db: Session) -> None:
    from app.models import IntendedCritiqueReview
    from app.review import service as reviews
    from app.review import view as review_view
    from app.review.schemas import CritiqueVerdict, LabelerVerdict, ReviewIn
    from tests.support.writing import labeled_misleading, written

    written(db)
    exp_id, names = labeled_misleading(db, "reviewed")
    review = db.query(IntendedCritiqueReview).one()
    view = review_view.view(db, review.reviewer_id, review.id)
    found, missed = view.labelers
    intended_id = int(view.intended[0]["id"])  # type: ignore[call-overload]
    before = [json.loads(line) for line in export_lines(db, exp_id)]
    assert all(r["review"] is None and r["intended_critiques"] for r in before)
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
    schema = json.loads(SCHEMA.read_text())
    records = {r["task_id"]: r for r in map(json.loads, export_lines(db, exp_id))}
    for rec in records.values():
        jsonschema.validate(rec, schema)
        assert rec["review"]["reviewer_is_author"] is True
    assert records[found.task_id]["review"]["covered_intended_ids"] == [intended_id]
    assert records[missed.task_id]["review"]["covered_intended_ids"] == []
    assert records[found.task_id]["critiques"][0]["review_valid"] is True
    assert records[missed.task_id]["critiques"][0]["review_valid"] is False
    assert records[missed.task_id]["critiques"][0]["review_novel"] is False
