"""The worker touches CRITIQUELAB_WORKER_HEARTBEAT_FILE as it polls: docker-compose's
healthcheck reads its age."""

import asyncio
import os
import time
from pathlib import Path

import pytest

from app.core import settings
from app.jobs.worker import run_worker


def test_an_idle_worker_keeps_its_heartbeat_file_fresh(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beat = tmp_path / "worker.alive"
    monkeypatch.setenv("CRITIQUELAB_WORKER_HEARTBEAT_FILE", str(beat))
    settings.get_settings.cache_clear()
    try:
        asyncio.run(run_worker(once=True))
        first = beat.stat().st_mtime
        os.utime(beat, (first - 120, first - 120))  # as if the worker had hung two minutes ago
        asyncio.run(run_worker(once=True))
        assert time.time() - beat.stat().st_mtime < 60
    finally:
        settings.get_settings.cache_clear()
