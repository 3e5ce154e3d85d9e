"""Import fuzz (issue 14, "Bad input"): mutated copies of the native and the paper import
files (dropped fields, wrong types, truncated lines, invalid UTF-8, huge strings, duplicate
keys). Each either imports whole or fails with file, line (and field where one applies), and
the database (`critiquelab stats`) is unchanged after every failure.

500 copies of each format per backend, seeded: the same files on every run.
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.corpus.importer import import_file
from app.corpus.parsing import ImportFileError, ImportFormat
from app.corpus.stats import entity_counts
from app.models import Passage

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
EXAMPLES_PER_FORMAT = 500
Path_ = tuple[str | int, ...]


def _first_records(path: Path, n: int) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            out.append(json.loads(line))
            if len(out) == n:
                break
    return out


def _base(fmt: ImportFormat) -> list[dict[str, Any]]:
    if fmt == ImportFormat.native:
        return _first_records(ROOT / "app/corpus/demo_data.jsonl", 3)
    paper = SHARED_DATA / "paper_helpfulness_sample.jsonl"
    if not paper.exists():
        pytest.skip(f"{paper} is not here (../shared/data beside the project)")
    return _first_records(paper, 3)


def _paths(value: Any, at: Path_ = ()) -> list[Path_]:
    """Every path to a value inside a record (the record itself excluded)."""
    out: list[Path_] = [at] if at else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


def _get(doc: Any, path: Path_) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _dumps_with_duplicate(value: Any, target: Path_, key: str, extra: Any, at: Path_ = ()) -> str:
    """JSON text of value in which the object at `target` holds `key` twice."""
    if isinstance(value, dict):
        parts = [
            f"{json.dumps(k)}: {_dumps_with_duplicate(v, target, key, extra, (*at, k))}"
            for k, v in value.items()
        ]
        if at == target:
            parts.append(f"{json.dumps(key)}: {json.dumps(extra)}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        items = (
            _dumps_with_duplicate(v, target, key, extra, (*at, i)) for i, v in enumerate(value)
        )
        return "[" + ", ".join(items) + "]"
    return json.dumps(value)


WRONG_VALUES = st.sampled_from([None, True, 0, -1, 7, 2**31, 1.5, "", "x", [], [1], {}, {"a": 1}])
HUGE = st.sampled_from([5_001, 20_001, 50_001, 300_000])


@st.composite
def mutated_file(draw: st.DrawFn, fmt: ImportFormat) -> tuple[str, bytes]:
    """(what was done, the file's bytes): the base records with one of them mutated."""
    records = json.loads(json.dumps(_base(fmt)))  # a fresh copy
    index = draw(st.integers(0, len(records) - 1))
    record = records[index]
    kind = draw(
        st.sampled_from(["drop", "wrong_type", "truncate", "invalid_utf8", "huge", "duplicate"])
    )
    lines = [json.dumps(r).encode() for r in records]
    paths = _paths(record)
    if kind == "drop":
        path = draw(st.sampled_from(paths))
        del _get(record, path[:-1])[path[-1]]
    elif kind == "wrong_type":
        path = draw(st.sampled_from(paths))
        _get(record, path[:-1])[path[-1]] = draw(WRONG_VALUES)
    elif kind == "huge":
        strings = [p for p in paths if isinstance(_get(record, p), str)]
        path = draw(st.sampled_from(strings))
        _get(record, path[:-1])[path[-1]] = draw(st.sampled_from("aé€😀")) * draw(HUGE)
    if kind in ("drop", "wrong_type", "huge"):
        lines[index] = json.dumps(record).encode()
        what = f"{kind} {'.'.join(map(str, path))}"
    elif kind == "duplicate":
        objects = [p for p in [(), *paths] if isinstance(_get(record, p), dict)]
        path = draw(st.sampled_from(objects))
        key = draw(st.sampled_from(sorted(_get(record, path)) or ["k"]))
        text = _dumps_with_duplicate(record, path, key, draw(WRONG_VALUES))
        lines[index] = text.encode()
        what = f"duplicate {'.'.join(map(str, (*path, key)))}"
    elif kind == "truncate":
        cut = draw(st.integers(0, len(lines[index]) - 1))
        lines[index] = lines[index][:cut]
        what = f"truncate at {cut}"
    else:
        at = draw(st.integers(0, len(lines[index])))
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x82", b"\x80"]))
        lines[index] = lines[index][:at] + bad + lines[index][at:]
        what = f"invalid utf-8 at {at}"
    return f"line {index + 1}: {what}", b"\n".join(lines) + b"\n"


def _check(db: Session, tmp_path: Path, fmt: ImportFormat, case: tuple[str, bytes]) -> str:
    what, data = case
    name = f"fuzz-{fmt.value}.jsonl"
    path = tmp_path / name
    path.write_bytes(data)
    n_lines = data.count(b"\n")
    before = entity_counts(db)
    db.rollback()
    try:
        with session_scope() as s:
            import_file(s, path, fmt)
    except ImportFileError as exc:
        after = entity_counts(db)
        db.rollback()
        assert after == before, f"{what}: a failed import changed the database"
        assert exc.filename == name and exc.line is not None and 1 <= exc.line <= n_lines, (
            f"{what}: {exc}"
        )
        assert str(exc).startswith(f"{name}, line {exc.line}"), f"{what}: {exc}"
        if what.split(": ", 1)[1].startswith(("drop", "wrong_type", "huge", "duplicate")):
            assert exc.field, f"{what}: no field named in {exc}"
        return "failed"
    # Imported: whole, every line's passage is stored.
    texts = [_passage_text(fmt, json.loads(line)) for line in data.splitlines() if line.strip()]
    stored = db.scalar(
        select(func.count(func.distinct(Passage.text))).where(Passage.text.in_(texts))
    )
    db.rollback()
    assert stored == len(set(texts)), f"{what}: imported only part of the file"
    return "imported"


def _passage_text(fmt: ImportFormat, record: dict[str, Any]) -> str:
    passage = record["passage"] if fmt == ImportFormat.native else record["data"]["passage"]
    return str(passage["text"])


def _fuzz(fmt: ImportFormat) -> Callable[[Session, Path], dict[str, int]]:
    def run(db: Session, tmp_path: Path) -> dict[str, int]:
        outcomes: dict[str, int] = {}

        @seed(14)
        @settings(
            max_examples=EXAMPLES_PER_FORMAT,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(mutated_file(fmt))
        def one(case: tuple[str, bytes]) -> None:
            outcome = _check(db, tmp_path, fmt, case)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

        one()
        return outcomes

    return run


@pytest.mark.parametrize("fmt", [ImportFormat.native, ImportFormat.paper])
def test_mutated_import_files_import_whole_or_fail_with_file_line_and_field(
    db: Session, tmp_path: Path, fmt: ImportFormat
) -> None:
    if fmt == ImportFormat.native:
        from tests.support.web import make_user

        for writer in ("writer1", "writer2"):  # the demo's human answers name their authors
            make_user(db, writer, "labeler")
    outcomes = _fuzz(fmt)(db, tmp_path)
    # Both outcomes occur (a fuzzer that only ever breaks the file proves little).
    assert outcomes.get("failed", 0) > 100 and outcomes.get("imported", 0) > 10, outcomes
    assert sum(outcomes.values()) == EXAMPLES_PER_FORMAT


def test_the_cli_reports_file_and_line_and_stats_are_unchanged(
    database_url: str, tmp_path: Path
) -> None:
    lines = (ROOT / "app/corpus/demo_data.jsonl").read_bytes().splitlines()
    lines[1] = lines[1][:40] + b"\xff" + lines[1][40:]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    env = dict(os.environ, CRITIQUELAB_DATABASE_URL=database_url)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        code = "from app.cli import main; main()"
        return subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=ROOT
        )

    before = cli("stats")
    out = cli("import", str(bad), "--format", "native")
    assert out.returncode == 2, out.stderr
    assert "bad.jsonl, line 2" in out.stderr and "not UTF-8" in out.stderr
    assert "Traceback" not in out.stderr
    after = cli("stats")
    assert before.returncode == 0 and json.loads(after.stdout) == json.loads(before.stdout)
