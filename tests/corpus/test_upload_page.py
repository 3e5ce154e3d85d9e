"""The admin upload page: a run with progress that any request can poll, and its outcome."""

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.corpus.stats import entity_counts
from tests.support.web import login, make_user


def _upload(client: TestClient, token: str, path: Path, fmt: str) -> str:
    with path.open("rb") as fh:
        resp = client.post(
            "/admin/import",
            data={"format": fmt, "csrf_token": token},
            files={"file": (path.name, fh, "application/jsonl")},
            headers={"HX-Request": "true"},
        )
    assert resp.status_code == 200, resp.text
    return resp.text


def _poll_until_done(client: TestClient, run_id: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        html = client.get(f"/admin/import/{run_id}").text
        if "hx-trigger" not in html:  # the fragment stops polling when the run ends
            return html
        time.sleep(0.2)
    raise AssertionError("import did not finish")


def test_upload_runs_the_import_and_reports_what_was_added(
    client: TestClient, db: Session, paper_sample: Path
) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    fragment = _upload(client, token, paper_sample, "paper")
    assert 'hx-get="/admin/import/1"' in fragment
    html = _poll_until_done(client, 1)
    assert "succeeded" in html and "764 helpfulness_judgements" in html
    assert entity_counts(db)["passages"] == 36
    assert "paper_helpfulness_sample.jsonl" in client.get("/admin/import").text


def test_a_bad_upload_fails_with_line_and_field_and_stores_nothing(
    client: TestClient, db: Session, paper_sample: Path, tmp_path: Path
) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    lines = paper_sample.read_text().splitlines()
    lines[9] = lines[9].replace('"helpful": false', '"helpful": "no"', 1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines))
    _upload(client, token, bad, "paper")
    html = _poll_until_done(client, 1)
    assert "failed" in html and "line 10" in html and "helpful" in html
    assert entity_counts(db)["passages"] == 0


def test_only_admins_upload(client: TestClient, db: Session, paper_sample: Path) -> None:
    make_user(db, "rita", "researcher")
    token = login(client, "rita")
    with paper_sample.open("rb") as fh:
        resp = client.post(
            "/admin/import",
            data={"format": "paper", "csrf_token": token},
            files={"file": ("x.jsonl", fh)},
        )
    assert resp.status_code == 403
