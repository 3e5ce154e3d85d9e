"""Login, logout, and the admin's user list (pages and JSON API)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.core.csrf import ensure_csrf_token
from app.core.deps import SessionDep
from app.core.errors import AppError
from app.core.htmx import redirect
from app.core.templating import templates
from app.models import Role
from app.models.base import utcnow
from app.users import service, sessions, throttle, tokens
from app.users.deps import SESSION_ID, AdminUser, OptionalUser
from app.users.next_url import safe_next
from app.users.repository import UserRepository
from app.users.schemas import UserCreate, UserPublic

router = APIRouter()
api = APIRouter(prefix="/api/v1/users", tags=["users"])

HOME_BY_ROLE = {Role.admin: "/admin", Role.labeler: "/labeler", Role.researcher: "/research"}


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user is not None:
        return redirect(request, HOME_BY_ROLE[Role(user.role)])
    ensure_csrf_token(request)
    return templates.TemplateResponse(request, "users/login.html", {"next": next, "error": None})


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    address = request.client.host if request.client else None
    result = service.log_in(db, username, password, address)
    if result.retry_after_s is not None:
        wait = result.retry_after_s
        return templates.TemplateResponse(
            request,
            "users/login.html",
            {"next": next, "error": f"Too many failed logins. Try again in {wait} seconds."},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    user = result.user
    if user is None:
        return templates.TemplateResponse(
            request,
            "users/login.html",
            {"next": next, "error": "Wrong username or password, or the account is deactivated."},
            status_code=401,
        )
    sid = sessions.start(db, user)
    csrf = request.session.get("csrf_token")
    request.session.clear()  # a fresh session on login: no fixation
    request.session.update({SESSION_ID: sid, "csrf_token": csrf})
    return redirect(request, safe_next(next) or HOME_BY_ROLE[Role(user.role)])


@router.post("/logout")
def logout(request: Request, db: SessionDep) -> Response:
    sid = request.session.get(SESSION_ID)
    if isinstance(sid, str):
        sessions.end(db, sid)  # a replayed copy of the cookie is refused from now on
    request.session.clear()
    return redirect(request, "/login")


@router.get("/")
def home(request: Request, user: OptionalUser) -> Response:
    if user is None:
        return redirect(request, "/login")
    return redirect(request, HOME_BY_ROLE[Role(user.role)])


@router.get("/admin/users")
def users_page(request: Request, db: SessionDep, admin: AdminUser) -> Response:
    return _users_page(request, db, error=None)


@router.post("/admin/users")
def create_user_form(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    try:
        service.create_user(db, username.strip(), password, role)
    except AppError as exc:
        db.rollback()
        return _users_page(request, db, error=exc.message, status_code=exc.status_code)
    return _users_page(request, db, error=None)


@router.post("/admin/users/{user_id}/active")
def set_active_form(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    user_id: int,
    active: Annotated[bool, Form()],
) -> Response:
    service.set_active(db, user_id, active, acting_id=admin.id)
    return _users_page(request, db, error=None)


@router.post("/admin/users/{user_id}/password")
def set_password_form(
    request: Request,
    db: SessionDep,
    admin: AdminUser,
    user_id: int,
    password: Annotated[str, Form()],
    password_again: Annotated[str, Form()],
) -> Response:
    try:
        if password != password_again:
            raise AppError("the two passwords differ; nothing was changed", field="password")
        service.set_password(db, user_id, password)
    except AppError as exc:
        if exc.status_code != 400:
            raise
        db.rollback()
        return _users_page(request, db, error=exc.message, status_code=400)
    return _users_page(request, db, error=None)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token_form(
    request: Request, db: SessionDep, admin: AdminUser, token_id: int
) -> Response:
    tokens.revoke(db, token_id)
    return _users_page(request, db, error=None)


@router.post("/admin/login-locks/clear")
def clear_login_lock_form(
    request: Request, db: SessionDep, admin: AdminUser, key: Annotated[str, Form()]
) -> Response:
    throttle.reset(db, [key])
    return _users_page(request, db, error=None)


def _users_page(
    request: Request, db: SessionDep, error: str | None, status_code: int = 200
) -> Response:
    now = utcnow()
    context = {
        "users": UserRepository(db).list(),
        "roles": list(Role),
        "error": error,
        "tokens": [
            (token, username, tokens.state(token, now)) for token, username in tokens.listed(db)
        ],
        "locks": [
            (row, row.blocked_until is not None and row.blocked_until > now)
            for row in throttle.listed(db)
        ],
    }
    block = "users_table" if request.headers.get("HX-Request") else None
    return templates.TemplateResponse(
        request, "users/admin_users.html", context, status_code=status_code, block_name=block
    )


@api.get("", response_model=list[UserPublic])
def list_users(db: SessionDep, admin: AdminUser) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in UserRepository(db).list()]


@api.post("", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, db: SessionDep, admin: AdminUser) -> UserPublic:
    return UserPublic.model_validate(
        service.create_user(db, body.username, body.password, body.role)
    )
