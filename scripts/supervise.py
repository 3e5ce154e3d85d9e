"""Runs the quickstart's processes (model server, worker, app) and watches them.

A process that exits is reported at once, with the last lines of its log, and restarted
with backoff; one that keeps dying (or the app itself) stops everything with a non-zero
exit. Nothing is left running with a dead part and no message. It also reports, once, how
long the demo's model assistance took to precompute.

    .venv/bin/python scripts/supervise.py        (scripts/quickstart.sh runs it)
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@dataclass
class Child:
    name: str
    cmd: list[str]
    log: Path
    essential: bool = False  # its exit stops everything (the app: the user is looking at it)
    proc: subprocess.Popen[bytes] | None = None
    deaths: deque[float] = field(default_factory=deque)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def say(message: str) -> None:
    print(f"quickstart: {message}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "    (no log)"
    return "\n".join(f"    {line}" for line in text[-lines:]) or "    (empty log)"


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        max_deaths: int = 5,
        window_s: float = 300.0,
        backoff_s: float = 1.0,
        progress: "AssistanceProgress | None" = None,
    ) -> None:
        self.children = children
        self.max_deaths = max_deaths
        self.window_s = window_s
        self.backoff_s = backoff_s
        self.progress = progress
        self.stopping = False

    def run(self) -> int:
        for child in self.children:
            child.start()
        try:
            while not self.stopping:
                for child in self.children:
                    code = child.proc.poll() if child.proc else None
                    if code is not None:
                        result = self._died(child, code)
                        if result is not None:
                            return result
                if self.progress:
                    self.progress.poll()
                time.sleep(0.5)
            return 0
        finally:
            for child in reversed(self.children):
                child.stop()

    def _died(self, child: Child, code: int) -> int | None:
        say(f"{child.name} {describe_exit(code)}; last lines of {child.log}:\n{tail(child.log)}")
        if child.essential:
            say(f"{child.name} is gone; stopping everything")
            return code or 1
        now = time.monotonic()
        child.deaths.append(now)
        while child.deaths and now - child.deaths[0] > self.window_s:
            child.deaths.popleft()
        if len(child.deaths) >= self.max_deaths:
            say(
                f"{child.name} died {len(child.deaths)} times in {self.window_s:.0f} s; "
                "stopping everything"
            )
            return code or 1
        delay = self.backoff_s * 2 ** (len(child.deaths) - 1)
        say(f"restarting {child.name} in {delay:.0f} s")
        time.sleep(delay)
        child.start()
        return None


class AssistanceProgress:
    """Says once when every queued model job is done, and how long it took."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.started = time.monotonic()
        self.every_s = every_s
        self.next_check = 0.0
        self.done = False

    def poll(self) -> None:
        if self.done or time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + self.every_s
        try:
            counts = job_counts()
        except Exception:  # the database may be busy; try again later
            return
        waiting = counts.get("queued", 0) + counts.get("running", 0)
        if waiting:
            return
        self.done = True
        seconds = time.monotonic() - self.started
        failed = counts.get("failed", 0)
        say(
            f"the demo's model assistance is ready: {counts.get('succeeded', 0)} jobs in "
            f"{seconds:.0f} s" + (f" ({failed} failed: see /admin/jobs)" if failed else "")
        )


def job_counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from app.core.database import session_scope
    from app.models.jobs import Job

    with session_scope() as s:
        return {
            status: count
            for status, count in s.execute(select(Job.status, func.count()).group_by(Job.status))
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--model-port", type=int, default=8001)
    ap.add_argument("--logs", type=Path, default=ROOT / "var")
    args = ap.parse_args(argv)
    args.logs.mkdir(parents=True, exist_ok=True)
    py, cli = str(VENV_BIN / "python"), str(VENV_BIN / "critiquelab")
    children = [
        Child(
            "model server",
            [py, "-m", "model_server", "--port", str(args.model_port)],
            args.logs / "model_server.log",
        ),
        Child("worker", [cli, "worker"], args.logs / "worker.log"),
        Child(
            "app",
            [cli, "serve", "--host", args.host, "--port", str(args.port)],
            args.logs / "app.log",
            essential=True,
        ),
    ]
    supervisor = Supervisor(children, progress=AssistanceProgress())

    def stop(*_: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    say(
        f"model server http://127.0.0.1:{args.model_port}/v1, worker and app starting; logs in "
        f"{args.logs}"
    )
    say(f"critiquelab: http://{args.host}:{args.port} (Ctrl-C stops everything)")
    return supervisor.run()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
