"""Login throttling, per username and per client address, kept in the database so that
every app process counts the same failures.

After `login_slow_after` failures within `login_window_s`, each further failure makes the
key wait 2^(n - slow_after) seconds (at most a minute) before the next try; at
`login_max_failures` the key is locked for `login_lockout_s`. A try while a key waits is
refused with 429 and Retry-After, without checking the password (no argon2 work for an
attacker to spend). A successful login clears both keys; the admin can clear a key too.
"""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.settings import get_settings
from app.models import LoginThrottle
from app.users.repository import ThrottleRepository

MAX_SLOW_DELAY_S = 60
KEY_CHARS = 200


def keys_for(username: str, address: str | None) -> list[str]:
    # Usernames are compared as typed by the database, but an attacker varying the case
    # must not get fresh counters.
    return [f"user:{username.strip().lower()[:KEY_CHARS]}", f"addr:{(address or '?')[:KEY_CHARS]}"]


def retry_after(session: Session, keys: Sequence[str], now: datetime) -> int | None:
    """Seconds until these keys may try again, or None if they may now."""
    waits = [
        (row.blocked_until - now).total_seconds()
        for row in ThrottleRepository(session).get_many(keys)
        if row.blocked_until is not None and row.blocked_until > now
    ]
    return max(1, math.ceil(max(waits))) if waits else None


def record_failure(session: Session, keys: Sequence[str], now: datetime) -> None:
    settings = get_settings()
    window = timedelta(seconds=settings.login_window_s)
    repo = ThrottleRepository(session)
    for key in keys:
        row = repo.locked_for_update(key, now)
        if now - row.window_started_at >= window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= settings.login_max_failures:
            row.blocked_until = now + timedelta(seconds=settings.login_lockout_s)
        elif row.failures >= settings.login_slow_after:
            delay = min(2 ** (row.failures - settings.login_slow_after), MAX_SLOW_DELAY_S)
            row.blocked_until = now + timedelta(seconds=delay)
    # Forget keys whose window and block are over, so guessed usernames do not pile up.
    repo.delete_stale(now - window - timedelta(seconds=settings.login_lockout_s), now)
    session.flush()


def reset(session: Session, keys: Sequence[str]) -> int:
    return ThrottleRepository(session).delete(keys)


def listed(session: Session) -> Sequence[LoginThrottle]:
    return ThrottleRepository(session).list()
