"""The model backend as the jobs see it: its probes (registered by the domain that calls it,
see app.jobs.registry), one cached health check, and the worker's circuit breaker.

While the backend is unreachable a worker claims no model job: it probes the backend's
health with exponential backoff and resumes by itself when the backend is back. The
breaker lives in the worker's memory; what the admin sees of an outage is read from the
jobs the workers released (app.jobs.queue.backend_outage), so it needs no table of its own.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

from app.core.settings import get_settings
from app.jobs import registry

# A job that was running each of the last this-many times the backend went down is
# suspected of taking the backend down (a request that crashes the engine): that run
# counts as a failed attempt, so such a job cannot loop forever.
SUSPECT_AFTER = 3


async def probe_backend(timeout_s: float | None = None) -> tuple[bool, str]:
    """(up, what the probe saw), bounded by a short timeout: the worker's breaker asks this,
    fresh each time."""
    timeout_s = timeout_s or get_settings().model_health_timeout_s
    try:
        return await asyncio.wait_for(registry.backend().probe(timeout_s), timeout=timeout_s + 1)
    except TimeoutError:
        return False, f"{get_settings().model_url} gave no answer within {timeout_s:g} s"


# One health check serves every page that shows the backend: the app's /health is open to
# anyone (load balancers, compose healthchecks) and the admin's status fragment polls every
# few seconds from every open tab. Each caller says how old an answer it accepts, so no
# caller can make the app hammer the backend or hold a worker thread.
_last_health: tuple[str, float, tuple[bool, str]] | None = None


async def backend_health(max_age_s: float) -> tuple[bool, str]:
    """(up and serving our model, what the check saw), at most max_age_s old; never raises."""
    global _last_health
    s = get_settings()
    if (
        _last_health
        and _last_health[0] == s.model_url
        and time.monotonic() - _last_health[1] < max_age_s
    ):
        return _last_health[2]
    timeout_s = s.model_health_timeout_s
    try:
        result = await asyncio.wait_for(
            registry.backend().health(timeout_s), timeout=2 * timeout_s + 1
        )
    except TimeoutError:
        result = (False, f"{s.model_url} gave no answer within {2 * timeout_s + 1:g} s")
    except Exception as exc:  # a bad URL in settings, say: the app itself is still alive
        result = (False, f"probe failed: {exc.__class__.__name__}: {exc}")
    _last_health = (s.model_url, time.monotonic(), result)
    return result


STATE_MAX_AGE_S = 2.0


async def backend_state() -> dict[str, Any]:
    """For the app's /health: `ready`, or `down` with the error, naming no internal address."""
    up, detail = await backend_health(STATE_MAX_AGE_S)
    if up:
        return {"status": "ready"}
    url = get_settings().model_url.rstrip("/")
    for address in (url, url.removesuffix("/v1")):
        detail = detail.replace(address, "")
    return {"status": "down", "error": detail.strip()}


class Breaker:
    """Open while the model backend is unreachable. The probe delay doubles from first_s to
    max_s and goes back to first_s only once a job has reached the backend, so a backend
    whose health says ready while its completions still fail is not hammered either."""

    def __init__(
        self,
        first_s: float,
        max_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_s, self.max_s, self._clock = first_s, max(first_s, max_s), clock
        self.delay_s = first_s
        self.is_open = False
        self.opened_at: float | None = None
        self._next_probe = 0.0
        self._escalate = False  # no job reached the backend since the last trip
        self._suspects: dict[int, int] = {}

    @classmethod
    def from_settings(cls) -> "Breaker":
        s = get_settings()
        return cls(s.model_probe_first_s, s.model_probe_max_s)

    def trip(self) -> float:
        """The backend was unreachable: open, and say in how many seconds to probe."""
        if self._escalate:
            self.delay_s = min(self.delay_s * 2, self.max_s)
        self._escalate = True
        if not self.is_open:
            self.is_open, self.opened_at = True, self._clock()
        self._next_probe = self._clock() + self.delay_s
        return self.delay_s

    def probe_due(self) -> bool:
        return self.is_open and self._clock() >= self._next_probe

    def seconds_to_probe(self) -> float:
        return max(0.0, self._next_probe - self._clock()) if self.is_open else float("inf")

    def probe_failed(self) -> float:
        self.delay_s = min(self.delay_s * 2, self.max_s)
        self._next_probe = self._clock() + self.delay_s
        return self.delay_s

    def close(self) -> float:
        """The probe found the backend up; returns how long it was open (seconds)."""
        opened = self.opened_at if self.opened_at is not None else self._clock()
        self.is_open, self.opened_at = False, None
        return self._clock() - opened

    def reached(self, job_id: int | None = None) -> None:
        """A job got an answer from the backend (good or bad): it is up."""
        self.delay_s, self._escalate = self.first_s, False
        if job_id is not None:
            self._suspects.pop(job_id, None)

    def suspect(self, job_id: int) -> bool:
        """The backend went down while this job ran; True when that happened SUSPECT_AFTER
        times in a row, and the run should count as a failed attempt."""
        n = self._suspects.get(job_id, 0) + 1
        if n >= SUSPECT_AFTER:
            self._suspects.pop(job_id, None)
            return True
        self._suspects[job_id] = n
        return False
