"""Server-side sessions: the signed cookie carries only a random id; the row decides.

Logout deletes the row, so a replayed cookie is refused at once; so do a password change
and deactivation (every row of the user). A session ends at the absolute timeout
(session_max_age_s after login) or after session_idle_timeout_s without a request.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.security import new_secret, secret_hash
from app.core.settings import get_settings
from app.models import User, UserSession
from app.models.base import utcnow
from app.users.repository import SessionRepository

# last_seen_at is written at most this often per session: enough for an idle timeout
# counted in hours, and no write on every request.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Found:
    user: User
    id_hash: str
    needs_touch: bool  # last_seen_at is older than TOUCH_EVERY


def start(session: Session, user: User) -> str:
    """A new session for `user`; returns the secret id for the cookie. Ended sessions of
    the same user are cleared on the way."""
    settings = get_settings()
    now = utcnow()
    repo = SessionRepository(session)
    repo.delete_ended(user.id, now, now - timedelta(seconds=settings.session_idle_timeout_s))
    sid = new_secret()
    repo.add(
        UserSession(
            id_hash=secret_hash(sid),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.session_max_age_s),
        )
    )
    return sid


def find(session: Session, sid: str, now: datetime | None = None) -> Found | None:
    """The live session's user, in one lookup; None if unknown, revoked or timed out."""
    id_hash = secret_hash(sid)
    row = SessionRepository(session).with_user(id_hash)
    if row is None:
        return None
    user_session, user = row
    now = now or utcnow()
    idle = timedelta(seconds=get_settings().session_idle_timeout_s)
    if now >= user_session.expires_at or now - user_session.last_seen_at >= idle:
        return None
    return Found(user, id_hash, now - user_session.last_seen_at >= TOUCH_EVERY)


def touch(session: Session, id_hash: str) -> None:
    SessionRepository(session).touch(id_hash, utcnow())


def end(session: Session, sid: str) -> None:
    SessionRepository(session).delete(secret_hash(sid))


def end_all(session: Session, user_id: int) -> None:
    SessionRepository(session).delete_for_user(user_id)
