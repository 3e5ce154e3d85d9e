from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import ApiToken, LoginThrottle, User, UserSession


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def get_by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def list(self) -> Sequence[User]:
        return self.session.scalars(select(User).order_by(User.role, User.username)).all()

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user


class SessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def with_user(self, id_hash: str) -> Row[tuple[UserSession, User]] | None:
        """The session and its user in one primary-key lookup (this runs on every request)."""
        return self.session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id_hash == id_hash)
        ).first()

    def add(self, row: UserSession) -> None:
        self.session.add(row)
        self.session.flush()

    def touch(self, id_hash: str, now: datetime) -> None:
        self.session.execute(
            update(UserSession).where(UserSession.id_hash == id_hash).values(last_seen_at=now)
        )

    def delete(self, id_hash: str) -> None:
        self.session.execute(delete(UserSession).where(UserSession.id_hash == id_hash))

    def delete_for_user(self, user_id: int) -> None:
        self.session.execute(delete(UserSession).where(UserSession.user_id == user_id))

    def delete_ended(self, user_id: int, now: datetime, idle_since: datetime) -> None:
        self.session.execute(
            delete(UserSession).where(
                UserSession.user_id == user_id,
                (UserSession.expires_at <= now) | (UserSession.last_seen_at <= idle_since),
            )
        )


# Built once: every API request runs it, and its cache key and SQL are then reused.
_TOKEN_WITH_USER = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def with_user(self, token_hash: str) -> Row[tuple[ApiToken, User]] | None:
        """The token and its user in one indexed lookup (this runs on every API request)."""
        return self.session.execute(_TOKEN_WITH_USER, {"token_hash": token_hash}).first()

    def get(self, token_id: int) -> ApiToken | None:
        return self.session.get(ApiToken, token_id)

    def add(self, token: ApiToken) -> ApiToken:
        self.session.add(token)
        self.session.flush()
        return token

    def list(self, user_id: int | None = None) -> Sequence[Row[tuple[ApiToken, str]]]:
        """Tokens with their owner's username, newest first."""
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if user_id is not None:
            query = query.where(ApiToken.user_id == user_id)
        return self.session.execute(query.order_by(ApiToken.id.desc())).all()

    def touch(self, token_id: int, now: datetime) -> None:
        self.session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        )

    def revoke_for_user(self, user_id: int, now: datetime) -> None:
        self.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class ThrottleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_many(self, keys: Sequence[str]) -> Sequence[LoginThrottle]:
        return self.session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()

    def locked_for_update(self, key: str, now: datetime) -> LoginThrottle:
        """The key's row, created if missing, locked until the transaction ends (two app
        processes counting failures at once must not lose one)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.session.execute(
            insert(LoginThrottle)
            .values(key=key, failures=0, window_started_at=now, last_failure_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = self.session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        return row

    def delete(self, keys: Sequence[str]) -> int:
        result = self.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
        return int(getattr(result, "rowcount", 0) or 0)

    def delete_stale(self, before: datetime, now: datetime) -> None:
        """Rows whose window ended and that block nothing: forget them."""
        self.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.last_failure_at < before,
                (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < now),
            )
        )

    def list(self) -> Sequence[LoginThrottle]:
        return self.session.scalars(
            select(LoginThrottle).order_by(LoginThrottle.last_failure_at.desc())
        ).all()
