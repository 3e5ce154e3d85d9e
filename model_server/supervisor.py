"""The HTTP server's side of the engine process: start it, talk to it, restart it.

States (reported by /health): `starting` (the first engine is loading and checking itself),
`ready`, `restarting` (the engine died; a new one starts after a backoff), `failed` (the
first start failed its self-test, or the engine crashed `max_crashes` times in a row; the
server then exits non-zero so a supervisor such as systemd, Docker or quickstart sees it).
"""

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import connection as mp_connection
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from model_server import engine_process
from model_server.cpu import cpu_summary
from model_server.engine_process import EngineConfig, EngineInfo
from model_server.protocol import GenRequest, GenResult

log = logging.getLogger("model_server")


class EngineUnavailable(Exception):
    """The engine cannot answer now (starting, restarting after a crash, or failed)."""


class EngineError(Exception):
    """The engine answered a batch with an error (it freed the batch's cells and lives on)."""


@dataclass
class EngineStatus:
    state: str = "starting"
    pid: int | None = None
    restarts: int = 0
    crashes_in_a_row: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    since: str = field(default_factory=lambda: _now())

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


class EngineSupervisor:
    def __init__(
        self,
        config: EngineConfig,
        max_crashes: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        start_timeout_s: float = 300.0,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.max_crashes = max_crashes
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.start_timeout_s = start_timeout_s
        self.on_fatal = on_fatal
        self.status = EngineStatus()
        self.info: EngineInfo | None = None
        self._ctx = mp.get_context("spawn")
        self._proc: BaseProcess | None = None
        self._work: Connection | None = None
        self._tokens: Connection | None = None
        self._work_lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._reap_lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the first engine in the background; /health says `starting` until ready."""
        threading.Thread(target=self._start_first, name="engine-start", daemon=True).start()

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    def stop(self) -> None:
        self._stopping = True
        proc, work = self._proc, self._work
        if work is not None:
            with contextlib.suppress(OSError):
                work.send(("stop", None))
        if proc is not None:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)

    def _start_first(self) -> None:
        error = self._spawn()
        if error is None:
            return
        self._fatal(
            f"the engine failed its start-up check: {error}. CPU: {cpu_summary()}. "
            + _hint(self.config)
        )

    def _spawn(self) -> str | None:
        """Start an engine process and wait for its self-test; the error text, or None."""
        work_parent, work_child = self._ctx.Pipe()
        tok_parent, tok_child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=engine_process.main,
            args=(self.config, work_child, tok_child, os.getpid()),
            name="model_server-engine",
            daemon=True,
        )
        proc.start()
        work_child.close()
        tok_child.close()
        deadline = time.monotonic() + self.start_timeout_s
        while not work_parent.poll(0.2):
            if not proc.is_alive():
                return f"the engine process {self._exit(proc)} while loading"
            if time.monotonic() > deadline or self._stopping:
                proc.kill()
                return f"the engine did not start within {self.start_timeout_s:.0f} s"
        try:
            kind, payload = work_parent.recv()
        except (EOFError, OSError):
            return f"the engine process {self._exit(proc)} while loading"
        if kind != "ready":
            proc.join(timeout=5)
            return str(payload)
        self.info = payload
        self._proc, self._work, self._tokens = proc, work_parent, tok_parent
        if self.status.state == "restarting":
            # Counted before "ready" is shown: /health never shows the new engine uncounted.
            self.status.restarts += 1
        self.status.pid = proc.pid
        self.status.state = "ready"
        self.status.since = _now()
        self._ready.set()
        threading.Thread(target=self._watch, args=(proc,), name="engine-watch", daemon=True).start()
        log.warning("model_server: engine ready (pid %s)", proc.pid)
        return None

    def _watch(self, proc: BaseProcess) -> None:
        # A crash between requests is seen here, not only by the next request.
        mp_connection.wait([proc.sentinel])
        if not self._stopping and proc is self._proc:
            self._crashed(f"the engine process {self._exit(proc)}")

    def _crashed(self, cause: str) -> None:
        """Record a dead engine and restart it with backoff, in the background."""
        with self._state_lock:
            if self.status.state != "ready":
                return  # another caller already saw it
            self._ready.clear()
            self.status.state = "restarting"
            self.status.pid = None
            self.status.since = _now()
            self._record(cause)
        threading.Thread(target=self._restart_loop, name="engine-restart", daemon=True).start()

    def _restart_loop(self) -> None:
        while not self._stopping:
            self.status.crashes_in_a_row += 1
            n = self.status.crashes_in_a_row
            if n >= self.max_crashes:
                self._fatal(
                    f"the engine crashed {n} times in a row; giving up "
                    f"(last: {self.status.last_error}). CPU: {cpu_summary()}. " + _hint(self.config)
                )
                return
            delay = min(self.max_backoff_s, self.backoff_s * 2 ** (n - 1))
            log.error(
                "model_server: %s; restarting the engine in %.1f s (crash %d of %d in a row)",
                self.status.last_error,
                delay,
                n,
                self.max_crashes,
            )
            time.sleep(delay)
            self._reap()
            error = self._spawn()
            if error is None:
                return
            self._record(f"restart failed: {error}")

    def _exit(self, proc: BaseProcess) -> str:
        """How the process ended. Several threads notice the same death; one lock makes
        sure the one that reaps it (waitpid) records the exit code before another asks."""
        with self._reap_lock:
            proc.join(timeout=2)
            return _exit_text(proc.exitcode)

    def _reap(self) -> None:
        for conn in (self._work, self._tokens):
            if conn is not None:
                conn.close()
        if self._proc is not None:
            self._proc.join(timeout=5)
        self._proc = self._work = self._tokens = None

    def _record(self, error: str) -> None:
        self.status.last_error = error
        self.status.last_error_at = _now()

    def _fatal(self, message: str) -> None:
        self._record(message)
        self.status.state = "failed"
        self.status.since = _now()
        print(f"model_server: {message}", file=sys.stderr, flush=True)
        if self.on_fatal:
            self.on_fatal(message)

    # -- calls -------------------------------------------------------------------------

    def _check_ready(self) -> None:
        if self.status.state != "ready":
            detail = f" after: {self.status.last_error}" if self.status.last_error else ""
            raise EngineUnavailable(f"the model engine is {self.status.state}{detail}")

    def run(self, requests: list[GenRequest]) -> list[GenResult]:
        """One batch through the engine (called from the scheduler thread only)."""
        results = self._call(self._work_lock, "work", ("run", requests))
        self.status.crashes_in_a_row = 0
        return list(results)

    def tokenize(self, text: str, add_special: bool = True) -> list[int]:
        """Token ids from the engine's vocabulary (any thread)."""
        return list(self._call(self._token_lock, "tokens", (text, add_special)))

    def _call(self, lock: threading.Lock, pipe: str, message: object) -> Any:
        """Send one message on a pipe and wait for its answer while watching the process:
        a dead engine is a 503 (and a restart), an engine error a 500."""
        self._check_ready()
        with lock:
            proc, conn = self._proc, self._work if pipe == "work" else self._tokens
            if proc is None or conn is None:
                raise EngineUnavailable(f"the model engine is {self.status.state}")
            try:
                conn.send(message)
                while not conn.poll(0.1):
                    if not proc.is_alive():
                        break
                kind, payload = conn.recv()
            except (EOFError, OSError, ValueError):
                cause = f"the engine process {self._exit(proc)}"
                self._crashed(cause)
                raise EngineUnavailable(f"{cause}; it is restarting") from None
        if kind == "error":
            raise EngineError(str(payload))
        return payload


def _exit_text(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name} (signal {-code})"
    return f"exited with code {code}"


def _hint(config: EngineConfig) -> str:
    if config.extra_bufts:
        return "Try without --extra-bufts (llama.cpp's extra CPU buffer types)."
    return "Try --threads 1, or another GGUF file with --model."


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
