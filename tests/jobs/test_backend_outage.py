"""A model backend that is down costs the jobs nothing: the real worker loop, pointed at a
closed port, leaves every job queued with its attempts intact, the admin sees since when
the backend is down, and once the real model server comes up on that port the worker
finishes the jobs by itself."""

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.service import request_assistance
from app.core import settings
from app.corpus.demo import load_demo
from app.jobs import queue
from app.jobs.backend import SUSPECT_AFTER, Breaker
from app.models import Answer, AssistanceSet, Job
from tests.jobs.worker_thread import WorkerThread
from tests.support.db import fresh
from tests.support.model_server import ModelServerProcess, free_port
from tests.support.web import login, make_user


@pytest.fixture
def closed_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The model URL points at a port nobody listens on (yet); small probe delays."""
    port = free_port()
    monkeypatch.setenv("CRITIQUELAB_MODEL_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("CRITIQUELAB_MODEL_NAME", "smollm2-135m-instruct")
    monkeypatch.setenv("CRITIQUELAB_CRITIQUE_MAX_TOKENS", "24")
    monkeypatch.setenv("CRITIQUELAB_MODEL_RETRIES", "1")
    monkeypatch.setenv("CRITIQUELAB_MODEL_PROBE_FIRST_S", "0.2")
    monkeypatch.setenv("CRITIQUELAB_MODEL_PROBE_MAX_S", "1")
    monkeypatch.setenv("CRITIQUELAB_MODEL_HEALTH_TIMEOUT_S", "1")
    settings.get_settings.cache_clear()
    yield port
    settings.get_settings.cache_clear()


def _request_assistance(db: Session, n: int) -> list[int]:
    load_demo(db)
    db.commit()
    answer_ids = list(db.scalars(select(Answer.id).order_by(Answer.id).limit(n)))
    request_assistance(db, answer_ids, "smollm2-135m-instruct", "chat-v1")
    db.commit()
    return answer_ids


def _jobs(db: Session) -> list[Job]:
    fresh(db)
    return list(db.scalars(select(Job).order_by(Job.id)))


def test_jobs_wait_while_the_backend_is_down_and_resume_when_it_is_back(
    db: Session,
    client: TestClient,
    closed_port: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="critiquelab.worker")
    answer_ids = _request_assistance(db, 2)
    make_user(db, "ada", "admin")
    login(client, "ada")
    server = ModelServerProcess(port=closed_port, log_dir=tmp_path)
    try:
        with WorkerThread() as worker:
            time.sleep(4)  # several probes, with the backoff at its (test) ceiling
            jobs = _jobs(db)
            assert [(j.status, j.attempts) for j in jobs] == [("queued", 0)] * 2
            assert any(j.last_error and j.last_error.startswith(queue.BACKEND_DOWN) for j in jobs)

            page = client.get("/admin/jobs/status").text
            assert "Model backend down since" in page and "2 jobs waiting" in page
            assert f"127.0.0.1:{closed_port}" in page and "ConnectError" in page
            health = client.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            assert health.json()["model_backend"]["status"] == "down"
            assert "unreachable" in health.json()["model_backend"]["error"]

            server.start(timeout_s=120)  # the real model server, on the URL the jobs use
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                jobs = _jobs(db)
                if all(j.status != "queued" and j.status != "running" for j in jobs):
                    break
                time.sleep(0.5)
        assert worker.done is not None and worker.done >= 2
        assert [(j.status, j.attempts) for j in jobs] == [("succeeded", 0)] * 2, [
            j.last_error for j in jobs
        ]
        for answer_id in answer_ids:
            assert db.scalar(select(AssistanceSet).where(AssistanceSet.answer_id == answer_id))
        assert "model backend is back" in caplog.text
        assert "Model backend down since" not in client.get("/admin/jobs/status").text
        assert client.get("/health").json()["model_backend"]["status"] == "ready"
    finally:
        server.stop()


def test_a_worker_behind_an_open_breaker_claims_no_model_job(db: Session, closed_port: int) -> None:
    _request_assistance(db, 3)
    with WorkerThread():
        time.sleep(2.5)
    jobs = _jobs(db)
    # One job found the backend down; the others were never claimed, let alone failed.
    assert [(j.status, j.attempts) for j in jobs] == [("queued", 0)] * 3
    released = [j for j in jobs if j.last_error]
    assert len(released) == 1 and released[0].last_error.startswith(queue.BACKEND_DOWN)


def test_the_apps_health_stays_ok_and_says_the_backend_is_down(
    client: TestClient, closed_port: int
) -> None:
    started = time.monotonic()
    resp = client.get("/health")
    assert time.monotonic() - started < 5
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["model_backend"]["status"] == "down"
    error = body["model_backend"]["error"]
    assert error.startswith("unreachable: ConnectError") and str(closed_port) not in error


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_breaker_backs_off_doubling_to_its_ceiling_and_resets_once_a_job_gets_through() -> None:
    clock = Clock()
    breaker = Breaker(1.0, 30.0, clock=clock)
    assert not breaker.is_open and not breaker.probe_due()
    assert breaker.trip() == 1.0 and breaker.is_open and not breaker.probe_due()
    clock.t = 1.0
    assert breaker.probe_due()
    assert [breaker.probe_failed() for _ in range(6)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    clock.t = 100.0
    assert breaker.close() == 100.0 and not breaker.is_open
    # Health said ready but the next job found it down again: keep backing off.
    assert breaker.trip() == 30.0
    breaker.close()
    breaker.reached(job_id=1)  # a job got an answer: the backend really is up
    assert breaker.trip() == 1.0


def test_a_job_the_backend_goes_down_under_every_time_is_suspected_at_last() -> None:
    breaker = Breaker(1.0, 30.0)
    assert [breaker.suspect(7) for _ in range(SUSPECT_AFTER)] == [False] * (SUSPECT_AFTER - 1) + [
        True
    ]
    assert breaker.suspect(7) is False  # counted once, then it starts over
    breaker.reached(job_id=7)
    assert breaker.suspect(7) is False
