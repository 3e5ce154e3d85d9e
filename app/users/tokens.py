"""API tokens: random, stored as a sha256, named, expiring, revocable one by one.

The secret is shown once, when it is made. Deactivating a user or changing their password
revokes all of their tokens.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row
from sqlalchemy.orm import Session

from app.core.errors import AppError, NotFound
from app.core.security import new_api_token, secret_hash
from app.core.settings import get_settings
from app.core.validation import text_problem
from app.models import ApiToken, User
from app.models.base import utcnow
from app.users.repository import TokenRepository

# last_used_at is written at most this often per token (not on every request).
TOUCH_EVERY = timedelta(seconds=60)
PREFIX_CHARS = 10


@dataclass(frozen=True)
class Found:
    user: User
    token_id: int
    needs_touch: bool


def issue(session: Session, user: User, name: str, expires_days: int | None = None) -> str:
    """A new token for `user`; returns the secret (shown once, stored only as a hash)."""
    name = name.strip()
    problem = text_problem(name)
    if not name or problem or len(name) > 200:
        raise AppError(f"name: {problem or 'must be 1 to 200 characters'}", field="name")
    days = get_settings().api_token_days if expires_days is None else expires_days
    if not 1 <= days <= 3650:
        raise AppError("expires_days: must be between 1 and 3650", field="expires_days")
    secret = new_api_token()
    now = utcnow()
    TokenRepository(session).add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=secret_hash(secret),
            prefix=secret[:PREFIX_CHARS],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return secret


def find(session: Session, secret: str, now: datetime | None = None) -> Found | None:
    """The live token's user, in one indexed lookup; None if unknown, revoked or expired."""
    row = TokenRepository(session).with_user(secret_hash(secret))
    if row is None:
        return None
    token, user = row
    now = now or utcnow()
    if token.revoked_at is not None or now >= token.expires_at:
        return None
    stale = token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
    return Found(user, token.id, stale)


def touch(session: Session, token_id: int) -> None:
    TokenRepository(session).touch(token_id, utcnow())


def listed(session: Session, user_id: int | None = None) -> Sequence[Row[tuple[ApiToken, str]]]:
    return TokenRepository(session).list(user_id)


def revoke(session: Session, token_id: int) -> ApiToken:
    token = TokenRepository(session).get(token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def revoke_all(session: Session, user_id: int) -> None:
    TokenRepository(session).revoke_for_user(user_id, utcnow())


def state(token: ApiToken, now: datetime | None = None) -> str:
    """The state shown in lists: active, revoked or expired."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if (now or utcnow()) >= token.expires_at else "active"
