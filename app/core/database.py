"""Engine and the one session-per-request pattern, on PostgreSQL and SQLite alike."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import get_settings


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling is off (isolation_level=None): emit BEGIN ourselves so
    # SQLAlchemy's transactions are real ones. WAL lets readers run beside the one writer.
    # A transaction that will write takes the write lock at BEGIN (IMMEDIATE): otherwise a
    # read-then-write transaction fails at its first write if another writer committed since
    # its read began, and two of them could both read a task as free.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITES) else "BEGIN")


WRITES = "critiquelab_writes"


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(writes: bool = True) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    session = get_sessionmaker()()
    if writes:
        session.connection(execution_options={WRITES: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_db(request: Request) -> Iterator[Session]:
    """FastAPI dependency: the request's session, committed only if the handler succeeds.
    Requests that may write (not GET/HEAD/OPTIONS) declare it when their transaction begins."""
    with session_scope(writes=request.method not in ("GET", "HEAD", "OPTIONS")) as session:
        yield session
