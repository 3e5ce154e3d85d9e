"""The CLI as a user runs it: a real process, a real database file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("critiquelab"))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    import os

    e = dict(os.environ)
    e["CRITIQUELAB_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    # A narrow console, as on a user's terminal: messages must still come out whole.
    e["COLUMNS"] = "40"
    assert run(e, "db", "upgrade").returncode == 0
    return e


def test_help_loads_no_web_or_database_stack() -> None:
    """Start-up is what a short command costs (the 100k-row export included): `--help`
    builds every command, and must not import FastAPI or SQLAlchemy to do it."""
    code = (
        "import sys; from app.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'app.core.database') if m in sys.modules), "
        "file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "export", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "--output" in out.stdout, out.stderr
    assert out.stderr.strip() == "[]"


def test_demo_then_stats(env: dict[str, str]) -> None:
    out = run(env, "demo")
    assert out.returncode == 0, out.stderr
    assert "admin-demo" in out.stdout and "labeler6" in out.stdout
    stats = json.loads(run(env, "stats").stdout)
    assert stats["passages"] == 3 and stats["users"] == 10 and stats["answers"] == 18
    assert set(stats) >= {"tasks", "labeler_critiques", "assistance_critiques", "jobs", "ratings"}


def test_import_prints_what_was_added_and_rejects_bad_files(
    env: dict[str, str], paper_sample: Path, tmp_path: Path
) -> None:
    out = run(env, "import", str(paper_sample), "--format", "paper")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"]["helpfulness_judgements"] == 764
    bad = tmp_path / "bad.jsonl"
    bad.write_text(paper_sample.read_text().splitlines()[0] + "\n{not json\n")
    out = run(env, "import", str(bad), "--format", "paper")
    assert out.returncode == 2  # a bad input file (other failures exit 1)
    assert (
        "bad.jsonl, line 2: malformed JSON" in out.stderr and "nothing was imported" in out.stderr
    )
    assert run(env, "import", str(bad), "--format", "csv").returncode == 1


def test_users_create_and_token(env: dict[str, str]) -> None:
    out = run(
        env, "users", "create", "--username", "ada", "--password", "password-123", "--role", "admin"
    )
    assert out.returncode == 0 and "created admin ada" in out.stdout
    again = run(
        env, "users", "create", "--username", "ada", "--password", "password-123", "--role", "admin"
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_role = run(
        env, "users", "create", "--username", "bob", "--password", "password-123", "--role", "boss"
    )
    assert bad_role.returncode == 1 and "role" in bad_role.stderr
    token = run(env, "users", "token", "ada")
    assert token.returncode == 0 and len(token.stdout.strip()) > 20


def test_experiments_create_and_launch(env: dict[str, str]) -> None:
    assert run(env, "demo").returncode == 0
    labelers = ",".join(f"labeler{i}" for i in range(1, 7))
    out = run(
        env,
        "experiments",
        "create",
        "--name",
        "pilot",
        "--labelers",
        labelers,
        "--questions",
        "1,3,5",
    )
    assert out.returncode == 0, out.stderr
    exp_id = out.stdout.strip()
    assert exp_id.isdigit()
    launched = run(env, "experiments", "launch", exp_id)
    assert launched.returncode == 0 and "18 tasks" in launched.stdout
    assert json.loads(run(env, "stats").stdout)["jobs"] == 9  # assistance for the 9 answers
    all_questions = run(env, "experiments", "create", "--name", "all", "--labelers", labelers)
    assert all_questions.returncode == 0 and "cannot be filled" in all_questions.stderr
    assert run(env, "experiments", "launch", exp_id).returncode == 1


def test_export_writes_a_complete_file(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    done = run(env, "export", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 0 labeling tasks" in done.stdout and out.read_text() == ""


def test_simulate_export_analyze(env: dict[str, str], tmp_path: Path) -> None:
    sim = run(env, "simulate", "--name", "cli-sim", "--passages", "6", "--labelers", "6")
    assert sim.returncode == 0, sim.stderr
    exp_id = sim.stdout.strip()
    export = tmp_path / "sim.jsonl"
    assert run(env, "export", "-o", str(export), "--experiment", exp_id).returncode == 0
    from_db = run(env, "analyze", "--experiment", exp_id, "-o", str(tmp_path / "db"))
    assert from_db.returncode == 0, from_db.stderr
    assert "analysed 36 labeling tasks" in from_db.stdout
    from_file = run(env, "analyze", "--input", str(export), "-o", str(tmp_path / "file"))
    assert from_file.returncode == 0, from_file.stderr
    db_report = (tmp_path / "db" / "report.json").read_bytes()
    assert db_report == (tmp_path / "file" / "report.json").read_bytes()
    assert (tmp_path / "file" / "figures" / "fig1_critiques_per_answer.png").stat().st_size > 0
    missing = run(env, "analyze", "--input", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_writing_assign_and_reviews_list(env: dict[str, str]) -> None:
    assert run(env, "demo").returncode == 0
    done = run(env, "writing", "assign", "--writer", "labeler1", "--questions", "1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["writing_task_ids"]
    bad = run(env, "writing", "assign", "--writer", "nobody", "--questions", "1")
    assert bad.returncode == 1 and "nobody" in bad.stderr
    assert run(env, "reviews", "list").stdout == ""
