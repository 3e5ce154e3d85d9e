"""Typed dependencies: the current user and roles, from a bearer token or the session cookie."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.csrf import bearer_token
from app.core.database import session_scope
from app.core.errors import Forbidden, Unauthenticated
from app.models import Role, User


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str


SESSION_ID = "sid"  # the key of the session id in the signed cookie


def get_optional_user(request: Request) -> User | None:
    """The user of a bearer token or of the session cookie, found with one indexed query
    (the session or token row joined to its user). Last-used times are written at most once
    a minute, in their own short transaction."""
    from app.users import sessions, tokens

    bearer = bearer_token(request)
    sid = request.session.get(SESSION_ID)
    user: User | None = None
    touch: Callable[[Session], None] | None = None
    # Its own short read, so the request's transaction (and any lock it takes) begins
    # inside the handler and no connection is held while waiting for the handler's thread.
    with session_scope(writes=False) as db:
        if bearer:
            token = tokens.find(db, bearer)
            if token is None:
                raise Unauthenticated("bearer token invalid, expired or revoked")
            user = token.user
            if token.needs_touch:
                touch = partial(tokens.touch, token_id=token.token_id)
        elif isinstance(sid, str):
            found = sessions.find(db, sid)
            if found is None:
                request.session.pop(SESSION_ID, None)  # logged out, revoked or timed out
            else:
                user = found.user
                if found.needs_touch:
                    touch = partial(sessions.touch, id_hash=found.id_hash)
    if user is not None and not user.is_active:
        raise Unauthenticated("this account is deactivated")
    if touch is not None:
        with session_scope() as db:
            touch(db)
    # A detached snapshot for templates: error pages render after the session is closed.
    request.state.user = (
        UserInfo(id=user.id, username=user.username, role=user.role) if user is not None else None
    )
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise Unauthenticated("log in first")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[User], User]:
    allowed = {r.value for r in roles}

    def _check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(f"this needs the {' or '.join(sorted(allowed))} role")
        return user

    return _check


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
LabelerUser = Annotated[User, Depends(require_role(Role.labeler))]
ResearcherUser = Annotated[User, Depends(require_role(Role.researcher, Role.admin))]
