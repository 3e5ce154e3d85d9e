"""A labeler judges critiques in a real browser: keyboard ranking, autosave, submit."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.judgements import JudgementCritique, JudgementTask
from tests.judgements.helpers import batch, judged_corpus
from tests.support.browser import ARTIFACTS, ConsoleErrors, axe_violations, log_in, needs_chromium
from tests.support.db import fresh
from tests.support.live_server import live_app

pytestmark = needs_chromium


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_judge_rank_with_the_keyboard_and_submit(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    qids, names = judged_corpus(db, passages=1, n_labelers=1)
    batch(db, qids, names)
    db.commit()
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page()
        errors = ConsoleErrors(page)
        log_in(page, base, names[0])
        page.click("#judgement-tasks a")
        page.wait_for_url(f"{base}/judgements/*")
        rows = page.locator(".judgement-critique")
        assert rows.count() == 6
        for i in range(6):
            rows.nth(i).locator("input[value=yes]" if i < 3 else "input[value=no]").check()
        # Marked helpful in page order: ranked 1, 2, 3 as they were marked.
        ranks = [rows.nth(i).locator(".rank-input").input_value() for i in range(6)]
        assert ranks == ["1", "2", "3", "", "", ""]
        first_text = rows.nth(0).locator(".critique-text").inner_text()
        # Keyboard: focus the first ranked item's "down" button and press Enter twice.
        page.locator("#ranking li").nth(0).locator(".rank-down").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")
        assert page.locator("#ranking li").nth(2).inner_text().startswith(first_text)
        assert rows.nth(0).locator(".rank-input").input_value() == "3"
        page.check("input[name=is_critiqueable][value=yes]")
        page.check("input[name=has_better_critique][value=yes]")
        with page.expect_response(
            lambda r: r.url.endswith("/draft") and "ending" in (r.request.post_data or "")
        ):
            page.fill("textarea[name=new_text]", "It leaves out the ending.")
        page.reload()
        assert (
            page.locator(".judgement-critique").nth(0).locator(".rank-input").input_value() == "3"
        )
        assert axe_violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "judgement_page.png"), full_page=True)
        page.click("#submit-judgement")
        page.wait_for_url(f"{base}/labeler?*")
        assert errors.take() == []
    fresh(db)
    task = db.scalar(select(JudgementTask))
    assert task is not None and task.status == "submitted"
    assert task.new_critique_text == "It leaves out the ending."
    ranked = db.scalars(
        select(JudgementCritique.rank)
        .where(JudgementCritique.rank.is_not(None))
        .order_by(JudgementCritique.position)
    ).all()
    assert list(ranked) == [3, 1, 2]
