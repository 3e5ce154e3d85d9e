"""Engine and the one session-per-request pattern, on PostgreSQL and SQLite alike."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import get_settings

# PostgreSQL connections kept open per process, and requests holding a session at once
# (app/core/deps.py). One process's CPU is the limit: more concurrent transactions only add
# contention (with 24, a loop at 32 labelers cost 10% more app CPU and 14% more PostgreSQL
# CPU, and throughput fell 11%: bench/README.md).
POOL_SIZE = 12


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        kwargs.update(pool_size=20, max_overflow=80)
    else:
        # After a database restart every pooled connection is dead: pre-ping finds the first
        # one, and a dead ping invalidates the whole pool, so later checkouts reconnect
        # instead of failing one by one. connect_timeout bounds a hung connect.
        # The pool keeps as many connections as requests may hold sessions at once
        # (app/core/deps.py:DB_CONCURRENCY): a smaller pool opens and closes overflow
        # connections all the time under load (a PostgreSQL backend forked per request).
        kwargs.update(pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=30)
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        writer = _SQLiteWriter()
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", writer.begin)
        event.listen(engine, "commit", writer.end)
        event.listen(engine, "rollback", writer.end)
    else:
        event.listen(engine, "do_connect", _connect_with_retry)
    return engine


# While PostgreSQL restarts (`pg_ctl restart`: refused, "shutting down", "starting up")
# a new connection waits up to this long for it instead of failing the request at once.
CONNECT_RETRY_S = 10.0
_RESTARTING = (
    "Connection refused",
    "starting up",
    "shutting down",
    "not yet accepting connections",
    "in recovery mode",
    "server closed the connection",
    "timeout expired",
)


def _connect_with_retry(
    dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    deadline = time.monotonic() + CONNECT_RETRY_S
    pause = 0.05
    while True:
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            # libpq's connect errors carry no SQLSTATE: read the message. A wrong password or
            # database name is not waited for.
            transient = any(m in str(exc) for m in _RESTARTING)
            if not transient or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class _SQLiteWriter:
    """SQLite has one writer at a time. pysqlite emits no BEGIN of its own here
    (isolation_level=None), so we emit it: plain BEGIN for readers (WAL lets them run beside
    the writer), BEGIN IMMEDIATE for a transaction that will write, so it holds the write lock
    from its first statement (otherwise a read-then-write transaction fails at its first
    write if another writer committed meanwhile, and two of them could both read a task as
    free). Writers of this process queue on a Python lock rather than in SQLite's busy loop,
    which under a burst of requests stalled for the whole busy timeout."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, conn: Any) -> None:
        if not conn.get_execution_options().get(WRITES):
            conn.exec_driver_sql("BEGIN")
            return
        if not self._lock.acquire(timeout=60):
            raise TimeoutError("waited 60 s for the SQLite write lock")
        conn.info["sqlite_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Any) -> None:
        if conn.info.pop("sqlite_writer", False):
            self._lock.release()


WRITES = "critiquelab_writes"


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=True)


def new_session(writes: bool = True) -> Session:
    """A session whose transaction, when it begins (at its first statement), declares
    whether it may write; on SQLite a writing one takes the write lock right then."""
    session = get_sessionmaker()()
    if writes:
        session.bind = get_engine().execution_options(**{WRITES: True})
    return session


@contextmanager
def session_scope(writes: bool = True) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    session = new_session(writes)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
