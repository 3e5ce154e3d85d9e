from enum import StrEnum

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, enum_check


class Role(StrEnum):
    labeler = "labeler"
    admin = "admin"
    researcher = "researcher"


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (enum_check("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # Bumped whenever the user's sessions and tokens are revoked (deactivation, password
    # change); access itself is decided by user_sessions and api_tokens (app/models/access.py).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
