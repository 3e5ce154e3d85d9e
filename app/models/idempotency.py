"""Responses to writes sent with an Idempotency-Key: a retry gets the first answer again."""

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class IdempotencyRecord(TimestampMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "route", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Method and concrete path, e.g. "POST /api/v1/tasks/12/submit": a key is scoped to it.
    route: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(200))
    # sha256 of the request body: the same key with a different body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
