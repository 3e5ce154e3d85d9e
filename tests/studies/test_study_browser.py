"""A participant's whole study in Chromium: the platform's link -> Start -> instructions and
comprehension check (fail once, pass on the second try) -> 3 tasks -> the completion code and
the redirect to the platform (checked, not followed). Opening the link again resumes."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import User
from app.models.studies import ComprehensionAttempt
from tests.support.browser import ConsoleErrors, needs_chromium
from tests.support.db import fresh
from tests.support.live_server import live_app
from tests.support.studies import COMPLETE_URL, study_world

PARAMS = "&PROLIFIC_PID=60f1a2b3c4d5e6f708192a3b&STUDY_ID=pilot&SESSION_ID=s-1"


def _start(page, base: str, link: str, study_id: int) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + link + PARAMS)
    page.click("text=Start")
    page.wait_for_url(f"{base}/study/{study_id}")


def _answer(page, right: bool) -> None:  # type: ignore[no-untyped-def]
    # Question 1's right option is the first; question 2's the second.
    page.check("fieldset.question-choice >> nth=0 >> input >> nth=" + ("0" if right else "1"))
    page.check("fieldset.question-choice >> nth=1 >> input >> nth=" + ("1" if right else "0"))
    page.click("text=Submit answers")


def _one_task(page, base: str, study_id: int) -> None:  # type: ignore[no-untyped-def]
    page.click("#progress-card button[type=submit]")
    page.wait_for_url(f"{base}/tasks/*")
    page.check("#rating input[value='6']")
    page.wait_for_selector("#rating >> text=saved")
    page.click("#submit")
    page.wait_for_selector("text=Yes, submit with no critiques")
    page.click("#submit")
    page.wait_for_url(f"{base}/study/{study_id}?*")


@needs_chromium
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_participant_runs_the_whole_study_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    w = study_world(db, quota_tasks=3)
    with live_app() as base:
        context = browser.new_context()
        page = context.new_page()
        errors = ConsoleErrors(page)
        _start(page, base, w.link, w.study_id)
        assert page.inner_text("#instructions-heading") == "Instructions"
        assert page.locator(".instructions strong").inner_text() == "every"

        _answer(page, right=False)
        page.wait_for_selector("text=Not all answers were right")
        assert "1 attempt left" in page.inner_text("#comprehension")
        _answer(page, right=True)
        page.wait_for_selector("#progress-card")
        assert "0 of 3 tasks done" in page.inner_text("#progress-card")

        _one_task(page, base, w.study_id)
        assert "1 of 3 tasks done" in page.inner_text("#progress-card")
        context.close()

        # A second visit from a fresh browser resumes the same participant where they were.
        context = browser.new_context()
        page = context.new_page()
        errors = ConsoleErrors(page)
        _start(page, base, w.link, w.study_id)
        assert "1 of 3 tasks done" in page.inner_text("#progress-card")
        _one_task(page, base, w.study_id)
        _one_task(page, base, w.study_id)

        # The completion page, then the platform: the navigation is caught and checked.
        went_to: list[str] = []

        def platform(route) -> None:  # type: ignore[no-untyped-def]
            went_to.append(route.request.url)
            route.fulfill(status=200, content_type="text/html", body="<title>platform</title>")

        page.route("https://app.prolific.example/**", platform)
        assert page.inner_text("#completion-code") == "DONE123"
        page.wait_for_url(COMPLETE_URL, timeout=15_000)
        assert went_to == [COMPLETE_URL]
        assert errors.take() == []
        context.close()

        # And after completion, the link shows the code again, to the same account.
        context = browser.new_context()
        page = context.new_page()
        page.route("https://app.prolific.example/**", lambda route: route.abort())
        _start(page, base, w.link, w.study_id)
        assert page.inner_text("#completion-code") == "DONE123"
        # A changed link: a clear page, and no Start button.
        response = page.goto(base + w.link.replace("sig=", "sig=0") + PARAMS)
        assert response is not None and response.status == 403
        assert "This study link is not valid" in page.inner_text("main")
        assert page.locator("button", has_text="Start").count() == 0
        context.close()
    fresh(db)
    assert db.scalar(select(func.count()).select_from(User)) == 1
    attempts = db.scalars(
        select(ComprehensionAttempt.passed).order_by(ComprehensionAttempt.attempt)
    )
    assert list(attempts) == [False, True]
