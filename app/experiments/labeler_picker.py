"""Choosing an experiment's labelers at scale: active labelers searched by name in the
database, one page at a time; the chosen ones travel with the form, not the page."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import Role, User

PAGE_SIZE = 50


class Pick(StrEnum):
    """What the picker's buttons do to every labeler the search keeps (all pages)."""

    all = "all"
    none = "none"


@dataclass(frozen=True)
class LabelerPage:
    names: list[str]  # this page, by name
    total: int  # matching the search, all pages
    page: int
    chosen: list[str]  # after the pick, in the order given


def _matching(search: str) -> Select[tuple[str]]:
    stmt = select(User.username).where(User.role == Role.labeler, User.is_active.is_(True))
    for word in search.split()[:8]:
        stmt = stmt.where(User.username.ilike(f"%{word.replace('%', '').replace('_', '')}%"))
    return stmt


def active_labelers(session: Session) -> list[str]:
    return list(session.scalars(_matching("").order_by(User.username)))


def labelers_page(
    session: Session, search: str, page: int, chosen: Sequence[str], pick: Pick | None = None
) -> LabelerPage:
    """One page of the labelers the search keeps, and the chosen ones after a pick (tick or
    untick every match, on every page): two queries, three with a pick."""
    stmt = _matching(search)
    kept = list(dict.fromkeys(chosen))
    if pick is not None:
        matches = set(session.scalars(stmt))
        if pick == Pick.all:
            kept += sorted(matches - set(kept))
        else:
            kept = [name for name in kept if name not in matches]
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = min(max(page, 0), max(total - 1, 0) // PAGE_SIZE)
    names = list(
        session.scalars(stmt.order_by(User.username).offset(page * PAGE_SIZE).limit(PAGE_SIZE))
    )
    return LabelerPage(names, total, page, kept)
