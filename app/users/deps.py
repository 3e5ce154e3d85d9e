"""Typed dependencies: the current user and roles, from a bearer token or the session cookie."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.core.csrf import SAFE_METHODS, bearer_token
from app.core.deps import SessionDep
from app.core.errors import Forbidden, Unauthenticated
from app.models import Role, User


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str


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


def _signed_in(user: User | None) -> User:
    if user is None:
        raise Unauthenticated("log in first")
    return user


# Async: no I/O, so no hop through the thread pool (two per request with the role check).
async def get_current_user(user: OptionalUser) -> User:
    return _signed_in(user)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[User | None], Awaitable[User]]:
    allowed = {r.value for r in roles}

    # On OptionalUser itself, not CurrentUser: one dependency fewer to solve per request.
    async def _check(optional: OptionalUser) -> User:
        user = _signed_in(optional)
        if user.role not in allowed:
            raise Forbidden(f"this needs the {' or '.join(sorted(allowed))} role")
        return user

    return _check


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
LabelerUser = Annotated[User, Depends(require_role(Role.labeler))]
ResearcherUser = Annotated[User, Depends(require_role(Role.researcher, Role.admin))]
