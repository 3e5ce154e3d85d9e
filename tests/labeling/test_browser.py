"""A labeler in a real browser (Debian's Chromium driven by Playwright) against a live server."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import design
from app.models import Answer, LabelerCritique, Passage, Rating, Task, TaskStatus
from tests.support.browser import (
    ARTIFACTS,
    PHONE,
    WIDE,
    ConsoleErrors,
    axe_violations,
    log_in,
    needs_chromium,
    open_assisted_task,
)
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


def _experiment(
    db: Session,
    sources: list[str],
    n_labelers: int,
    passage_text: str | None = None,
    answer_text: str | None = None,
    name: str = "browser",
) -> list[str]:
    answers = corpus(db, passages=1)
    if passage_text:
        for passage in db.scalars(select(Passage)):
            passage.text = passage_text
    if answer_text:
        for answer in db.scalars(select(Answer)):
            answer.text = answer_text
    store_fake_assistance(db, answers)
    names = labelers(db, n_labelers)
    exp = design.create(db, design.Design(name=name, sources=sources, labelers=names))
    design.launch(db, exp.id)
    db.commit()
    return names


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_whole_assisted_task_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    names = _experiment(db, ["model"], 2)
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page()
        task_id = open_assisted_task(page, base, names)  # of two tasks (assist, no assist)
        page.locator("#passage-text").click()  # the first click into the text reveals it
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
        assert axe_violations(page) == []  # with critiques in place, not just the empty page
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


# About the length of the paper's passages (3,800 tokens): far more than one screen.
LONG_PASSAGE = "\n\n".join(
    f"Paragraph {i}. " + "The keeper climbs the stair and lights the lamp. " * 12 for i in range(60)
)


def _revealed(db: Session, task_id: int) -> bool:
    fresh(db)
    return db.scalar(select(Task.passage_revealed_at).where(Task.id == task_id)) is not None


def _wait_revealed(db: Session, task_id: int) -> None:
    deadline = time.monotonic() + 10
    while not _revealed(db, task_id):
        assert time.monotonic() < deadline, "the reveal was not recorded"
        time.sleep(0.1)


def _open_tasks(page, base: str, names: list[str]) -> dict[bool, tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Each labeler opens their next task; keyed by whether it shows model critiques."""
    found = {}
    for name in names:
        page.context.clear_cookies()
        log_in(page, base, name)
        page.click("text=Next task")
        page.wait_for_url(f"{base}/tasks/*")
        found[page.locator("#assistance").count() > 0] = (name, int(page.url.rsplit("/", 1)[1]))
    return found


def _open_assisted(page, base: str, names: list[str]) -> int:  # type: ignore[no-untyped-def]
    """Logged in as the labeler whose open task shows model critiques, on that task."""
    name, task_id = _open_tasks(page, base, names)[True]
    page.context.clear_cookies()
    log_in(page, base, name)
    page.goto(f"{base}/tasks/{task_id}", wait_until="networkidle")
    return task_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wide_screens_show_the_text_and_the_work_in_two_panes(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    names = _experiment(db, ["model"], 2, passage_text=LONG_PASSAGE)
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page(viewport=WIDE)
        errors = ConsoleErrors(page)
        task_id = _open_assisted(page, base, names)
        text, work = page.locator("#passage-text"), page.locator(".pane-work")
        assert text.is_visible() and not page.locator("#show-passage").is_visible()
        # Side by side: the text left, the model critiques and the labeler's work right.
        text_box, work_box = text.bounding_box(), work.bounding_box()
        assert text_box and work_box and text_box["x"] + text_box["width"] <= work_box["x"]
        assert page.locator(".pane-work #assistance").is_visible()
        # The question and the answer stay above the text; the page itself does not scroll,
        # the text and the work do, each on its own.
        question = page.locator(".question").bounding_box()
        assert question and question["y"] < text_box["y"]
        sizes = page.evaluate(
            """[document.documentElement.scrollHeight, innerHeight,
                document.documentElement.scrollWidth, innerWidth]"""
        )
        assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3]
        assert text.evaluate("e => e.scrollHeight > e.clientHeight")
        # Seeing the top of the text is not reading it: nothing is recorded until the first
        # scroll into it.
        page.wait_for_timeout(300)
        assert not _revealed(db, task_id)
        text.hover()
        page.mouse.wheel(0, 600)
        _wait_revealed(db, task_id)
        page.wait_for_function("document.getElementById('passage-text').scrollTop > 0")
        assert page.evaluate("scrollY") == 0
        question = page.locator(".question").bounding_box()
        assert question and question["y"] < text_box["y"]  # still pinned above the text
        page.screenshot(path=str(ARTIFACTS / "task_page_wide.png"))
        assert axe_violations(page) == []
        assert errors.take() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_phones_get_one_column_with_the_text_behind_a_button(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    names = _experiment(db, ["model"], 2, passage_text=LONG_PASSAGE)
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page(viewport=PHONE)
        errors = ConsoleErrors(page)
        task_id = _open_assisted(page, base, names)
        assert not page.locator("#passage-text").is_visible()
        page.mouse.wheel(0, 800)  # scrolling the page is not opening the text
        page.wait_for_timeout(300)
        assert not _revealed(db, task_id)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        page.screenshot(path=str(ARTIFACTS / "task_page_phone.png"), full_page=True)
        button = page.locator("#show-passage")
        assert button.get_attribute("aria-expanded") == "false"
        button.click()
        assert page.locator("#passage-text").is_visible()
        assert button.get_attribute("aria-expanded") == "true"
        _wait_revealed(db, task_id)
        # One column, in reading order: the text above the model critiques and the work.
        text_box = page.locator("#passage-text").bounding_box()
        work_box = page.locator("#assistance").bounding_box()
        assert text_box and work_box and text_box["y"] + text_box["height"] <= work_box["y"]
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        assert axe_violations(page) == []
        assert errors.take() == []


# An accented letter and a character outside the BMP (two UTF-16 units) before the quote.
QUOTE_ANSWER = "The café owner says that at 𝑡 = noon the keeper lights the lamp."
QUOTE_PASSAGE = (
    "The keeper climbs the stair.\r\nHe lights the lamp at dusk, never at noon.\n\n" + LONG_PASSAGE
)

# Selects characters [start, end) (UTF-16, as the DOM counts) of an element's text.
SELECT = """([selector, start, end]) => {
  const node = document.querySelector(selector).firstChild;
  const range = document.createRange();
  range.setStart(node, start);
  range.setEnd(node, end);
  getSelection().removeAllRanges();
  getSelection().addRange(range);
}"""


def _utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_critique_this_starts_a_critique_from_the_selected_words(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    names = _experiment(
        db, ["model"], 2, QUOTE_PASSAGE, answer_text=QUOTE_ANSWER, name="Lighthouse pilot"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    a_start = QUOTE_ANSWER.index("the keeper")
    p_start = QUOTE_PASSAGE.index("He lights")
    with live_app() as base:
        page = browser.new_page(viewport=WIDE)
        errors = ConsoleErrors(page)
        task_id = _open_assisted(page, base, names)
        # A used model critique is marked and links to the critique it became.
        page.locator("button.use").nth(1).click()
        used = page.locator("#assistance a.used-tag")
        used.wait_for()
        assert used.inner_text() == "used: your critique 1"
        assert page.locator("#assistance button.use").nth(1).inner_text() == "Use again"
        used.click()
        assert page.evaluate("location.hash") == used.get_attribute("href")
        # Keyboard: select words of the answer, Tab-reachable button, Enter.
        page.evaluate(
            SELECT,
            ["#answer-text", _utf16(QUOTE_ANSWER, a_start), _utf16(QUOTE_ANSWER, a_start + 10)],
        )
        page.wait_for_selector("#quote-critique.ready")
        assert "the keeper" in page.locator("#quote-status").inner_text()
        page.locator("#quote-critique").focus()
        page.keyboard.press("Enter")
        box = page.locator("#new-critique textarea")
        assert box.input_value() == "“the keeper” "
        assert page.evaluate("document.activeElement.name") == "text"  # typing goes on there
        assert page.locator("#new-critique .quote-preview").is_visible()
        page.keyboard.type("is not named in the text.")
        page.screenshot(path=str(ARTIFACTS / "task_page_quote_wide.png"))
        page.evaluate("document.querySelector('.pane-work').scrollTop = 0")
        page.screenshot(path=str(ARTIFACTS / "task_page_used_wide.png"))
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique >> nth=1 >> text=Quotes the answer")
        # The shortcut: words of the passage, after its CR LF (one line break on screen).
        page.evaluate(
            SELECT,
            [
                "#passage-text",
                _utf16(QUOTE_PASSAGE, p_start),
                _utf16(QUOTE_PASSAGE, p_start + 9),
            ],
        )
        page.keyboard.press("q")
        assert box.input_value() == "“He lights” "
        page.keyboard.type("at dusk, not at noon as the answer says.")
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique >> nth=2 >> text=Quotes the passage")
        # Dropping a quote makes a plain critique; no selection, no quote.
        page.evaluate(SELECT, ["#answer-text", 0, 4])
        page.click("#quote-critique")
        page.click("#new-critique .drop-quote")
        page.keyboard.type("A plain one.")
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique >> nth=3")
        assert axe_violations(page) == []
        # A phone: the same button under the answer, no sideways scroll.
        page.set_viewport_size(PHONE)
        page.evaluate(SELECT, ["#answer-text", 0, 4])
        page.click("#quote-critique")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        page.screenshot(path=str(ARTIFACTS / "task_page_quote_phone.png"))
        page.click("#new-critique .drop-quote")
        page.fill("#new-critique textarea", "")
        page.check("#rating input[value='3']")
        page.wait_for_selector("#rating >> text=saved")
        page.keyboard.press("Control+Enter")
        page.wait_for_url(f"{base}/labeler?*")
        # The one passage is read: the end page says so, on a phone and wide.
        page.click("text=Next task")
        # The other task is held by the other labeler: nothing is left in the pool.
        page.wait_for_url(f"{base}/labeler/end?reason=all_done")
        assert "every task of your experiments is done" in page.locator(".end-reason").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        page.screenshot(path=str(ARTIFACTS / "end_page_phone.png"), full_page=True)
        page.set_viewport_size(WIDE)
        page.screenshot(path=str(ARTIFACTS / "end_page_wide.png"), full_page=True)
        assert axe_violations(page) == []
        assert errors.take() == []
    fresh(db)
    rows = db.scalars(
        select(LabelerCritique)
        .where(LabelerCritique.task_id == task_id)
        .order_by(LabelerCritique.position)
    ).all()
    assert [(r.quote_of, r.quote_start, r.quote_end) for r in rows] == [
        (None, None, None),  # the model critique used
        ("answer", a_start, a_start + 10),
        ("passage", p_start, p_start + 9),
        (None, None, None),
    ]
    assert rows[1].text == "“the keeper” is not named in the text."
    assert QUOTE_PASSAGE[rows[2].quote_start : rows[2].quote_end] == "He lights"  # type: ignore[misc]
    assert rows[3].text == "“The” A plain one."


@contextmanager
def _assisted_task(browser, db: Session) -> Iterator[tuple[Any, str, int]]:  # type: ignore[no-untyped-def]
    """A labeler's assisted task open in a live app: (page, base URL, task id)."""
    names = _experiment(db, ["model"], 2)
    with live_app() as base:
        page = browser.new_page()
        yield page, base, open_assisted_task(page, base, names)


def _first_critique(db: Session, task_id: int) -> str:
    fresh(db)
    text = db.scalar(select(LabelerCritique.text).where(LabelerCritique.task_id == task_id))
    assert text is not None
    return text


def _status(db: Session, task_id: int) -> TaskStatus:
    fresh(db)
    return db.scalar(select(Task.status).where(Task.id == task_id))  # type: ignore[return-value]


def _rate(page) -> None:  # type: ignore[no-untyped-def]
    page.check("#rating input[value='3']")
    page.wait_for_selector("#rating >> text=saved")


# Types into the first critique form the moment a swap puts it in the page (a
# MutationObserver runs right after the swapping script), as a fast labeler or a test
# driver can: htmx must already listen on it, or the edit is never saved.
TYPE_ON_ARRIVAL = """() => new Promise((resolve) => {
  new MutationObserver((_, observer) => {
    const box = document.querySelector("form.critique textarea");
    if (!box) return;
    observer.disconnect();
    box.value += " Typed at once.";
    box.dispatchEvent(new Event("input", { bubbles: true }));
    resolve();
  }).observe(document.body, { childList: true, subtree: true });
  document.querySelector("button.use").click();
})"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_critique_is_saved_when_typed_into_the_moment_it_appears(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    with _assisted_task(browser, db) as (page, _, task_id):
        page.evaluate(TYPE_ON_ARRIVAL)
        page.wait_for_selector("form.critique >> text=saved", timeout=5000)
    assert _first_critique(db, task_id).endswith(" Typed at once.")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_submit_saves_an_edit_typed_just_before_it(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    with _assisted_task(browser, db) as (page, base, task_id):
        _rate(page)
        page.locator("button.use").first.click()
        page.wait_for_selector("form.critique")
        # Ctrl+Enter well inside the 700 ms an edit waits before it is saved. An edit the
        # server refuses stops the submit; the next one goes through first.
        page.locator("form.critique textarea").fill(" ")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("form.critique .field-status.error")
        assert _status(db, task_id) == TaskStatus.assigned
        page.keyboard.type("Typed last.")
        page.keyboard.press("Control+Enter")
        page.wait_for_url(f"{base}/labeler?*")
    assert _first_critique(db, task_id) == "Typed last."  # stored stripped
    assert _status(db, task_id) == TaskStatus.submitted


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_submit_stops_for_a_critique_started_but_not_added(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    with _assisted_task(browser, db) as (page, base, task_id):
        _rate(page)
        page.fill("#new-critique textarea", "The dates are wrong.")
        page.click("#submit")
        alert = page.locator("#submit-box [role=alert]")
        alert.wait_for()
        assert "not added" in alert.inner_text()
        assert page.evaluate("document.activeElement.closest('#new-critique') !== null")
        assert _status(db, task_id) == TaskStatus.assigned
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique")
        page.click("#submit")
        page.wait_for_url(f"{base}/labeler?*")
    assert _status(db, task_id) == TaskStatus.submitted


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_leaving_the_page_sends_an_edit_still_waiting(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    with _assisted_task(browser, db) as (page, _, task_id):
        page.locator("button.use").first.click()
        page.wait_for_selector("form.critique")
        asked: list[str] = []
        page.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))  # stay
        page.locator("form.critique textarea").press("End")
        page.keyboard.type(" Typed before leaving.")
        page.evaluate("location.href = '/labeler'")
        page.wait_for_selector("form.critique >> text=saved")
        assert asked == ["beforeunload"]
    assert _first_critique(db, task_id).endswith(" Typed before leaving.")
