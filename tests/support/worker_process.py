"""A real `critiquelab worker` in a process of its own, for tests that kill it mid-job."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
WORKER = "from app.cli import main; main()"


@contextmanager
def worker_process(log: Path, code: str = WORKER) -> Iterator[subprocess.Popen[bytes]]:
    """`critiquelab worker --poll 0.1` on the test's database (`code` may patch something
    first, then run the CLI), its output in `log`; killed at the end if it still runs."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--poll", "0.1"],
            cwd=PROJECT,
            env={**os.environ},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
