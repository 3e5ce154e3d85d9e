"""Exports for researchers: streamed JSONL, straight from the database."""

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.core.database import session_scope
from app.core.deps import ResearcherUser, SessionDep
from app.experiments import design
from app.export.service import export_chunks
from app.integrity.service import refresh_now

api = APIRouter(prefix="/api/v1/experiments", tags=["export"])


def _stream(experiment_id: int) -> Iterator[bytes]:
    # Its own read session: the response streams after the request's session has closed.
    with session_scope(writes=False) as session:
        yield from export_chunks(session, experiment_id)


@api.get("/{exp_id}/export")
def export(db: SessionDep, user: ResearcherUser, exp_id: int) -> StreamingResponse:
    refresh_now(exp_id)  # the integrity check of new tasks, before this read-only session reads
    design.get(db, exp_id)  # 404 for an unknown experiment, before streaming starts
    return StreamingResponse(
        _stream(exp_id),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="experiment-{exp_id}.jsonl"'},
    )
