"""The report page in a real browser with a real worker loop: the page asks for the report,
shows the worker's progress, reloads itself when it is ready, says when it went stale, and
the Recompute button brings it up to date."""

import pytest
from sqlalchemy.orm import Session

from app.analysis.simulate import simulate
from app.core.database import session_scope
from app.labeling import service as labeling
from app.labeling.schemas import SubmitIn
from tests.analysis.test_report_page import SMALL, last_task_still_open
from tests.jobs.worker_thread import WorkerThread
from tests.support.browser import (
    ARTIFACTS,
    ConsoleErrors,
    axe_violations,
    log_in,
    needs_chromium,
)
from tests.support.live_server import live_app
from tests.support.web import make_user

FIGURE = "figure[data-figure=fig1_critiques_per_answer] svg"


@needs_chromium
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_report_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    exp_id = simulate(db, SMALL)
    task = last_task_still_open(db)  # submitted once the report is shown
    assert task.labeler_id is not None
    make_user(db, "rita", "researcher")
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base, WorkerThread(poll_s=0.1):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = ConsoleErrors(page)
        log_in(page, base, "rita", lands_on="/research")
        page.click(f"a[href='/research/experiments/{exp_id}/report']")
        # The page asked a worker, followed its progress and reloaded with the report.
        page.wait_for_selector(FIGURE, timeout=60_000)
        assert page.locator("#report figure").count() == 6
        assert page.locator("#report-status").count() == 0
        page.screenshot(path=str(ARTIFACTS / "report_page.png"), full_page=True)
        with page.expect_download() as download:
            page.click("a[href$='/figures/fig1_critiques_per_answer.png']")
        assert (
            download.value.suggested_filename
            == f"experiment-{exp_id}-fig1_critiques_per_answer.png"
        )

        # As a request would: a writing session (on SQLite it takes the write lock at once; the
        # test's own session would read first and then fail to write if the worker wrote
        # in between: "database is locked", seen once in CI).
        with session_scope() as s:
            labeling.submit(s, task.labeler_id, task.id, SubmitIn(confirm_no_critiques=True))
        page.reload()
        assert "Out of date" in page.locator("#report-status").inner_text()
        assert "35 labeling tasks on 6 passages" in page.locator("#report").inner_text()
        assert axe_violations(page) == []  # the stale report with its button, as shown
        page.click("#report-status button")
        page.get_by_text("36 labeling tasks on 6 passages").wait_for(timeout=60_000)
        assert page.locator("#report-status").count() == 0
        assert errors.take() == []
