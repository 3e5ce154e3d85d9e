"""The research export: one valid, versioned JSON line per submitted task, streamed."""

import json
from pathlib import Path

import jsonschema
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.export.records import SCHEMA_VERSION, export_json_schema
from app.export.service import export_lines, pseudonym
from app.integrity import service as integrity
from app.users.service import api_token_for
from tests.support.experiments import user_id
from tests.support.export import MODEL_TEXT, labeled, misleading, reviewed
from tests.support.web import make_user

SCHEMA = Path(__file__).resolve().parents[2] / "app" / "export" / "export_schema.json"


def test_committed_schema_is_the_records_schema() -> None:
    assert json.loads(SCHEMA.read_text()) == export_json_schema()


def test_exported_records_are_valid_and_complete(client: TestClient, db: Session) -> None:
    exp_id, names = labeled(client, db)
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
    exp_id, names = labeled(client, db)
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
    before = [json.loads(line) for line in export_lines(db, misleading(db))]
    assert before and all(r["review"] is None and r["intended_critiques"] for r in before)


def test_submitted_review_outcomes_are_exported(db: Session) -> None:
    done = reviewed(db)
    schema = json.loads(SCHEMA.read_text())
    records = {r["task_id"]: r for r in map(json.loads, export_lines(db, done.exp_id))}
    for rec in records.values():
        jsonschema.validate(rec, schema)
        assert rec["review"]["reviewer_is_author"] is True
    found, missed = records[done.found_task], records[done.missed_task]
    assert found["review"]["covered_intended_ids"] == [done.intended_id]
    assert missed["review"]["covered_intended_ids"] == []
    assert found["critiques"][0]["review_valid"] is True
    assert missed["critiques"][0]["review_valid"] is False
    assert missed["critiques"][0]["review_novel"] is False


def test_integrity_is_exported_per_critique_and_task(client: TestClient, db: Session) -> None:
    exp_id, _ = labeled(client, db)
    records = [json.loads(line) for line in export_lines(db, exp_id)]
    assisted = next(r for r in records if r["assist"])
    plain = next(r for r in records if not r["assist"])
    assert plain["integrity"]["flags"] == ["near_copy_no_assist", "mostly_pasted"]
    assert plain["integrity"]["provenance"] == {"away_s": 30.0, "departures": 2}
    assert plain["integrity"]["evidence"]["pasted_chars"] == len(MODEL_TEXT)
    copied = plain["critiques"][1]
    assert copied["model_similarity"] == 1.0
    assert copied["closest_model_critique_id"] == assisted["assistance"][0]["id"]
    assert copied["provenance"]["pastes"] == [{"chars": len(MODEL_TEXT), "at_s": 40.5}]
    assert plain["critiques"][0]["model_similarity"] < 0.5
    assert assisted["integrity"]["flags"] == [] and assisted["integrity"]["excluded"] is False
    assert assisted["critiques"][1]["provenance"]["edits_after_use"] == 1
    assert (plain["integrity"]["checked"], plain["integrity"]["excluded"]) == (True, False)


def test_exclusions_are_exported(client: TestClient, db: Session) -> None:
    exp_id, _ = labeled(client, db)
    make_user(db, "boss", "admin")
    boss = user_id(db, "boss")
    records = [json.loads(line) for line in export_lines(db, exp_id)]
    plain = next(r for r in records if not r["assist"])
    integrity.exclude_task(db, boss, plain["task_id"], "pasted a model critique")
    records = {r["task_id"]: r for r in map(json.loads, export_lines(db, exp_id))}
    schema = json.loads(SCHEMA.read_text())
    for rec in records.values():
        jsonschema.validate(rec, schema)
    excluded = records[plain["task_id"]]["integrity"]
    assert excluded["excluded"] is True and excluded["exclusion"]["scope"] == "task"
    assert excluded["exclusion"]["reason"] == "pasted a model critique"
    assert sum(r["integrity"]["excluded"] for r in records.values()) == 1
