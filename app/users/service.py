"""Users: creation, authentication, deactivation. Services flush; the caller commits."""

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.core.errors import AppError, Conflict, NotFound
from app.core.security import hash_password, make_api_token, verify_password
from app.core.settings import get_settings
from app.models import Role, User
from app.users.repository import UserRepository
from app.users.schemas import UserCreate


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


def set_active(session: Session, user_id: int, active: bool) -> User:
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    user.is_active = active
    if not active:
        user.token_version += 1  # ends their sessions and tokens now
    session.flush()
    return user


def api_token_for(session: Session, username: str) -> str:
    user = UserRepository(session).get_by_username(username)
    if user is None:
        raise NotFound(f"no user named {username!r}", field="username")
    return make_api_token(get_settings().secret_key, user.id, user.token_version)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{_first_field(exc)}: {err['msg']}"


def _first_field(exc: ValidationError) -> str:
    return ".".join(str(p) for p in exc.errors()[0]["loc"])
