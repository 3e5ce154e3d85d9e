"""Server-side sessions: the signed cookie carries only a random id; the row decides.

Logout deletes the row, so a replayed cookie is refused at once; so do a password change
and deactivation (every row of the user). A session ends at the absolute timeout
(session_max_age_s after login) or after session_idle_timeout_s without a request.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import Unauthenticated
from app.core.security import new_secret, secret_hash
from app.core.settings import get_settings
from app.models import User, UserSession
from app.models.base import utcnow
from app.users import tokens
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


@dataclass(frozen=True)
class Authenticated:
    user: User | None
    forget_sid: bool  # the cookie's session ended: drop its id from the cookie


def authenticate(db: Session, bearer: str | None, sid: str | None, writes: bool) -> Authenticated:
    """The user of a bearer token or of a cookie session, read in the request's own
    transaction (no second transaction, pool checkout and commit per request). Last-used
    times are written at most once a minute: in this transaction when the request writes
    anyway, else in a short one of its own (a read-only transaction must stay read-only)."""
    user: User | None = None
    write: Callable[[Session], None] | None = None
    forget = False
    if bearer:
        token = tokens.find(db, bearer)
        if token is None:
            raise Unauthenticated("bearer token invalid, expired or revoked")
        user = token.user
        if token.needs_touch:
            write = partial(tokens.touch, token_id=token.token_id)
    elif sid is not None:
        found = find(db, sid)
        if found is None:
            forget = True  # logged out, revoked or timed out
        else:
            user = found.user
            if found.needs_touch:
                write = partial(touch, id_hash=found.id_hash)
    if user is not None and not user.is_active:
        raise Unauthenticated("this account is deactivated")
    if write is not None:
        if writes:
            write(db)
        else:
            with session_scope() as own:
                write(own)
    return Authenticated(user, forget)
