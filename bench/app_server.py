"""Starting `critiquelab serve` for a benchmark and waiting until it answers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start_app(port: int, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    cli = str(Path(sys.executable).with_name("critiquelab"))
    proc = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--workers", str(workers)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/health", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("critiquelab serve did not start")
