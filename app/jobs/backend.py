"""The model backend as the jobs see it: a health probe, and the worker's circuit breaker.

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

# A job that was running each of the last this-many times the backend went down is
# suspected of taking the backend down (a request that crashes the engine): that run
# counts as a failed attempt, so such a job cannot loop forever.
SUSPECT_AFTER = 3


async def probe_backend(timeout_s: float | None = None) -> tuple[bool, str]:
    """(up, what the probe saw), bounded by a short timeout."""
    from app.assist.jobs import model_client

    timeout_s = timeout_s or get_settings().model_health_timeout_s
    async with model_client() as client:
        try:
            return await asyncio.wait_for(client.probe(timeout_s), timeout=timeout_s + 1)
        except TimeoutError:
            return False, f"{client.root_url} gave no answer within {timeout_s:g} s"


# The app's /health is open to anyone (load balancers, compose healthchecks): it reuses a
# probe for a moment, so callers cannot make the app hammer the backend, and it names no
# internal address.
_STATE_TTL_S = 2.0
_last_state: tuple[str, float, dict[str, Any]] | None = None


async def backend_state() -> dict[str, Any]:
    """For the app's /health: `ready`, or `down` with the error; never an exception."""
    global _last_state
    url = get_settings().model_url
    if _last_state and _last_state[0] == url and time.monotonic() - _last_state[1] < _STATE_TTL_S:
        return _last_state[2]
    try:
        up, detail = await probe_backend()
    except Exception as exc:  # a bad URL in settings, say: the app itself is still alive
        up, detail = False, f"probe failed: {exc.__class__.__name__}: {exc}"
    root = url.rstrip("/").removesuffix("/v1")
    state = (
        {"status": "ready"} if up else {"status": "down", "error": detail.removeprefix(root + " ")}
    )
    _last_state = (url, time.monotonic(), state)
    return state


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
