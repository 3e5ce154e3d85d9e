"""The worker learns what it can run from the domains (app.jobs never imports one), and one
cached health check of the model backend serves the app's /health and the admin jobs page."""

import asyncio

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.assist.service import ASSISTANCE, MODEL_ANSWER
from app.core import settings
from app.corpus.service import IMPORT
from app.corpus.tasks import run_import
from app.jobs import backend, registry, routes
from tests.support.model_server import free_port
from tests.support.web import login, make_user


def test_every_domain_registers_its_jobs_and_says_which_need_the_model() -> None:
    table = registry.handlers()
    assert {ASSISTANCE, MODEL_ANSWER, IMPORT} <= set(table)
    assert table[IMPORT] is run_import
    assert registry.model_kinds() == {ASSISTANCE, MODEL_ANSWER}


def test_a_kind_is_run_by_one_handler() -> None:
    registry.register(IMPORT, run_import)  # the same registration again is harmless
    with pytest.raises(ValueError, match="'corpus.import' is already registered"):
        registry.register(IMPORT, registry.handlers()[ASSISTANCE])
    assert registry.handlers()[IMPORT] is run_import


def test_one_cached_health_check_serves_the_apps_health_and_the_jobs_page(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRITIQUELAB_MODEL_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("CRITIQUELAB_MODEL_HEALTH_TIMEOUT_S", "1")
    settings.get_settings.cache_clear()
    # Long enough ages that the test does not depend on how fast this machine is.
    monkeypatch.setattr(backend, "STATE_MAX_AGE_S", 60.0)
    monkeypatch.setattr(routes, "HEALTH_MAX_AGE_S", 60.0)
    real = registry.backend()
    checks: list[float] = []

    async def counted(timeout_s: float) -> tuple[bool, str]:
        checks.append(timeout_s)
        return await real.health(timeout_s)

    monkeypatch.setattr(registry, "_backend", registry.Backend(real.probe, counted))
    make_user(db, "ada", "admin")
    login(client, "ada")

    assert client.get("/health").json()["model_backend"]["status"] == "down"
    page = client.get("/admin/jobs/status").text
    assert "unavailable" in page and "ConnectError" in page
    assert client.get("/health").json()["model_backend"]["status"] == "down"
    assert checks == [1.0]
    asyncio.run(backend.backend_health(max_age_s=0))  # a caller that wants a fresh answer
    assert checks == [1.0, 1.0]
    settings.get_settings.cache_clear()
