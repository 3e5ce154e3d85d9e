"""The author reviews what labelers found, in a real browser against a live server."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    IntendedCritiqueReview,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
    WritingTask,
)
from app.users.service import create_user
from app.writing import service as writing
from tests.support.browser import ARTIFACTS, log_in, needs_chromium
from tests.support.db import fresh
from tests.support.live_server import live_app
from tests.support.writing import labeled_misleading, question, written

pytestmark = needs_chromium


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_author_reviews_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    written(db)
    labeled_misleading(db, "browser-review")
    db.commit()
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page()
        log_in(page, base, "writer0")
        page.click("#review-tasks a")
        page.wait_for_url(f"{base}/reviews/*")
        first, second = (
            page.locator("section.labeler").nth(0),
            page.locator("section.labeler").nth(1),
        )
        first.locator("fieldset.covers input").nth(0).check()  # found intended critique 1
        page.wait_for_selector("#save-status >> text=saved")
        for name, value in (("valid-", "yes"), ("novel-", "no")):
            # Each change autosaves; wait for its answer, or the reload below may cancel it.
            with page.expect_response(lambda r: r.url.endswith("/draft")):
                first.locator(f"input[value={value}][name^={name}]").check()
        # A reload keeps the draft.
        page.reload()
        first = page.locator("section.labeler").nth(0)
        assert first.locator("fieldset.covers input").nth(0).is_checked()
        page.click("#submit-review")
        page.wait_for_selector("#submit-box .error")
        assert "Labeler B" in page.locator("#submit-box .error").inner_text()
        second = page.locator("section.labeler").nth(1)
        second.locator("fieldset.covers input[value=none]").check()
        second.locator("input[value=yes][name^=valid-]").check()
        second.locator("input[value=yes][name^=novel-]").check()
        page.screenshot(path=str(ARTIFACTS / "review_page.png"), full_page=True)
        page.click("#submit-review")
        page.wait_for_url(f"{base}/labeler?*")
        assert "Review submitted" in page.content()
    fresh(db)
    review = db.scalar(select(IntendedCritiqueReview))
    assert review is not None and review.status == ReviewStatus.submitted
    assert len(db.scalars(select(ReviewCoverage)).all()) == 1
    verdicts = sorted((j.valid, j.novel) for j in db.scalars(select(ReviewJudgement)))
    assert verdicts == [(True, False), (True, True)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_leaving_the_writing_page_sends_the_draft_still_waiting(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    create_user(db, "writer1", "password-123", "labeler")
    (task,) = writing.assign(db, "writer1", [question(db)])
    db.commit()
    with live_app() as base:
        page = browser.new_page()
        log_in(page, base, "writer1")
        page.goto(f"{base}/writing/{task.id}")
        asked: list[str] = []
        page.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))  # stay
        page.locator("#honest_text").click()
        page.keyboard.type("A lighthouse in the north.")  # saved 700 ms after the last key
        page.evaluate("location.href = '/labeler'")
        page.wait_for_selector("#save-status >> text=saved")
        assert asked == ["beforeunload"]
    fresh(db)
    assert db.scalar(select(WritingTask.honest_text)) == "A lighthouse in the north."
