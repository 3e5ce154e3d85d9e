"""Bad input to the analysis: a truncated or corrupted export file is named by file, line and
field (never a traceback), and an unknown experiment is an error with a message, from the
API (404) and from the CLI."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.analysis.export_file import analyze_file
from app.analysis.report import analyze
from app.analysis.simulate import SimParams, simulate
from app.core.errors import AppError
from app.export.service import export_lines
from app.users.service import api_token_for
from tests.support.web import make_user

CLI = str(Path(sys.executable).with_name("critiquelab"))
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture
def export(db: Session, tmp_path: Path) -> Path:
    """A real export of a small simulated experiment (36 lines)."""
    exp_id = simulate(db, SimParams(name="bad", passages=6, labelers=6, writers=2, seed=3))
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(export_lines(db, exp_id)))
    return path


def corrupt(path: Path, line: int, mutate: Mutation) -> Path:
    lines = path.read_bytes().splitlines()
    record = orjson.loads(lines[line - 1])
    mutate(record)
    lines[line - 1] = orjson.dumps(record)
    bad = path.with_name("corrupted.jsonl")
    bad.write_bytes(b"\n".join(lines) + b"\n")
    return bad


def with_critiques(path: Path) -> int:
    """The number of the first line whose labeler wrote a critique."""
    lines = path.read_bytes().splitlines()
    return next(n for n, line in enumerate(lines, 1) if orjson.loads(line)["critiques"])


CORRUPTIONS: dict[str, tuple[Mutation, str]] = {
    "a word for a rating": (lambda r: r.update(rating="high"), "rating"),
    "critiques not a list": (lambda r: r.update(critiques="none"), "critiques"),
    "no timing": (lambda r: r.update(timing=None), "timing"),
    "a duration as text": (lambda r: r["timing"].update(duration_s="5"), "timing.duration_s"),
    "a list for a passage id": (lambda r: r.update(passage_id=[1]), "passage_id"),
    "no condition": (lambda r: r.update(condition=None), "condition"),
    "a critique without severity": (
        lambda r: r["critiques"][0].pop("severity"),
        "critiques.0.severity",
    ),
    "a review without its fields": (lambda r: r.update(review={"x": 1}), "review.review_id"),
}


@SQLITE
@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_a_corrupted_record_is_named_by_file_line_and_field(export: Path, case: str) -> None:
    mutate, field = CORRUPTIONS[case]
    line = with_critiques(export)
    bad = corrupt(export, line, mutate)
    with pytest.raises(AppError) as caught:
        analyze_file(bad)
    assert caught.value.message.startswith(f"{bad}:{line}: field {field!r}: ")
    assert caught.value.field == field


@SQLITE
def test_a_truncated_file_names_its_last_line(export: Path) -> None:
    cut = export.with_name("cut.jsonl")
    cut.write_bytes(export.read_bytes()[:-200])
    with pytest.raises(AppError) as caught:
        analyze_file(cut)
    assert caught.value.message.startswith(f"{cut}:36: not JSON")


@SQLITE
def test_a_sound_file_gives_the_numbers_of_its_records(export: Path) -> None:
    records = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    assert analyze_file(export, samples=200) == analyze(records, samples=200)
    assert analyze_file(export, experiment=999, samples=200)["tasks"] == 0


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CRITIQUELAB_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    env["COLUMNS"] = "40"  # a narrow terminal: the message still comes out whole
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120)


@SQLITE
def test_the_cli_says_file_line_and_field_without_a_traceback(export: Path, tmp_path: Path) -> None:
    bad = corrupt(export, 4, lambda r: r.update(rating="high"))
    out = _cli(tmp_path, "analyze", "--input", str(bad), "-o", str(tmp_path / "out"))
    assert out.returncode == 1
    assert f"{bad}:4: field 'rating': Input should be a valid integer" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "out").exists()


def test_an_unknown_experiment_is_an_error_not_an_empty_export(tmp_path: Path) -> None:
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    for args in (
        ("export", "-o", str(tmp_path / "x.jsonl"), "--experiment", "999"),
        ("export", "-o", str(tmp_path / "x.parquet"), "--experiment", "999"),
        ("analyze", "-o", str(tmp_path / "out"), "--experiment", "999"),
    ):
        out = _cli(tmp_path, *args)
        assert out.returncode == 1 and "no experiment 999" in out.stderr, args
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "x.parquet").exists()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_export_of_an_unknown_experiment_is_a_404_with_a_message(
    client: TestClient, db: Session
) -> None:
    make_user(db, "rita", "researcher")
    researcher = {"Authorization": f"Bearer {api_token_for(db, 'rita')}"}
    for path in ("/api/v1/experiments/999/export", "/api/v1/experiments/999/analysis"):
        resp = client.get(path, headers=researcher)
        assert resp.status_code == 404
        assert resp.json()["error"]["message"] == "no experiment 999"
