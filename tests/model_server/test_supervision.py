"""The engine runs in a supervised child process: a native crash costs the requests in flight
(503, naming the cause), never the HTTP server; the engine restarts by itself; a model that
cannot decode, or an engine that keeps crashing, ends the server with a non-zero exit and
one clear line."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from model_server.engine_process import EngineConfig
from model_server.shipped import shipped_model_path
from model_server.supervisor import EngineSupervisor
from tests.support.model_server import ModelServerProcess, free_port

LONG = {"prompt": "Once upon a time", "max_tokens": 400, "temperature": 1.0, "seed": 1}
SHORT = {"prompt": "The capital of France is", "max_tokens": 3, "temperature": 0.0}


@pytest.fixture
def own_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = ModelServerProcess(
        log_dir=tmp_path, extra_args=("--restart-backoff-s", "0.2", "--max-crashes", "3")
    ).start()
    yield server
    server.stop()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["kill-9", "segv"])
async def test_engine_crash_answers_in_flight_requests_503_then_restarts(
    own_server: ModelServerProcess, sig: signal.Signals
) -> None:
    pid = own_server.engine_pid()
    async with httpx.AsyncClient(base_url=own_server.url, timeout=60) as client:
        in_flight = [
            asyncio.create_task(client.post("/completions", json={**LONG, "temperature": t}))
            for t in (0.0, 0.5, 1.0)
        ]
        await asyncio.sleep(0.6)  # the batch is decoding
        os.kill(pid, sig)
        answers = await asyncio.gather(*in_flight)
    for resp in answers:
        assert resp.status_code == 503
        error = resp.json()["error"]
        assert error["type"] == "ServiceUnavailableError"
        assert f"killed by {sig.name}" in error["message"]
    health = own_server.wait_ready()
    assert health["engine"]["pid"] != pid and health["engine"]["restarts"] == 1
    assert sig.name in health["engine"]["last_error"]
    ok = httpx.post(own_server.url + "/completions", json=SHORT, timeout=60)
    assert ok.status_code == 200 and ok.json()["choices"][0]["text"]


def test_a_restarted_engine_is_counted_before_it_is_shown_ready() -> None:
    """/health read between "ready" and the count once showed the new engine with 0 restarts
    (a CI run under load); the count now comes first."""
    config = EngineConfig(str(shipped_model_path()), n_ctx=512, n_batch=64, n_seq_max=2)
    engine = EngineSupervisor(config, backoff_s=0.05)
    shown: list[tuple[str, int | None, int]] = []

    class Recorded(threading.Event):
        def set(self) -> None:  # what a reader could see the moment the engine is ready
            shown.append((engine.status.state, engine.status.pid, engine.status.restarts))
            super().set()

    engine._ready = Recorded()
    engine.start()
    try:
        assert engine.wait_ready(120)
        first = engine.status.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while len(shown) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shown == [("ready", first, 0), ("ready", engine.status.pid, 1)]
        assert engine.status.pid != first
    finally:
        engine.stop()


def test_health_says_restarting_and_requests_get_503_while_the_engine_is_down(
    own_server: ModelServerProcess,
) -> None:
    os.kill(own_server.engine_pid(), signal.SIGKILL)
    deadline = time.monotonic() + 10
    states = set()
    while time.monotonic() < deadline:
        resp = httpx.get(f"http://127.0.0.1:{own_server.port}/health", timeout=5)
        states.add(resp.json()["status"])
        if resp.status_code == 503:
            assert resp.json()["status"] == "restarting"
            busy = httpx.post(own_server.url + "/completions", json=SHORT, timeout=60)
            assert busy.status_code in (200, 503)  # 200 once the new engine is up
            if busy.status_code == 503:
                assert "SIGKILL" in busy.json()["error"]["message"]
            break
        time.sleep(0.05)
    own_server.wait_ready()
    assert httpx.post(own_server.url + "/completions", json=SHORT, timeout=60).status_code == 200


def test_repeated_crashes_stop_the_server_with_a_non_zero_exit(
    own_server: ModelServerProcess,
) -> None:
    for _ in range(3):  # --max-crashes 3, no request served in between
        pid = own_server.engine_pid()
        os.kill(pid, signal.SIGKILL)
        if _ < 2:
            deadline = time.monotonic() + 30
            while own_server.health()["engine"]["pid"] in (pid, None):
                assert time.monotonic() < deadline
                time.sleep(0.1)
    assert own_server.proc is not None
    assert own_server.proc.wait(timeout=30) == 1
    log = next(own_server.log_dir.glob("model_server_*.log")).read_text()  # type: ignore[union-attr]
    assert "the engine crashed 3 times in a row; giving up" in log


def _unusable_model(tmp_path: Path) -> Path:
    """The shipped model with its weights overwritten: it loads, but decodes to NaN."""
    data = bytearray(shipped_model_path().read_bytes())
    start = len(data) // 10  # past the header, metadata and tokenizer
    data[start:] = b"\xff" * (len(data) - start)  # 0xFFFF is NaN in the fp16 block scales
    path = tmp_path / "nan-weights.gguf"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", ["nan-weights", "not-gguf"])
def test_a_model_that_cannot_decode_fails_the_self_test_with_one_clear_line(
    tmp_path: Path, kind: str
) -> None:
    if kind == "nan-weights":
        model = _unusable_model(tmp_path)
    else:
        model = tmp_path / "broken.gguf"
        model.write_bytes(b"this is not a model " * 50)
    done = subprocess.run(
        [sys.executable, "-m", "model_server", "--model", str(model), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    line = next(
        x for x in done.stderr.splitlines() if x.startswith("model_server: the engine failed")
    )
    assert "CPU: " in line and "features:" in line and "Try " in line
    expected = "non-finite log-probs" if kind == "nan-weights" else "could not load the model"
    assert expected in line


def test_a_missing_model_file_is_one_line_and_exit_code(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "model_server", "--model", str(tmp_path / "nope.gguf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "no model file at" in done.stderr


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "Hello", "max_tokens": 2, "seed": -1}, "seed"),
        ({"prompt": "Hello", "max_tokens": 2, "seed": 2**64}, "seed"),
        ({"prompt": "Hello \ud800", "max_tokens": 2}, "prompt"),
        ({"prompt": "Hello", "max_tokens": 2, "stop": ["\udfff"]}, "stop"),
        ({"prompt": "Hello", "max_tokens": 2, "temperature": float("nan")}, "temperature"),
    ],
    ids=["seed-negative", "seed-too-big", "surrogate-prompt", "surrogate-stop", "nan-temp"],
)
async def test_a_bad_request_is_a_400_and_does_not_poison_later_requests(
    model_server: ModelServerProcess,
    body: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    import json

    raw = json.dumps(body, allow_nan=True).encode()  # keeps lone surrogates as \\u escapes
    async with httpx.AsyncClient(base_url=model_server.url, timeout=120) as client:
        bad = await client.post(
            "/completions", content=raw, headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400 and field in bad.json()["error"]["message"]
        good = await asyncio.gather(
            *(
                client.post("/completions", json={**SHORT, "temperature": t, "seed": 7})
                for t in (0.0, 0.3, 0.6, 1.0)
            )
        )
    assert all(r.status_code == 200 for r in good)
