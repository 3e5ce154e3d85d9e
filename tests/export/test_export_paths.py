"""PostgreSQL writes the export's JSON itself; it must give the records Python builds."""

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.export.parquet import write_parquet
from app.export.service import export_lines, python_lines
from tests.support.export import labeled, misleading, reviewed

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _same(value: Any) -> Any:
    """Timestamps as datetimes: PostgreSQL drops trailing zeros of the fraction (.94781),
    orjson writes six digits (.947810); the same instant either way."""
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same(v) for v in value]
    if isinstance(value, str) and TIMESTAMP.match(value):
        return datetime.fromisoformat(value)
    return value


def _records(lines: Iterable[bytes]) -> list[Any]:
    return [_same(json.loads(line)) for line in lines]


@POSTGRES
def test_postgres_lines_are_the_python_records(client: TestClient, db: Session) -> None:
    exp_id, _ = labeled(client, db)
    from_db = _records(export_lines(db, exp_id))
    assert len(from_db) == 2 and any(r["assistance"] for r in from_db)
    assert from_db == _records(python_lines(db, exp_id))


@POSTGRES
def test_postgres_lines_carry_the_review_as_python_does(db: Session) -> None:
    exp_id = misleading(db)
    from_db = _records(export_lines(db, exp_id))
    assert from_db and all(r["intended_critiques"] for r in from_db)
    assert from_db == _records(python_lines(db, exp_id))


PROVENANCE = ("typed_chars", "pasted_chars", "pastes", "first_key_s", "typing_s", "edits_after_use")


def _integrity(row: dict[str, Any]) -> dict[str, object]:
    exclusion = None
    if row["integrity_exclusion_scope"] is not None:
        exclusion = {
            "scope": row["integrity_exclusion_scope"],
            "reason": row["integrity_exclusion_reason"],
            "excluded_at": row["integrity_exclusion_excluded_at"],
        }
    evidence = row["integrity_evidence"]
    return {
        "provenance": None
        if row["integrity_away_s"] is None
        else {"away_s": row["integrity_away_s"], "departures": row["integrity_departures"]},
        "checked": row["integrity_checked"],
        "flags": row["integrity_flags"],
        "evidence": None if evidence is None else json.loads(evidence),
        "excluded": row["integrity_excluded"],
        "exclusion": exclusion,
    }


def _critique(row: dict[str, Any]) -> dict[str, object]:
    fields = {k[9:]: v for k, v in row.items() if k.startswith("critique_")}
    del fields["number"]
    counts = {k: fields.pop(k) for k in PROVENANCE}
    fields["provenance"] = None if counts["typed_chars"] is None else counts
    return fields


def _from_parquet(path: Path) -> list[dict[str, object]]:
    """Rebuild JSONL-shaped records from the flattened critiques table."""
    rows = pq.read_table(path).to_pylist()
    records: dict[int, dict[str, Any]] = {}
    for row in rows:
        rec = records.get(row["task_id"])
        if rec is None:
            timing = {k[7:]: v for k, v in row.items() if k.startswith("timing_")}
            review = None
            if row["review_id"] is not None:
                review = {
                    "review_id": row["review_id"],
                    "submitted_at": row["review_submitted_at"],
                    "reviewer_is_author": row["review_reviewer_is_author"],
                    "author_permission": row["review_author_permission"],
                    "covered_intended_ids": row["review_covered_intended_ids"],
                }
            rec = {
                k: v
                for k, v in row.items()
                if not k.startswith(("timing_", "review_", "critique_", "integrity_"))
            }
            rec.update(timing=timing, review=review, critiques=[], integrity=_integrity(row))
            rec["study"] = None if row["study"] is None else json.loads(row["study"])
            records[row["task_id"]] = rec
        if row["critique_number"] is not None:
            assert row["critique_number"] == len(rec["critiques"]) + 1
            rec["critiques"].append(_critique(row))
    return list(records.values())


@POSTGRES
def test_postgres_lines_carry_the_submitted_review(db: Session) -> None:
    exp_id = reviewed(db).exp_id
    from_db = _records(export_lines(db, exp_id))
    assert all(r["review"] and r["review"]["covered_intended_ids"] is not None for r in from_db)
    assert from_db == _records(python_lines(db, exp_id))


def test_parquet_holds_the_jsonl_records(client: TestClient, db: Session, tmp_path: Path) -> None:
    reviewed(db)
    lines = list(export_lines(db))
    out = tmp_path / "export.parquet"
    assert write_parquet(iter(lines), out) == len(lines)
    jsonl = _records(lines)
    assert _from_parquet(out) == jsonl
    assert all(r["review"] and r["intended_critiques"] for r in jsonl)


def test_parquet_holds_assistance_shown(client: TestClient, db: Session, tmp_path: Path) -> None:
    labeled(client, db)
    lines = list(export_lines(db))
    out = tmp_path / "export.parquet"
    assert write_parquet(iter(lines), out) == 2
    jsonl = _records(lines)
    assert _from_parquet(out) == jsonl and any(r["assistance"] for r in jsonl)
