"""The researcher's report page: figures and numbers, the same as the offline analysis."""

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.analysis.report import analyze
from app.analysis.simulate import SimParams, simulate
from app.export.service import export_lines
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.live_server import live_app
from tests.support.web import login, make_user

SMALL = SimParams(name="small", passages=6, labelers=6, writers=2, seed=3)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_report_page_shows_figures_and_the_offline_numbers(
    client: TestClient, db: Session
) -> None:
    exp_id = simulate(db, SMALL)
    make_user(db, "rita", "researcher")
    login(client, "rita")
    assert f"/research/experiments/{exp_id}/report" in client.get("/research").text
    page = client.get(f"/research/experiments/{exp_id}/report")
    assert "Computing the report from 36 submitted labeling tasks" in page.text
    fragment = client.get(f"/research/experiments/{exp_id}/report/fragment").text
    assert fragment.count("<svg") == 6 and "Intended critiques found" in fragment
    numbers = client.get(f"/api/v1/experiments/{exp_id}/analysis").json()
    offline = analyze(orjson.loads(line) for line in export_lines(db, exp_id))
    assert numbers == orjson.loads(orjson.dumps(offline))
    assert client.get("/research/experiments/999/report").status_code == 404


@needs_chromium
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_report_in_the_browser(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    from tests.support.browser import log_in

    exp_id = simulate(db, SMALL)
    make_user(db, "rita", "researcher")
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app() as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base, "rita", lands_on="/research")
        page.click(f"a[href='/research/experiments/{exp_id}/report']")
        page.wait_for_selector("figure[data-figure=fig1_critiques_per_answer] svg")
        assert page.locator("#report figure").count() == 6
        page.screenshot(path=str(ARTIFACTS / "report_page.png"), full_page=True)
