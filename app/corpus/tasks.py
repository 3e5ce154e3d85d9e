"""The worker's side of imports: take over an import whose process stopped (see
app.corpus.jobs). Registered with the queue's registry at import (app.tasks imports this)."""

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from app.core.database import session_scope
from app.corpus.jobs import IMPORT, fail_interrupted, fail_ownerless
from app.jobs import registry

logger = logging.getLogger(__name__)


def _recover(run_id: int, path: Path) -> None:
    with session_scope() as session:
        if fail_interrupted(session, run_id):
            logger.warning("import run %s: its process stopped; marked failed", run_id)
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)  # the upload, if that process was on this host


async def recover_import(payload: dict[str, Any]) -> None:
    """Reached only when the import's owner stopped renewing its lease."""
    await asyncio.to_thread(_recover, int(payload["run_id"]), Path(str(payload["path"])))


def fail_stranded() -> None:
    """Import runs from before imports held leases have no job to be taken over by."""
    with session_scope() as session:
        stranded = fail_ownerless(session)
    if stranded:
        logger.warning("marked %d interrupted import run(s) failed", stranded)


registry.register(IMPORT, recover_import)
registry.on_worker_start(fail_stranded)
