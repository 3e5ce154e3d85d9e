"""The researcher's report page: a worker computes the report (the page follows its progress),
a stored report shows at once, a submission makes it stale until recomputed, and the
figures and numbers download from the page."""

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.analysis.cache import REPORT_JOB
from app.analysis.report import analyze
from app.analysis.simulate import SimParams, simulate
from app.export.service import export_lines
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from app.labeling import service as labeling
from app.labeling.schemas import SubmitIn
from app.models import Job, JobStatus, Task, TaskStatus
from app.models.reports import AnalysisReport, ReportStatus
from app.users.service import api_token_for
from tests.support.web import login, make_user

SMALL = SimParams(name="small", passages=6, labelers=6, writers=2, seed=3)
BOTH = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
HTMX = {"HX-Request": "true"}


def simulated(db: Session) -> int:
    exp_id = simulate(db, SMALL)
    db.commit()
    return exp_id


def last_task_still_open(db: Session) -> Task:
    """The last submitted task, put back in its labeler's hands: submitting it is a new
    submission (the simulation submits every task)."""
    task = db.scalars(select(Task).order_by(Task.submitted_at.desc())).first()
    assert task is not None and task.labeler_id is not None
    task.status, task.submitted_at, task.expires_at = TaskStatus.assigned, None, None
    return task


def fresh(db: Session) -> None:
    """See what the app and the worker wrote on their own connections."""
    db.commit()  # a new snapshot
    db.expire_all()  # and no object as it was loaded before


def run_worker_once() -> bool:
    """The worker's own claim-and-run step with its registered report handler (the simulated
    experiment's assistance jobs, which need a model, are left alone)."""
    return asyncio.run(run_one("test-worker", {REPORT_JOB: handlers()[REPORT_JOB]}))


def report_jobs(db: Session) -> list[Job]:
    fresh(db)
    return list(db.scalars(select(Job).where(Job.kind == REPORT_JOB)))


@pytest.fixture
def researcher(client: TestClient, db: Session) -> Iterator[dict[str, str]]:
    """rita, logged in: the headers of an htmx request carrying her CSRF token."""
    make_user(db, "rita", "researcher")
    yield {**HTMX, "X-CSRF-Token": login(client, "rita")}


def computed(client: TestClient, exp_id: int, headers: dict[str, str]) -> None:
    """Open the page as the browser does (it asks for the report), then let a worker run."""
    client.get(f"/research/experiments/{exp_id}/report")
    client.post(f"/research/experiments/{exp_id}/report/compute", headers=headers)
    assert run_worker_once()


@BOTH
def test_a_worker_computes_the_report_and_the_next_view_shows_it_at_once(
    client: TestClient, db: Session, researcher: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    exp_id = simulated(db)
    page_url = f"/research/experiments/{exp_id}/report"
    assert page_url in client.get("/research").text
    first = client.get(page_url)
    assert "Starting the report on 36 submitted labeling tasks" in first.text
    assert f'hx-post="{page_url}/compute"' in first.text and 'hx-trigger="load"' in first.text
    assert report_jobs(db) == []  # viewing alone writes nothing

    asked = client.post(f"{page_url}/compute", headers=researcher)
    assert "Waiting for a worker" in asked.text and f'hx-get="{page_url}/progress"' in asked.text
    client.post(f"{page_url}/compute", headers=researcher)  # a second ask: the same job
    (job,) = report_jobs(db)
    assert job.status == JobStatus.queued
    assert "Waiting for a worker" in client.get(f"{page_url}/progress", headers=HTMX).text

    assert run_worker_once()
    (job,) = report_jobs(db)
    assert job.status == JobStatus.succeeded
    # The polling fragment sees it ready and has the page reload to show it.
    assert client.get(f"{page_url}/progress", headers=HTMX).headers["HX-Refresh"] == "true"

    page = client.get(page_url).text
    assert page.count("<svg") == 6 and "Intended critiques found" in page
    assert "Out of date" not in page and "Starting the report" not in page
    (row,) = db.scalars(select(AnalysisReport)).all()
    assert row.status == ReportStatus.ready and row.processed_tasks == row.total_tasks == 36
    offline = analyze(orjson.loads(line) for line in export_lines(db, exp_id))
    assert row.report == orjson.loads(orjson.dumps(offline))  # the offline analysis' numbers
    # The second view is the stored report: no job asked for, nothing left for a worker.
    assert client.get(page_url).text.count("<svg") == 6
    assert len(report_jobs(db)) == 1 and not run_worker_once()

    # The API serves the stored report: it is for the export as it is now.
    def no_recomputing(*_: object) -> None:
        raise AssertionError("the API recomputed a current report")

    monkeypatch.setattr("app.analysis.routes.analyze", no_recomputing)
    assert client.get(f"/api/v1/experiments/{exp_id}/analysis").json() == row.report
    monkeypatch.undo()
    assert client.get("/research/experiments/999/report").status_code == 404


@BOTH
def test_a_submission_makes_the_report_stale_until_it_is_recomputed(
    client: TestClient, db: Session, researcher: dict[str, str]
) -> None:
    exp_id = simulated(db)
    task = last_task_still_open(db)
    db.commit()
    page_url = f"/research/experiments/{exp_id}/report"
    computed(client, exp_id, researcher)
    assert "Out of date" not in client.get(page_url).text

    labeling.submit(db, task.labeler_id, task.id, SubmitIn(confirm_no_critiques=True))
    db.commit()
    # The API does not serve the stale report: it computes from the export as it is.
    assert client.get(f"/api/v1/experiments/{exp_id}/analysis").json()["tasks"] == 36
    page = client.get(page_url).text
    assert "Out of date" in page
    assert "it covers 35 labeling tasks; the export now has 36" in page
    assert page.count("<svg") == 6  # the stale report still shows, marked so
    assert f'hx-post="{page_url}/compute"' in page and ">Recompute</button>" in page
    assert "hx-trigger" not in page  # nothing recomputes until asked

    progress = client.post(f"{page_url}/compute", headers=researcher).text
    assert "Waiting for a worker" in progress
    page = client.get(page_url).text
    assert "Waiting for a worker" in page and page.count("<svg") == 6  # old report meanwhile
    assert run_worker_once()
    page = client.get(page_url).text
    assert "Out of date" not in page and "36 labeling tasks on 6 passages" in page
    # The new report replaced the old one.
    fresh(db)
    (row,) = db.scalars(select(AnalysisReport)).all()
    assert row.report is not None and row.report["tasks"] == 36


@BOTH
def test_the_figures_and_numbers_download_from_the_page(
    client: TestClient, db: Session, researcher: dict[str, str]
) -> None:
    exp_id = simulated(db)
    base = f"/research/experiments/{exp_id}/report"
    missing = client.get(f"{base}/report.json")
    assert missing.status_code == 404
    assert "has no computed report yet; open its report page" in missing.text
    computed(client, exp_id, researcher)
    page = client.get(base).text
    for link in (
        "report.json",
        "figures/fig1_critiques_per_answer.svg",
        "figures/intended_check.png",
    ):
        assert f'href="{base}/{link}" download' in page

    numbers = client.get(f"{base}/report.json")
    assert numbers.status_code == 200 and numbers.headers["content-type"] == "application/json"
    assert f'filename="experiment-{exp_id}-report.json"' in numbers.headers["content-disposition"]
    row = db.scalars(select(AnalysisReport)).one()
    assert numbers.json() == row.report
    assert numbers.headers["X-Report-Content-Version"] == row.content_version

    svg = client.get(f"{base}/figures/fig1_critiques_per_answer.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<?xml") and "<svg" in svg.text and svg.text.endswith("</svg>\n")
    png = client.get(f"{base}/figures/fig2_severity_category.png")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert "attachment" in png.headers["content-disposition"]

    unknown = client.get(f"{base}/figures/fig9.png")
    assert unknown.status_code == 404 and "fig1_critiques_per_answer" in unknown.text
    assert client.get(f"{base}/figures/fig1_critiques_per_answer.pdf").status_code == 404
    assert client.get("/research/experiments/999/report/report.json").status_code == 404


@BOTH
def test_only_researchers_and_admins_see_or_ask_for_the_report(
    client: TestClient, db: Session, researcher: dict[str, str]
) -> None:
    exp_id = simulated(db)
    computed(client, exp_id, researcher)
    base = f"/research/experiments/{exp_id}/report"
    labeler_name = db.scalar(select(Task.labeler_id).where(Task.labeler_id.is_not(None)))
    from app.models import User

    user = db.get(User, labeler_name)
    assert user is not None
    labeler = {"Authorization": f"Bearer {api_token_for(db, user.username)}"}
    db.commit()
    client.cookies.clear()
    for path in ("", "/progress", "/report.json", "/figures/intended_check.svg"):
        assert client.get(base + path, headers=labeler).status_code == 403, path
        assert client.get(base + path, follow_redirects=False).status_code in (303, 401), path
    assert client.post(f"{base}/compute", headers=labeler).status_code == 403
    before = db.scalar(select(func.count()).select_from(Job))
    assert client.post(f"{base}/compute", headers=HTMX).status_code in (401, 403)
    assert db.scalar(select(func.count()).select_from(Job)) == before


@BOTH
def test_a_failed_computation_says_why_and_recompute_asks_again(
    client: TestClient, db: Session, researcher: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.analysis import tasks

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise MemoryError("the worker ran out of memory")

    monkeypatch.setattr(tasks, "analyze", out_of_memory)  # a failure the worker can meet
    exp_id = simulated(db)
    page_url = f"/research/experiments/{exp_id}/report"
    computed(client, exp_id, researcher)
    (job,) = report_jobs(db)
    assert job.status == JobStatus.failed and job.attempts == 1  # not retried by itself
    page = client.get(page_url).text
    assert "Computing the report failed: MemoryError: the worker ran out of memory" in page
    assert ">Recompute</button>" in page and "hx-trigger" not in page
    assert f'hx-post="{page_url}/compute"' in page
    fragment = client.get(f"{page_url}/progress", headers=HTMX).text
    assert "failed" in fragment and "hx-get" not in fragment  # it stops polling

    monkeypatch.undo()
    client.post(f"{page_url}/compute", headers=researcher)
    (again,) = report_jobs(db)
    assert again.id == job.id and again.status == JobStatus.queued and again.attempts == 0
    assert run_worker_once()
    page = client.get(page_url).text
    assert page.count("<svg") == 6 and "failed" not in page


@BOTH
def test_the_progress_fragment_follows_the_worker_through_the_export(
    client: TestClient, db: Session, researcher: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.analysis import tasks

    exp_id = simulated(db)
    url = f"/research/experiments/{exp_id}/report/progress"
    client.post(f"/research/experiments/{exp_id}/report/compute", headers=researcher)
    (row,) = db.scalars(select(AnalysisReport)).all()
    # The worker's progress, as it writes it while streaming the export (each record here).
    monkeypatch.setattr(tasks, "PROGRESS_EVERY_S", 0.0)
    row.status, row.total_tasks = ReportStatus.reading, 36
    db.commit()
    records = tasks._Progress(row.id).records(export_lines(db, exp_id))
    for _ in range(13):  # a record counts once the analysis is done with it
        next(records)
    fragment = client.get(url, headers=HTMX).text
    assert "Reading the export:" in fragment and "12 of 36 labeling tasks" in fragment
    assert '<progress value="12" max="36"' in fragment and f'hx-get="{url}"' in fragment
    assert sum(1 for _ in records) == 23
    fragment = client.get(url, headers=HTMX).text
    assert "Bootstrapping the error bars" in fragment and "36 labeling tasks read" in fragment


@BOTH
def test_an_exclusion_makes_the_report_stale_too(
    client: TestClient, db: Session, researcher: dict[str, str]
) -> None:
    """The export carries the admin's exclusions, so the report's content version does."""
    from app.integrity import service as integrity
    from app.users.service import create_user

    exp_id = simulated(db)
    page_url = f"/research/experiments/{exp_id}/report"
    computed(client, exp_id, researcher)
    assert "Out of date" not in client.get(page_url).text
    admin = create_user(db, "ada", "password-123", "admin")
    task_id = db.scalar(select(Task.id).where(Task.status == TaskStatus.submitted))
    assert task_id is not None
    exclusion = integrity.exclude_task(db, admin.id, task_id, "pasted from elsewhere", exp_id)
    db.commit()
    assert "Out of date" in client.get(page_url).text
    client.post(f"{page_url}/compute", headers=researcher)
    assert run_worker_once()
    assert "Out of date" not in client.get(page_url).text
    integrity.lift(db, admin.id, exclusion.id)  # lifting it changes the export again
    db.commit()
    assert "Out of date" in client.get(page_url).text
