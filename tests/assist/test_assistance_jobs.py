"""Assistance end to end with the shipped model: job -> worker -> sweep -> stored, sorted set.
And the durability promise: kill the model server mid-job, the job waits visibly (no attempt
spent: the backend was unreachable), and finishes once the server is back."""

import asyncio
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.dedupe import normalise
from app.assist.service import request_assistance
from app.assist.sweep import CRITIQUE_TEMPERATURES
from app.core import settings
from app.corpus.demo import load_demo
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from app.models import Answer, AssistanceCritique, AssistanceSet, Job
from tests.support.db import fresh
from tests.support.model_server import ModelServerProcess
from tests.support.web import login, make_user


def _first_answer(db: Session) -> int:
    load_demo(db)
    db.commit()
    answer_id = db.scalar(select(Answer.id).where(Answer.source == "model").order_by(Answer.id))
    assert answer_id is not None
    return answer_id


def _enqueue(db: Session, answer_id: int) -> None:
    s = settings.get_settings()
    request_assistance(db, [answer_id], s.model_name, "chat-v1")
    db.commit()


@pytest.mark.usefixtures("model_settings")
def test_whole_sweep_is_stored_deduplicated_scored_and_sorted(db: Session) -> None:
    answer_id = _first_answer(db)
    _enqueue(db, answer_id)
    assert asyncio.run(run_one("test-worker", handlers())) is True
    fresh(db)
    job = db.scalar(select(Job))
    assert job is not None and job.status == "succeeded", job.last_error if job else None
    aset = db.scalar(select(AssistanceSet).where(AssistanceSet.answer_id == answer_id))
    assert (
        aset is not None
        and aset.model_name == "smollm2-135m-instruct"
        and aset.prompt_format == "chat-v1"
    )
    assert aset.critiqueability_score is None or 0 < aset.critiqueability_score < 1
    critiques = db.scalars(
        select(AssistanceCritique)
        .where(AssistanceCritique.assistance_set_id == aset.id)
        .order_by(AssistanceCritique.rank)
    ).all()
    assert 1 <= len(critiques) <= 8
    assert len({normalise(c.text) for c in critiques}) == len(critiques), "no duplicates"
    assert all(c.text.strip() for c in critiques)
    assert [c.rank for c in critiques] == list(range(1, len(critiques) + 1))
    assert len({c.temperature for c in critiques}) == len(critiques)
    assert all(c.temperature in CRITIQUE_TEMPERATURES for c in critiques)
    for c in critiques:
        assert (
            c.helpfulness_score is not None and 0 < c.helpfulness_score < 1
        ) or c.score_missing_reason
        assert c.latency_ms is not None and c.latency_ms > 0
        assert (c.model_name, c.prompt_format) == ("smollm2-135m-instruct", "chat-v1")
    scored = [c.helpfulness_score for c in critiques if c.helpfulness_score is not None]
    assert scored == sorted(scored, reverse=True)
    # A second run for the same answer keeps the set labelers may have seen.
    _enqueue(db, answer_id)
    assert asyncio.run(run_one("test-worker", handlers())) is False  # job already succeeded
    assert len(db.scalars(select(AssistanceSet)).all()) == 1


def test_killing_the_model_server_mid_job_then_restarting_it(
    db: Session, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ModelServerProcess(log_dir=tmp_path).start()
    try:
        monkeypatch.setenv("CRITIQUELAB_MODEL_URL", server.url)
        monkeypatch.setenv("CRITIQUELAB_MODEL_RETRIES", "1")
        monkeypatch.setenv(
            "CRITIQUELAB_CRITIQUE_MAX_TOKENS", "96"
        )  # a sweep long enough to interrupt
        settings.get_settings.cache_clear()
        answer_id = _first_answer(db)
        _enqueue(db, answer_id)

        async def run_and_kill() -> bool:
            task = asyncio.create_task(run_one("test-worker", handlers()))
            await asyncio.sleep(1.0)  # the sweep is under way
            server.kill()
            return await task

        assert asyncio.run(run_and_kill()) is True
        fresh(db)
        job = db.scalar(select(Job))
        assert job is not None
        assert job.status == "queued" and job.attempts == 0  # unreachable: no attempt spent
        assert (
            job.last_error
            and "ModelUnavailable" in job.last_error
            and server.url.removesuffix("/v1") in job.last_error
        )
        assert db.scalar(select(AssistanceSet)) is None  # nothing half-stored

        # The admin sees the error while the server is down.
        make_user(db, "ada", "admin")
        login(client, "ada")
        page = client.get("/admin/jobs/status").text
        assert "unavailable" in page and "Model backend down since" in page
        assert "1 job waiting" in page and "ModelUnavailable" in page

        server.start()
        time.sleep(max(0.0, (job.run_after - job.updated_at).total_seconds()) + 0.2)  # its backoff
        assert asyncio.run(run_one("test-worker", handlers())) is True
        fresh(db)
        job = db.scalar(select(Job))
        assert job is not None and job.status == "succeeded" and job.attempts == 0, (
            job.status,
            job.attempts,
            job.last_error,
        )
        assert (
            db.scalar(select(AssistanceSet).where(AssistanceSet.answer_id == answer_id)) is not None
        )
        assert "healthy" in client.get("/admin/jobs/status").text
    finally:
        server.stop()
        settings.get_settings.cache_clear()


@pytest.mark.usefixtures("model_settings")
def test_model_answer_job_stores_text_temperature_model_and_prompt_version(db: Session) -> None:
    from app.assist.service import request_missing_model_answers
    from app.assist.sweep import ANSWER_TEMPERATURES
    from app.corpus.repository import CorpusRepository

    repo = CorpusRepository(db)
    passage, _ = repo.get_or_create_passage("Bees", "Honey bees dance to show where food is.")
    question, _ = repo.get_or_create_question(passage, "Why do bees dance?")
    db.commit()
    assert request_missing_model_answers(db) == 1
    db.commit()
    assert asyncio.run(run_one("test-worker", handlers())) is True
    fresh(db)
    answer = db.scalar(select(Answer).where(Answer.question_id == question.id))
    assert answer is not None and answer.source == "model" and answer.text.strip()
    assert answer.temperature in ANSWER_TEMPERATURES
    assert (answer.model_name, answer.prompt_format) == ("smollm2-135m-instruct", "chat-v1")
    assert request_missing_model_answers(db) == 0
