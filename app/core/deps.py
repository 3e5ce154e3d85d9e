"""Typed dependencies of core: the request's session (the current user and roles are in
app/users/deps.py, CSRF in app/core/csrf.py)."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.core.database import get_db

# At most this many requests hold a database session at once; the others wait without
# holding a worker thread. It stays below the thread pool (40) and the connection pool, so a
# request holding a lock or a connection always finds a thread to finish on: otherwise a
# burst of requests all waiting on one lock (SQLite's writer, a pool slot) deadlocks.
DB_CONCURRENCY = 24
# "function" scope: commit before the response is sent, so a failed commit is an error
# response, never a success the database does not hold.
SessionDep = Annotated[Session, Depends(get_db, scope="function", max_concurrency=DB_CONCURRENCY)]
