"""The demo: a few passages written for this project, and users to log in with."""

from pathlib import Path

from sqlalchemy.orm import Session

from app.corpus.importer import import_file
from app.corpus.parsing import ImportFormat
from app.users.repository import UserRepository
from app.users.service import create_user

DEMO_FILE = Path(__file__).with_name("demo_data.jsonl")

# Writers author the human and misleading answers, so they are never given those passages;
# six other labelers can then cover all six conditions of every question.
DEMO_USERS: list[tuple[str, str]] = [
    ("admin", "admin"),
    ("researcher", "researcher"),
    *[(f"labeler{i}", "labeler") for i in range(1, 7)],
    ("writer1", "labeler"),
    ("writer2", "labeler"),
]


def demo_password(username: str) -> str:
    return f"{username}-demo"


def load_demo(session: Session) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    users = UserRepository(session)
    logins = []
    added_users = 0
    for username, role in DEMO_USERS:
        if users.get_by_username(username) is None:
            create_user(session, username, demo_password(username), role)
            added_users += 1
        logins.append((username, demo_password(username), role))
    added = import_file(session, DEMO_FILE, ImportFormat.native)
    if added_users:
        added["users"] = added_users
    return logins, added
