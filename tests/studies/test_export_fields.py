"""The export carries, per task, whether it was a gold check and the participant's study,
hash and onboarding; PostgreSQL's lines and Python's agree, and the records fit the schema."""

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.analysis.report import analyze
from app.export.records import ExportRecord
from app.export.service import export_lines, python_lines
from app.models.studies import ExperimentBriefing
from app.studies import links
from tests.export.test_export_paths import _records
from tests.studies.test_join import visit
from tests.studies.test_onboarding import _answer
from tests.support.db import fresh
from tests.support.studies import study_world
from tests.support.web import csrf_from


def test_the_export_carries_study_participant_onboarding_and_checks(
    client: TestClient, db: Session
) -> None:
    w = study_world(db, quota_tasks=5)
    visit(client, w.link)
    _answer(client, db, w.study_id, right=False)
    _answer(client, db, w.study_id, right=True)
    briefing = fresh(db).get(ExperimentBriefing, w.exp_id)
    assert briefing is not None
    briefing.check_rate_percent = 100  # the first task is the gold one
    db.commit()
    token = csrf_from(client.get(f"/study/{w.study_id}").text)
    for _ in range(2):
        task_id = client.post("/api/v1/tasks/next", headers={"X-CSRF-Token": token}).json()[
            "task_id"
        ]
        resp = client.post(
            f"/api/v1/tasks/{task_id}/submit",
            json={"rating": 3, "confirm_no_critiques": True},
            headers={"X-CSRF-Token": token},
        )
        assert resp.status_code == 200
    fresh(db)
    records = [orjson.loads(line) for line in export_lines(db, w.exp_id)]
    # The same instants on both paths (PostgreSQL drops a fraction's trailing zeros).
    assert _records(export_lines(db, w.exp_id)) == _records(python_lines(db, w.exp_id))
    assert sorted(r["study"]["is_check"] for r in records) == [False, True]
    for r in records:
        ExportRecord.model_validate(r)
        p = r["study"]["participant"]
        assert p["study_id"] == w.study_id and p["platform"] == "prolific"
        assert p["participant_hash"] == links.participant_hash(
            "prolific", "5f1e2d3c4b5a69788796a5b4"
        )
        assert (p["platform_study_id"], p["platform_session_id"]) == ("st-1", "se-1")
        assert [(a["attempt"], a["passed"]) for a in p["attempts"]] == [(1, False), (2, True)]
        assert p["passed_at"] is not None and p["screened_out_at"] is None
    # The analysis counts the design's tasks only: the gold check is left out.
    assert analyze(records)["tasks"] == 1
