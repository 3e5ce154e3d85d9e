"""Row locks that serialise writes to one object (a task, an answer, an experiment)."""

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def get_for_update(session: Session, model: type[T], ident: int) -> T | None:
    """The row, fresh from the database and locked until this transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE, so a second writer of the same row waits here and
    then reads what the first committed. SQLite: a writing transaction already holds the
    database's single write lock from its first statement (BEGIN IMMEDIATE, see
    app/core/database.py), so the read is enough; the check that follows and the write it
    guards run in that one transaction.
    """
    query: Select[tuple[T]] = _locking_select(
        model,  # type: ignore[arg-type]  # classes are hashable
        session.get_bind().dialect.name == "postgresql",
    )
    return session.scalar(query, {"ident": ident})


@cache
def _locking_select(model: type[Any], postgres: bool) -> Select[Any]:
    """Built once per model: its cache key and SQL are reused (a task is locked on every
    write of the labeler loop)."""
    column: Any = model.id
    query = (
        select(model).where(column == bindparam("ident")).execution_options(populate_existing=True)
    )
    return query.with_for_update() if postgres else query
