"""Stores what the task page measured, riding on the autosave and submit requests.

Each report is the page's running total, so a later one supersedes an earlier one; each
number keeps the larger of the two (a page reloaded without its stored totals starts again
from zero, and must not erase what was recorded)."""

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import AppError
from app.integrity.schemas import MAX_PASTES, CritiqueProvenanceIn, ProvenanceIn
from app.models import LabelerCritique, Task, TaskProvenance
from app.models.base import utcnow


def parse_form(raw: str | None) -> ProvenanceIn | None:
    """The page sends the provenance as one JSON form field."""
    if not raw:
        return None
    try:
        return ProvenanceIn.model_validate_json(raw)
    except ValidationError as exc:
        err = AppError.from_validation(exc)
        raise AppError(f"provenance.{err.message}", field="provenance") from exc


def record(session: Session, task: Task, payload: ProvenanceIn | None) -> None:
    """Merge one report into the task's provenance. No report, no work (the API loop)."""
    if payload is None:
        return
    ids = _critique_ids(session, task.id, payload.critiques)
    row = session.get(TaskProvenance, task.id)
    if row is None:
        row = TaskProvenance(task_id=task.id, away_s=0.0, departures=0, critiques={})
        session.add(row)
    row.away_s = max(row.away_s or 0.0, payload.away_s)
    row.departures = max(row.departures or 0, payload.departures)
    merged = dict(row.critiques or {})
    for item, cid in zip(payload.critiques, ids, strict=True):
        if cid is not None:
            merged[str(cid)] = _merge(merged.get(str(cid)), item)
    row.critiques = merged  # a new dict: JSON columns see reassignment, not mutation
    row.updated_at = utcnow()
    session.flush()


def _critique_ids(
    session: Session, task_id: int, items: list[CritiqueProvenanceIn]
) -> list[int | None]:
    """Each item's critique id; None for an id no longer on the task (deleted since the
    page counted it). A position beyond the task's critiques is an error."""
    if not items:
        return []
    order = list(
        session.scalars(
            select(LabelerCritique.id)
            .where(LabelerCritique.task_id == task_id)
            .order_by(LabelerCritique.position)
        )
    )
    known = set(order)
    out: list[int | None] = []
    for i, item in enumerate(items):
        if item.position is not None:
            if item.position > len(order):
                raise AppError(
                    f"provenance.critiques.{i}.position: the task has {len(order)} critiques",
                    field="provenance",
                )
            out.append(order[item.position - 1])
        else:
            out.append(item.critique_id if item.critique_id in known else None)
    return out


def _merge(old: dict[str, Any] | None, new: CritiqueProvenanceIn) -> dict[str, Any]:
    got = new.model_dump(exclude={"critique_id", "position"})
    if old is None:
        return got
    out = dict(old)
    for key in ("typed_chars", "pasted_chars", "typing_s", "edits_after_use"):
        out[key] = max(old.get(key) or 0, got[key])
    if len(got["pastes"]) >= len(old.get("pastes") or []):
        out["pastes"] = got["pastes"][:MAX_PASTES]
    firsts = [v for v in (old.get("first_key_s"), got["first_key_s"]) if v is not None]
    out["first_key_s"] = min(firsts) if firsts else None
    return out
