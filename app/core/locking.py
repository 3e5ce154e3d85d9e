"""Row locks that serialise writes to one object (a task, an answer, an experiment)."""

from typing import Any, TypeVar

from sqlalchemy import select
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
    column: Any = model.id  # type: ignore[attr-defined]
    query = select(model).where(column == ident).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)
