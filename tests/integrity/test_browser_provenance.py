"""Provenance in a real browser (Chromium) on PostgreSQL: typing, pasting, leaving the tab
and using a model critique give the stored counts and timings, within a tolerance."""

import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LabelerCritique, TaskProvenance
from tests.support.browser import WIDE, ConsoleErrors, needs_chromium, open_assisted_task
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance
from tests.support.live_server import live_app

pytestmark = needs_chromium

TYPED = "The year is wrong."
PASTED = " It says spring; the text says autumn."
EDIT = " Really."
LEAVE = """() => {
  window.dispatchEvent(new Event("blur"));
  Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
COME_BACK = """() => {
  Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
  window.dispatchEvent(new Event("focus"));
}"""


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_typing_pasting_leaving_and_using_are_counted(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    store_fake_assistance(db, corpus(db, passages=1))
    names = labelers(db, 2)
    launched(db, names, sources=("model",))
    db.commit()
    with live_app() as base:
        context = browser.new_context(viewport=WIDE)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = context.new_page()
        errors = ConsoleErrors(page)
        task_id = open_assisted_task(page, base, names)
        page.reload()  # the task opens here: the clock of first_key_s starts
        opened = time.monotonic()
        page.wait_for_timeout(1500)
        box = page.locator("#new-critique textarea")
        box.click()
        first_key = time.monotonic() - opened
        page.keyboard.type(TYPED, delay=60)
        page.evaluate("text => navigator.clipboard.writeText(text)", PASTED)
        page.keyboard.press("Control+V")
        assert box.input_value() == TYPED + PASTED
        page.click("#new-critique button[type=submit]")
        page.wait_for_selector("form.critique >> nth=0")

        # Leave the tab for two seconds. Headless Chromium keeps every tab visible and
        # focused, so the test plays the browser's part: the window loses focus and the
        # page becomes hidden (one departure, both signals), then both come back.
        page.evaluate(LEAVE)
        time.sleep(2.0)
        page.evaluate(COME_BACK)

        page.locator("button.use").first.click()
        page.wait_for_selector("form.critique >> nth=1")
        used = page.locator("form.critique").nth(1).locator("textarea")
        used.click()
        used.press("End")
        page.keyboard.type(EDIT, delay=30)
        page.wait_for_selector("form.critique >> nth=1 >> text=saved")
        page.check('#rating input[value="4"]')
        page.click("#submit")
        page.wait_for_url(f"{base}/labeler*")
        assert errors.take() == []
        context.close()

    fresh(db)
    row = db.get(TaskProvenance, task_id)
    assert row is not None
    ids = db.scalars(
        select(LabelerCritique.id)
        .where(LabelerCritique.task_id == task_id)
        .order_by(LabelerCritique.position)
    ).all()
    own, taken = (row.critiques[str(i)] for i in ids)
    assert own["typed_chars"] == len(TYPED) and own["pasted_chars"] == len(PASTED)
    assert [p["chars"] for p in own["pastes"]] == [len(PASTED)]
    assert first_key - 0.5 <= own["first_key_s"] <= first_key + 3.0
    assert own["first_key_s"] <= own["pastes"][0]["at_s"] <= own["first_key_s"] + 5.0
    assert 0.4 <= own["typing_s"] <= 5.0  # 17 gaps of ~60 ms, plus the browser's own
    assert taken["edits_after_use"] == len(EDIT) and taken["typed_chars"] == len(EDIT)
    assert taken["pasted_chars"] == 0
    assert row.departures == 1
    assert 1.9 <= row.away_s <= 4.0
