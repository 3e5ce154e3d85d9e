"""The model server's engine crashing in the middle of a sweep (as llama.cpp did on AMX
CPUs) costs nothing but time: the in-flight requests get 503, the engine restarts, and the
worker's job succeeds by itself with no attempt spent."""

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.service import request_assistance
from app.core import settings
from app.corpus.demo import load_demo
from app.models import Answer, AssistanceSet, Job
from tests.jobs.worker_thread import WorkerThread
from tests.support.db import fresh
from tests.support.model_server import ModelServerProcess


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelServerProcess]:
    ms = ModelServerProcess(log_dir=tmp_path, extra_args=("--restart-backoff-s", "0.2")).start()
    monkeypatch.setenv("CRITIQUELAB_MODEL_URL", ms.url)
    monkeypatch.setenv("CRITIQUELAB_MODEL_NAME", "smollm2-135m-instruct")
    monkeypatch.setenv("CRITIQUELAB_CRITIQUE_MAX_TOKENS", "48")
    monkeypatch.setenv("CRITIQUELAB_MODEL_RETRIES", "0")
    monkeypatch.setenv("CRITIQUELAB_MODEL_PROBE_FIRST_S", "0.2")
    monkeypatch.setenv("CRITIQUELAB_MODEL_PROBE_MAX_S", "1")
    settings.get_settings.cache_clear()
    yield ms
    ms.stop()
    settings.get_settings.cache_clear()


def test_engine_segfault_mid_sweep_the_job_still_succeeds_with_no_attempt_spent(
    db: Session, server: ModelServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="critiquelab.worker")
    load_demo(db)
    db.commit()
    answer_id = db.scalars(select(Answer.id).order_by(Answer.id)).first()
    request_assistance(db, [answer_id], "smollm2-135m-instruct", "chat-v1")
    db.commit()
    first_engine = server.engine_pid()
    with WorkerThread():
        deadline = time.monotonic() + 60
        while fresh(db).scalar(select(Job.status)) != "running":
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        time.sleep(0.5)  # the critiques of the sweep are being decoded
        os.kill(first_engine, signal.SIGSEGV)
        deadline = time.monotonic() + 240
        while True:
            fresh(db)
            job = db.scalars(select(Job)).one()
            if job.status in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, (job.status, job.last_error)
            time.sleep(0.3)
    assert (job.status, job.attempts) == ("succeeded", 0), job.last_error
    assert db.scalar(select(AssistanceSet).where(AssistanceSet.answer_id == answer_id))
    assert "model backend unreachable" in caplog.text  # the crash did hit the running job
    health = server.health()
    assert health["status"] == "ready" and health["engine"]["restarts"] == 1
    assert "SIGSEGV" in health["engine"]["last_error"]
