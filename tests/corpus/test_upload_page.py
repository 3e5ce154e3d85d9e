"""The admin upload page: the upload becomes a queued run, its bytes and its job in the
request's one transaction; a worker runs the import and the page polls its outcome."""

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.corpus import service
from app.corpus.stats import entity_counts
from app.jobs import queue
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from app.models import ImportRun, ImportUpload, Job, JobStatus
from tests.support.db import fresh
from tests.support.web import login, make_user


def upload(client: TestClient, token: str, path: Path, fmt: str) -> str:
    with path.open("rb") as fh:
        resp = client.post(
            "/admin/import",
            data={"format": fmt, "csrf_token": token},
            files={"file": (path.name, fh, "application/jsonl")},
            headers={"HX-Request": "true"},
        )
    assert resp.status_code == 200, resp.text
    return resp.text


def run_worker_once() -> bool:
    return asyncio.run(run_one("test-worker", handlers()))


def finished_page(client: TestClient, run_id: int) -> str:
    """The run's fragment, which stops polling once the run has ended."""
    html = client.get(f"/admin/import/{run_id}").text
    assert "hx-trigger" not in html, html
    return html


def test_an_upload_is_queued_with_its_bytes_and_a_worker_imports_it(
    client: TestClient, db: Session, paper_sample: Path
) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    fragment = upload(client, token, paper_sample, "paper")
    assert 'hx-get="/admin/import/1"' in fragment and "Waiting for a worker" in fragment
    run = db.get(ImportRun, 1)
    assert run is not None and run.status == "queued"
    assert db.get(ImportUpload, 1).content == paper_sample.read_bytes()  # type: ignore[union-attr]
    job = db.scalar(select(Job))
    assert job is not None and (job.kind, job.payload) == (service.IMPORT, {"run_id": 1})
    assert entity_counts(db)["passages"] == 0  # nothing is imported in the request

    assert run_worker_once()
    html = finished_page(client, 1)
    assert "succeeded" in html and "764 helpfulness_judgements" in html
    assert entity_counts(fresh(db))["passages"] == 36
    assert db.get(Job, job.id).status == JobStatus.succeeded  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(ImportUpload)) == 0  # bytes deleted
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
    upload(client, token, bad, "paper")
    assert run_worker_once()
    html = finished_page(client, 1)
    assert "failed" in html and "bad.jsonl, line 10, field" in html and "helpful" in html
    assert entity_counts(fresh(db))["passages"] == 0
    assert db.scalar(select(func.count()).select_from(ImportUpload)) == 0
    # A bad file is the run's outcome, not the job's failure: nothing is retried.
    assert db.scalar(select(Job.status)) == JobStatus.succeeded
    assert not run_worker_once()


def test_the_run_its_bytes_and_its_job_commit_together_or_not_at_all(
    app: FastAPI, db: Session, paper_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(db, "ada", "admin")

    def broken(*args: object, **kwargs: object) -> Job:
        raise RuntimeError("the queue is away")

    with TestClient(app, raise_server_exceptions=False) as client:
        token = login(client, "ada")
        monkeypatch.setattr(queue, "enqueue", broken)  # after the run and its bytes are added
        with paper_sample.open("rb") as fh:
            resp = client.post(
                "/admin/import",
                data={"format": "paper", "csrf_token": token},
                files={"file": (paper_sample.name, fh, "application/jsonl")},
            )
    assert resp.status_code == 500
    db = fresh(db)
    for model in (ImportRun, ImportUpload, Job):
        assert db.scalar(select(func.count()).select_from(model)) == 0, model


def test_an_empty_file_is_refused_at_once(client: TestClient, db: Session, tmp_path: Path) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with empty.open("rb") as fh:
        resp = client.post(
            "/admin/import",
            data={"format": "native", "csrf_token": token},
            files={"file": (empty.name, fh, "application/jsonl")},
        )
    assert resp.status_code == 400 and "empty.jsonl is empty" in resp.text
    assert fresh(db).scalar(select(func.count()).select_from(ImportRun)) == 0


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
