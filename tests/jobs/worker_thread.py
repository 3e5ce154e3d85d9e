"""The real worker loop (run_worker) in a background thread, stopped cleanly by the test."""

import asyncio
import threading

from app.jobs.worker import run_worker


class WorkerThread:
    def __init__(self, poll_s: float = 0.1) -> None:
        self.poll_s = poll_s
        self.done: int | None = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="test-worker", daemon=True)

    def __enter__(self) -> "WorkerThread":
        self._thread.start()
        assert self._ready.wait(10), "the worker loop did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        self.done = await run_worker(poll_s=self.poll_s, stop=self._stop)

    def stop(self, timeout_s: float = 120) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the worker loop did not stop"
        if self.error is not None:
            raise self.error
