"""Starting the real model_server (shipped SmolLM2 model) as a separate process for tests."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ModelServerProcess:
    def __init__(
        self,
        port: int | None = None,
        log_dir: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self.log_dir = log_dir
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 60) -> "ModelServerProcess":
        log = (
            open(self.log_dir / f"model_server_{self.port}.log", "ab")  # noqa: SIM115 (the child process keeps it)
            if self.log_dir
            else subprocess.DEVNULL
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "model_server",
                "--port",
                str(self.port),
                "--n-ctx",
                "4096",
                *self.extra_args,
            ],
            stdout=log,
            stderr=log,
            env={**os.environ},
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"model_server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("model_server did not become healthy")

    def health(self) -> dict:  # type: ignore[type-arg]
        return dict(httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5).json())

    def engine_pid(self) -> int:
        return int(self.health()["engine"]["pid"])

    def wait_ready(self, timeout_s: float = 60) -> dict:  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            body = self.health()
            if body["status"] == "ready":
                return body
            time.sleep(0.2)
        raise RuntimeError(f"model_server not ready: {self.health()}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
