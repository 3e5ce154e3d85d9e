"""Typed dependencies of core: the request's session (the current user and roles are in
app/users/deps.py, CSRF in app/core/csrf.py)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.database import POOL_SIZE, session_scope


async def get_db(request: Request) -> AsyncIterator[Session]:
    """FastAPI dependency: the request's session, committed only if the handler succeeds.

    Async on purpose: the commit then runs on the event loop right after the handler, not
    after another hop through the thread pool. A transaction holding a lock (SQLite's write
    lock, a PostgreSQL row lock) must not wait for a free thread to release it, or a burst
    of requests that fill the pool while waiting for that lock would deadlock.
    """
    with session_scope(writes=request.method not in ("GET", "HEAD", "OPTIONS")) as session:
        yield session


# At most this many requests hold a database session at once (the pool keeps as many
# connections open, app/core/database.py:POOL_SIZE); the others wait without holding a
# worker thread. It stays below the thread pool (40) and within the connection pool, so a
# request holding a lock or a connection always finds a thread to finish on: otherwise a
# burst of requests all waiting on one lock (SQLite's writer, a pool slot) deadlocks.
DB_CONCURRENCY = POOL_SIZE
# "function" scope: commit before the response is sent, so a failed commit is an error
# response, never a success the database does not hold.
SessionDep = Annotated[Session, Depends(get_db, scope="function", max_concurrency=DB_CONCURRENCY)]
