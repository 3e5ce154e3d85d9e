"""scripts/supervise.py (what quickstart runs): a process that exits is reported at once with
its log, restarted with backoff, and one that keeps dying stops everything non-zero."""

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("supervise", ROOT / "scripts" / "supervise.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


supervise = _load()


def child(tmp_path: Path, name: str, code: str, essential: bool = False):  # type: ignore[no-untyped-def]
    return supervise.Child(
        name, [sys.executable, "-c", code], tmp_path / f"{name}.log", essential=essential
    )


def test_a_dying_process_is_reported_with_its_log_restarted_then_everything_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flaky = child(tmp_path, "model", "print('engine self-test failed: NaN'); raise SystemExit(3)")
    steady = child(tmp_path, "app", "import time; time.sleep(60)", essential=True)
    sup = supervise.Supervisor([flaky, steady], max_deaths=3, backoff_s=0.05)
    started = time.monotonic()
    assert sup.run() == 3
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert err.count("quickstart: model exited with code 3; last lines of") == 3
    assert "engine self-test failed: NaN" in err
    assert err.count("restarting model") == 2
    assert "model died 3 times in 300 s; stopping everything" in err
    assert steady.proc.poll() is not None  # the app was stopped too, not left running


def test_the_app_exiting_stops_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = child(tmp_path, "worker", "import time; time.sleep(60)")
    app = child(tmp_path, "app", "import time; time.sleep(0.5); raise SystemExit(2)", True)
    assert supervise.Supervisor([worker, app]).run() == 2
    assert "app exited with code 2" in capsys.readouterr().err
    assert worker.proc.poll() is not None


def test_a_process_killed_by_a_signal_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    segv = child(tmp_path, "model", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert supervise.Supervisor([segv], max_deaths=1).run() != 0
    assert "model was killed by SIGSEGV" in capsys.readouterr().err
