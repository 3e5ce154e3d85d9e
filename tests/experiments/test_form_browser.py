"""The new-experiment form's labeler picker in a real browser (Debian's Chromium): search and
paging by the server, ticks that survive both, and the draft made with exactly the chosen."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import Experiment, ExperimentLabeler, User
from tests.support.browser import (
    ARTIFACTS,
    PHONE,
    WIDE,
    ConsoleErrors,
    axe_violations,
    log_in,
    needs_chromium,
)
from tests.support.db import fresh
from tests.support.experiments import corpus
from tests.support.live_server import live_app
from tests.support.web import make_user

pytestmark = needs_chromium


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_labelers_are_found_ticked_and_paged_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    corpus(db, passages=3)
    db.execute(
        insert(User),
        [{"username": f"lab{i:03}", "password_hash": "x", "role": "labeler"} for i in range(120)],
    )
    make_user(db, "ada", "admin")
    db.commit()
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page(viewport=WIDE)
        errors = ConsoleErrors(page)
        log_in(page, base, "ada", lands_on="/admin")
        page.goto(f"{base}/admin/experiments/new", wait_until="networkidle")
        status = page.locator("#labelers [role=status]")
        assert status.inner_text() == "120 labelers match; 120 chosen."
        page.fill("[name=labeler_search]", "lab1")  # lab100..lab119
        expect(status).to_have_text("20 labelers match; 120 chosen.")
        page.click("#labelers button:text('Untick all shown')")
        page.fill("[name=labeler_search]", "")
        expect(status).to_have_text("120 labelers match; 100 chosen.")
        page.click("#labelers button:text('Next')")
        page.wait_for_selector("#labelers >> text=51–100 of 120")
        page.click("#labelers button:text('Next')")
        page.wait_for_selector("#labelers >> text=101–120 of 120")
        assert page.locator("#labeler-list input:checked").count() == 0  # lab100..lab119
        page.locator("#labeler-list input").first.check()  # lab100 again
        page.click("#labelers button:text('Previous')")
        page.wait_for_selector("#labelers >> text=51–100 of 120")
        assert status.inner_text() == "120 labelers match; 101 chosen."
        expect(page.locator("#fill-check")).to_contain_text("Yes: the labelers ticked can fill")
        page.screenshot(path=str(ARTIFACTS / "experiment_labelers_wide.png"), full_page=True)
        assert axe_violations(page) == []
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        page.locator("#labelers").screenshot(path=str(ARTIFACTS / "experiment_labelers_phone.png"))
        page.fill("[name=name]", "picked")
        page.click("button:text('Create draft')")
        page.wait_for_url(f"{base}/admin/experiments/*")
        assert errors.take() == []
    fresh(db)
    exp_id = db.scalar(select(Experiment.id).where(Experiment.name == "picked"))
    chosen = db.scalars(
        select(User.username)
        .join(ExperimentLabeler, ExperimentLabeler.user_id == User.id)
        .where(ExperimentLabeler.experiment_id == exp_id)
    ).all()
    assert len(chosen) == 101 and "lab100" in chosen and "lab101" not in chosen
    assert db.scalar(select(func.count()).select_from(ExperimentLabeler)) == 101
