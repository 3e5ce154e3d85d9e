from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User


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
