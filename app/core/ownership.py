"""Rows that belong to one user (a task, a writing task, a review): 404 or 403 otherwise."""

from typing import TypeVar

from sqlalchemy.orm import Session

from app.core.errors import Forbidden, NotFound

T = TypeVar("T")


def get_owned(
    session: Session, model: type[T], ident: int, owner: str, user_id: int, noun: str
) -> T:
    """The row `ident` of `model` whose `owner` column is `user_id`."""
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(f"no {noun} {ident}")
    if getattr(obj, owner) != user_id:
        raise Forbidden(f"this {noun} is not yours")
    return obj
