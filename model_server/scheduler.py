"""One scheduler thread feeds the engine process; requests that arrive together run together.

The event loop only enqueues work and awaits a future, so it never blocks on inference.
"""

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from model_server.protocol import GenRequest, GenResult

Runner = Callable[[list[GenRequest]], list[GenResult]]


@dataclass
class _Pending:
    request: GenRequest
    future: asyncio.Future[GenResult]
    loop: asyncio.AbstractEventLoop


class Scheduler:
    def __init__(self, run: Runner, max_sequences: int, window_s: float = 0.01) -> None:
        self.run = run
        self.max_sequences = max_sequences
        self.window_s = window_s
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="inference", daemon=True)
        self._thread.start()

    async def submit(self, request: GenRequest) -> GenResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[GenResult] = loop.create_future()
        self._queue.put(_Pending(request, future, loop))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _collect(self, first: _Pending) -> list[_Pending]:
        # The requests of one sweep arrive a few milliseconds apart: keep collecting while
        # they keep coming (each within `window_s` of the last), for at most 10 windows.
        batch = [first]
        limit = 4 * self.max_sequences
        hard_deadline = time.monotonic() + 10 * self.window_s
        while len(batch) < limit:
            wait = min(self.window_s, hard_deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [p for p in self._collect(first) if not p.future.cancelled()]
            if not batch:
                continue
            try:
                results = self.run([p.request for p in batch])
            except Exception as exc:  # report to every waiter, keep serving
                for p in batch:
                    p.loop.call_soon_threadsafe(_set_exception, p.future, exc)
                continue
            for p, res in zip(batch, results, strict=True):
                p.loop.call_soon_threadsafe(_set_result, p.future, res)


def _set_result(future: asyncio.Future[GenResult], result: GenResult) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[GenResult], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
