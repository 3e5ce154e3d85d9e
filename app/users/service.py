"""Users: creation, authentication, passwords, deactivation. Services flush; the caller
commits (api_token_for alone commits: see there)."""

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict, NotFound
from app.core.security import hash_password, verify_password
from app.models import Role, User
from app.models.base import utcnow
from app.users import sessions, throttle, tokens
from app.users.repository import UserRepository
from app.users.schemas import PasswordIn, UserCreate


def create_user(session: Session, username: str, password: str, role: str) -> User:
    if role not in {r.value for r in Role}:
        raise AppError(
            f"role must be one of labeler, admin, researcher (got {role!r})", field="role"
        )
    try:
        data = UserCreate(username=username, password=password, role=Role(role))
    except ValidationError as exc:
        raise AppError(_first_error(exc), field=_first_field(exc)) from exc
    repo = UserRepository(session)
    if repo.get_by_username(data.username) is not None:
        raise Conflict(f"user {data.username!r} already exists", field="username")
    return repo.add(
        User(
            username=data.username,
            password_hash=hash_password(data.password),
            role=data.role.value,
            is_active=True,
            token_version=0,
        )
    )


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = UserRepository(session).get_by_username(username)
    ok = verify_password(password, user.password_hash if user else None)
    return user if ok and user is not None and user.is_active else None


@dataclass(frozen=True)
class LoginResult:
    user: User | None = None
    retry_after_s: int | None = None  # throttled: try again after this many seconds


def log_in(
    session: Session, username: str, password: str, address: str | None, now: datetime | None = None
) -> LoginResult:
    """Check the throttle, then the password; count a failure or clear the counters."""
    now = now or utcnow()
    keys = throttle.keys_for(username, address)
    wait = throttle.retry_after(session, keys, now)
    if wait is not None:
        return LoginResult(retry_after_s=wait)
    user = authenticate(session, username, password)
    if user is None:
        throttle.record_failure(session, keys, now)
        return LoginResult()
    throttle.reset(session, keys)
    return LoginResult(user=user)


def set_active(session: Session, user_id: int, active: bool, acting_id: int | None = None) -> User:
    """Activate or deactivate an account; `acting_id` is the admin doing it, who may not
    lock themselves out."""
    if not active and user_id == acting_id:
        raise AppError("you cannot deactivate yourself", field="active")
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    user.is_active = active
    if not active:
        _revoke_access(session, user)  # ends their sessions and tokens now
    session.flush()
    return user


def set_password(session: Session, user_id: int, password: str) -> User:
    """A new password; every session and API token of the user ends now."""
    try:
        data = PasswordIn(password=password)
    except ValidationError as exc:
        raise AppError(_first_error(exc), field="password") from exc
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    user.password_hash = hash_password(data.password)
    _revoke_access(session, user)
    session.flush()
    return user


def _revoke_access(session: Session, user: User) -> None:
    sessions.end_all(session, user.id)
    tokens.revoke_all(session, user.id)
    user.token_version += 1


def user_named(session: Session, username: str) -> User:
    user = UserRepository(session).get_by_username(username)
    if user is None:
        raise NotFound(f"no user named {username!r}", field="username")
    return user


def api_token_for(
    session: Session, username: str, name: str = "cli", expires_days: int | None = None
) -> str:
    """A new API token for `username` (the CLI's `users token`, tests and bench scripts).

    Unlike other services it commits: every caller hands the token at once to a client
    whose requests run on other connections, which must see it.
    """
    try:
        secret = tokens.issue(session, user_named(session, username), name, expires_days)
        session.commit()
    except OperationalError:
        if session.get_bind().dialect.name != "sqlite":
            raise
        # SQLite: a transaction that has only read cannot become the writer once another
        # connection has committed since it began ("database is locked"). Having written
        # nothing (a writer holds the lock, so this cannot happen to it), it loses nothing
        # by starting over.
        session.rollback()
        secret = tokens.issue(session, user_named(session, username), name, expires_days)
        session.commit()
    return secret


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{_first_field(exc)}: {err['msg']}"


def _first_field(exc: ValidationError) -> str:
    return ".".join(str(p) for p in exc.errors()[0]["loc"])
