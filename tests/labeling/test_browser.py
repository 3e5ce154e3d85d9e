"""A labeler in a real browser (Debian's Chromium driven by Playwright) against a live server."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import design
from app.models import LabelerCritique, Rating, Task, TaskStatus
from tests.support.browser import ARTIFACTS, log_in, needs_chromium
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, store_fake_assistance
from tests.support.live_server import live_app

pytestmark = needs_chromium


def _take_task(page, base: str, want_assist: bool, db: Session) -> int:  # type: ignore[no-untyped-def]
    page.click("text=Next task")
    page.wait_for_url(f"{base}/tasks/*")
    task_id = int(page.url.rsplit("/", 1)[1])
    fresh(db)
    assert (
        db.scalar(select(Task.assistance_set_id).where(Task.id == task_id)) is not None
    ) == want_assist
    return task_id


def _experiment(db: Session, sources: list[str], n_labelers: int) -> list[str]:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, n_labelers)
    exp = design.create(db, design.Design(name="browser", sources=sources, labelers=names))
    design.launch(db, exp.id)
    db.commit()
    return names


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_whole_assisted_task_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    names = _experiment(db, ["model"], 2)
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page()
        task_id = None
        for name in names:  # two tasks (assist, no assist): find the assisted one
            page.context.clear_cookies()
            log_in(page, base, name)
            page.click("text=Next task")
            page.wait_for_url(f"{base}/tasks/*")
            if page.locator("#assistance").count():
                task_id = int(page.url.rsplit("/", 1)[1])
                break
        assert task_id is not None
        page.click("#passage summary")
        page.locator("h1").click()
        page.keyboard.press("Shift+Digit1")  # shortcut: use model critique 1
        page.wait_for_selector("form.critique >> nth=0")
        page.locator("button.use").nth(1).click()
        page.wait_for_selector("form.critique >> nth=1")
        first = page.locator("form.critique").nth(0).locator("textarea")
        first.fill(first.input_value() + " And the year is wrong.")
        page.wait_for_selector("form.critique >> nth=0 >> text=saved")
        # A reload in the middle keeps the draft.
        page.reload()
        assert page.locator("form.critique").count() == 2
        assert (
            page.locator("form.critique")
            .nth(0)
            .locator("textarea")
            .input_value()
            .endswith("And the year is wrong.")
        )
        page.fill("#new-critique textarea", "It never answers the question <b>asked</b>.")
        page.select_option("#new-critique select[name=severity]", "3")
        page.select_option("#new-critique select[name=category]", "coverage")
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique >> nth=2")
        page.check("#rating input[value='2']")
        page.wait_for_selector("#rating >> text=saved")
        page.screenshot(path=str(ARTIFACTS / "task_page_assist.png"), full_page=True)
        page.click("#submit")
        page.wait_for_url(f"{base}/labeler?*")
        assert "Submitted" in page.content()
    fresh(db)
    task = db.get(Task, task_id)
    assert (
        task is not None
        and task.status == TaskStatus.submitted
        and task.passage_revealed_at is not None
    )
    rows = db.scalars(
        select(LabelerCritique)
        .where(LabelerCritique.task_id == task_id)
        .order_by(LabelerCritique.position)
    ).all()
    assert [(r.edited, r.assistance_critique_id is not None) for r in rows] == [
        (True, True),
        (False, True),
        (None, False),
    ]
    assert rows[0].edit_distance == len(" And the year is wrong.")
    assert (rows[2].text, rows[2].severity, rows[2].category) == (
        "It never answers the question <b>asked</b>.",
        3,
        "coverage",
    )
    assert db.get(Rating, task_id).value == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_no_assist_task_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    names = _experiment(db, ["human"], 2)
    with live_app() as base:
        page = browser.new_page()
        task_id = None
        for name in names:
            page.context.clear_cookies()
            log_in(page, base, name)
            page.click("text=Next task")
            page.wait_for_url(f"{base}/tasks/*")
            if not page.locator("#assistance").count():
                task_id = int(page.url.rsplit("/", 1)[1])
                break
        assert task_id is not None
        page.locator("h1").click()
        page.keyboard.press("n")  # shortcut: focus a new critique
        page.keyboard.type("Wrong name.")
        page.keyboard.press("Alt+Digit3")  # severity 3
        page.keyboard.press("Alt+KeyH")  # category coherence
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique")
        page.keyboard.press("Escape")
        page.locator("h1").click()
        page.keyboard.press("6")  # rating shortcut
        page.wait_for_selector("#rating >> text=saved")
        page.screenshot(path=str(ARTIFACTS / "task_page_no_assist.png"), full_page=True)
        page.keyboard.press("Control+Enter")
        page.wait_for_url(f"{base}/labeler?*")
    fresh(db)
    task = db.get(Task, task_id)
    assert (
        task is not None and task.status == TaskStatus.submitted and task.assistance_set_id is None
    )
    assert db.get(Rating, task_id).value == 6  # type: ignore[union-attr]
    rows = db.scalars(select(LabelerCritique).where(LabelerCritique.task_id == task_id)).all()
    assert [(c.text, c.severity, c.category) for c in rows] == [("Wrong name.", 3, "coherence")]
