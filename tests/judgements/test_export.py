"""The paper-format export: the release's shape, and round trips through the importer."""

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.corpus.importer import import_file
from app.corpus.parsing import ImportFormat
from app.export.service import pseudonym
from app.judgements.export import records
from tests.judgements.helpers import batch, judged_corpus, second_database, submit_all
from tests.support.experiments import user_id
from tests.support.web import login, make_user

# Fields the importer does not keep (docs/decisions.md, "Paper-format export").
NOT_KEPT = ("source_id",)


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _canonical(recs: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> list[str]:
    """Order-insensitive: each record as sorted-key JSON, the list sorted."""
    return sorted(
        json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True) for r in recs
    )


def _shape(value: Any) -> Any:
    """Keys and types, with every list reduced to the union of its items' shapes."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(_shape(v), sort_keys=True) for v in value})
    return "null" if value is None else type(value).__name__


def test_import_then_export_gives_the_sample_back(db: Session, paper_sample: Path) -> None:
    import_file(db, paper_sample, ImportFormat.paper)
    db.commit()
    original = _read(paper_sample)
    exported = list(records(db))
    assert len(exported) == len(original) == 40
    assert _canonical(exported, NOT_KEPT) == _canonical(original, NOT_KEPT)

    # source_id is a content id: records that share one in the file share one in the
    # export, and the other way round.
    def groups(recs: list[dict[str, Any]]) -> set[frozenset[str]]:
        by: dict[str, set[str]] = defaultdict(set)
        for r in recs:
            by[r["source_id"]].add(r["id"])
        return {frozenset(ids) for ids in by.values()}

    assert groups(exported) == groups(original)


def test_in_app_judgements_have_the_release_shape_and_survive_a_round_trip(
    request: pytest.FixtureRequest,
    database_url: str,
    db: Session,
    tmp_path: Path,
    paper_sample: Path,
) -> None:
    qids, names = judged_corpus(db, passages=2, n_labelers=3)
    batch(db, qids, names, per=2)
    assert submit_all(db, names) == 4
    db.commit()
    exported = list(records(db))
    assert len(exported) == 4
    sample = _read(paper_sample)[0]
    for r in exported:
        assert set(r) == set(sample)
        assert set(r["data"]["questions"][0]) == set(sample["data"]["questions"][0])
        answer = r["data"]["questions"][0]["answers"][0]
        assert set(answer) == {"answer", "critiques"}
        assert set(answer["critiques"][0]) == {"critique", "feedback"}
        assert r["labeler"] in {pseudonym(user_id(db, n)) for n in names}
        q = r["data"]["questions"][0]
        ranks = sorted(x for x in q["rankings"] if x is not None)
        assert ranks == list(range(len(ranks)))  # 0-based, no ties, no gaps
        helpful = [c["feedback"]["helpful"] for a in q["answers"] for c in a["critiques"]]
        assert [x is not None for x in q["rankings"]] == helpful
        assert isinstance(r["time"], float) and r["split"] == "train"
    with_better = [r for r in exported if r["data"]["questions"][0]["new_critique"]]
    assert with_better and set(with_better[0]["data"]["questions"][0]["new_critique"]) == {
        "text",
        "category",
        "severity",
        "category_text",
    }
    assert _shape(exported[0]["data"]["questions"][0]["answers"]) == _shape(
        sample["data"]["questions"][0]["answers"]
    )

    path = tmp_path / "judgements.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in exported))
    with second_database(request, database_url) as other:
        added = import_file(other, path, ImportFormat.paper)
        other.commit()
        assert added["helpfulness_judgements"] == 4 * 6 and added["question_feedback"] == 4
        again = list(records(other))
        assert _canonical(again) == _canonical(exported)
        # Re-importing the same file adds nothing and changes no record.
        assert sum(import_file(other, path, ImportFormat.paper).values()) == 0
        other.commit()
        assert _canonical(list(records(other))) == _canonical(exported)
    # Imported back into the database they came from, they are not exported twice.
    import_file(db, path, ImportFormat.paper)
    db.commit()
    assert _canonical(list(records(db))) == _canonical(exported)


def test_the_cli_and_the_api_export(
    client: TestClient, db: Session, database_url: str, tmp_path: Path, paper_sample: Path
) -> None:
    import_file(db, paper_sample, ImportFormat.paper)
    make_user(db, "reader", "researcher")
    db.commit()
    out = tmp_path / "out.jsonl"
    cli = str(Path(sys.executable).with_name("critiquelab"))
    import os

    env = {**os.environ, "CRITIQUELAB_DATABASE_URL": database_url}
    done = subprocess.run(
        [cli, "judgements", "export", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 40 records" in done.stdout
    assert _canonical(_read(out), NOT_KEPT) == _canonical(_read(paper_sample), NOT_KEPT)
    # The research export's --format paper is the same file.
    again = tmp_path / "again.jsonl"
    done = subprocess.run(
        [cli, "export", "-o", str(again), "--format", "paper"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert _canonical(_read(again), NOT_KEPT) == _canonical(_read(out), NOT_KEPT)
    login(client, "reader")
    r = client.get("/api/v1/judgements/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert len(r.text.splitlines()) == 40
