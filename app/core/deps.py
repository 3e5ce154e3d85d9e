"""Typed dependencies: the request's session, the current user and roles (CSRF is in
app/core/csrf.py)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.csrf import SAFE_METHODS, bearer_token
from app.core.database import get_db
from app.core.errors import Forbidden, Unauthenticated
from app.models import Role, User


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str


# At most this many requests hold a database session at once; the others wait without
# holding a worker thread. It stays below the thread pool (40) and the connection pool, so a
# request holding a lock or a connection always finds a thread to finish on: otherwise a
# burst of requests all waiting on one lock (SQLite's writer, a pool slot) deadlocks.
DB_CONCURRENCY = 24
# "function" scope: commit before the response is sent, so a failed commit is an error
# response, never a success the database does not hold.
SessionDep = Annotated[Session, Depends(get_db, scope="function", max_concurrency=DB_CONCURRENCY)]

SESSION_ID = "sid"  # the key of the session id in the signed cookie


def get_optional_user(request: Request, db: SessionDep) -> User | None:
    """The user of a bearer token or of the session cookie, found with one indexed query
    in the request's own transaction (app/users/sessions.py:authenticate)."""
    from app.users import sessions

    sid = request.session.get(SESSION_ID)
    writes = request.method not in SAFE_METHODS
    found = sessions.authenticate(
        db, bearer_token(request), sid if isinstance(sid, str) else None, writes
    )
    if found.forget_sid:
        request.session.pop(SESSION_ID, None)
    user = found.user
    # A detached snapshot for templates: error pages render after the session is closed.
    request.state.user = (
        UserInfo(id=user.id, username=user.username, role=user.role) if user is not None else None
    )
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


# Async: no I/O, so no hop through the thread pool (two per request with the role check).
async def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise Unauthenticated("log in first")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    allowed = {r.value for r in roles}

    async def _check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(f"this needs the {' or '.join(sorted(allowed))} role")
        return user

    return _check


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
LabelerUser = Annotated[User, Depends(require_role(Role.labeler))]
ResearcherUser = Annotated[User, Depends(require_role(Role.researcher, Role.admin))]
