"""The paper's released format: counts, idempotence, and all-or-nothing rejection."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.corpus.importer import import_file
from app.corpus.parsing import ImportFileError, ImportFormat
from app.corpus.stats import entity_counts
from app.models import HelpfulnessJudgement, QuestionFeedback

PAPER = ImportFormat.paper


def _import(db: Session, path: Path) -> dict[str, int]:
    added = import_file(db, path, PAPER)
    db.commit()
    return added


def test_sample_stores_each_entity_once_and_every_judgement(
    db: Session, paper_sample: Path
) -> None:
    _import(db, paper_sample)
    counts = entity_counts(db)
    assert (counts["passages"], counts["questions"], counts["answers"]) == (36, 101, 104)
    assert counts["helpfulness_judgements"] == 764
    assert counts["question_feedback"] == 110


def test_reimporting_changes_nothing(db: Session, paper_sample: Path) -> None:
    _import(db, paper_sample)
    before = entity_counts(db)
    assert _import(db, paper_sample) == {"passages": 0, "questions": 0, "answers": 0}
    assert entity_counts(db) == before


def test_judgement_fields_are_kept(db: Session, paper_sample: Path) -> None:
    _import(db, paper_sample)
    first = json.loads(paper_sample.read_text().splitlines()[0])
    rows = db.scalars(
        select(HelpfulnessJudgement)
        .where(HelpfulnessJudgement.source_record_id == first["id"])
        .order_by(HelpfulnessJudgement.critique_index)
    ).all()
    critiques = first["data"]["questions"][0]["answers"][0]["critiques"]
    assert [r.critique_text for r in rows] == [c["critique"] for c in critiques]
    assert [r.helpful for r in rows] == [c["feedback"]["helpful"] for c in critiques]
    assert [r.rank for r in rows] == first["data"]["questions"][0]["rankings"]
    assert {r.labeler_hash for r in rows} == {first["labeler"]}
    assert rows[0].judged_at is not None and rows[0].judged_at.timestamp() == pytest.approx(
        first["time"]
    )


def test_new_critique_and_flags_are_kept(db: Session, paper_sample: Path) -> None:
    _import(db, paper_sample)
    with_new = db.scalars(
        select(QuestionFeedback).where(QuestionFeedback.new_critique_text.is_not(None))
    ).all()
    assert len(with_new) == 23
    assert all(
        f.new_critique_category in {"accuracy", "coverage", "coherence", "other"} for f in with_new
    )
    assert all(1 <= (f.new_critique_severity or 0) <= 4 for f in with_new)
    flags = db.scalars(select(QuestionFeedback.is_critiqueable)).all()
    assert (flags.count(True), flags.count(False), flags.count(None)) == (15, 34, 61)


def _broken_copy(tmp_path: Path, sample: Path, lineno: int, change) -> Path:  # type: ignore[no-untyped-def]
    lines = sample.read_text().splitlines()
    lines[lineno - 1] = change(lines[lineno - 1])
    out = tmp_path / "broken.jsonl"
    out.write_text("\n".join(lines) + "\n")
    return out


def _set(path: list[object], value: object):  # type: ignore[no-untyped-def]
    def change(line: str) -> str:
        rec = json.loads(line)
        node = rec
        for key in path[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return json.dumps(rec)

    return change


_DELETE = object()
Q0 = ["data", "questions", 0]


@pytest.mark.parametrize(
    ("lineno", "change", "field", "message"),
    [
        (7, lambda line: line[:-20], None, "malformed JSON"),
        (12, _set(["labeler"], _DELETE), "labeler", "Field required"),
        (
            3,
            _set([*Q0, "answers", 0, "critiques", 1, "feedback", "helpful"], "yes"),
            "data.questions[0].answers[0].critiques[1].feedback.helpful",
            "valid boolean",
        ),
        (
            5,
            _set([*Q0, "new_critique"], {"text": "x", "category": "style", "severity": 2}),
            "data.questions[0].new_critique.category",
            "'accuracy', 'coverage', 'coherence' or 'other'",
        ),
        (
            9,
            _set([*Q0, "new_critique"], {"text": "x", "category": "accuracy", "severity": 5}),
            "data.questions[0].new_critique.severity",
            "less than or equal to 4",
        ),
        (
            20,
            _set(["data", "passage", "text"], "x" * 60_000),
            "data.passage.text",
            "over the limit",
        ),
        (40, _set([*Q0, "question"], 42), "data.questions[0].question", "valid string"),
    ],
    ids=[
        "malformed-json",
        "missing-field",
        "mistyped",
        "unknown-category",
        "severity-5",
        "oversized",
        "wrong-type",
    ],
)
def test_a_broken_copy_is_rejected_with_line_and_field_and_stores_nothing(
    db: Session,
    paper_sample: Path,
    tmp_path: Path,
    lineno: int,
    change,
    field: str | None,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    before = entity_counts(db)
    broken = _broken_copy(tmp_path, paper_sample, lineno, change)
    with pytest.raises(ImportFileError) as info:
        _import(db, broken)
    db.rollback()
    err = info.value
    assert (err.line, err.field) == (lineno, field)
    assert message in err.message
    assert f"line {lineno}" in str(err)
    assert entity_counts(db) == before


def test_a_broken_copy_after_a_good_import_leaves_counts_unchanged(
    db: Session, paper_sample: Path, tmp_path: Path
) -> None:
    _import(db, paper_sample)
    before = entity_counts(db)
    broken = _broken_copy(
        tmp_path, paper_sample, 39, lambda line: line.replace('"helpful": true', '"helpful": 1', 1)
    )
    with pytest.raises(ImportFileError, match="line 39"):
        _import(db, broken)
    db.rollback()
    assert entity_counts(db) == before


def test_empty_file_is_an_error(db: Session, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ImportFileError, match="no records"):
        import_file(db, empty, PAPER)
