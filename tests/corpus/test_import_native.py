"""The native format: its JSON Schema, answers by source, intended critiques, authors."""

import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.corpus.demo import DEMO_FILE, load_demo
from app.corpus.importer import import_file
from app.corpus.parsing import ImportFileError, ImportFormat
from app.corpus.records import native_json_schema
from app.corpus.stats import entity_counts
from app.models import Answer, IntendedCritique, PassageExposure
from app.users.repository import UserRepository

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "app" / "corpus" / "native_schema.json"


def test_committed_json_schema_is_the_validators_schema() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == native_json_schema()


def test_demo_file_is_valid_against_the_json_schema() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    for line in DEMO_FILE.read_text().splitlines():
        jsonschema.validate(json.loads(line), schema)


def test_demo_loads_answers_of_all_three_sources_with_intended_critiques(db: Session) -> None:
    load_demo(db)
    db.commit()
    counts = entity_counts(db)
    assert (counts["passages"], counts["questions"], counts["answers"]) == (3, 6, 18)
    sources = db.scalars(select(Answer.source)).all()
    assert {s: sources.count(s) for s in set(sources)} == {
        "model": 6,
        "human": 6,
        "human_misleading": 6,
    }
    misleading = db.scalars(select(Answer).where(Answer.source == "human_misleading")).all()
    for answer in misleading:
        n = db.scalar(
            select(IntendedCritique.id).where(IntendedCritique.answer_id == answer.id).limit(1)
        )
        assert n is not None, "every misleading answer carries an intended critique"
    model = db.scalars(select(Answer).where(Answer.source == "model")).all()
    assert all(a.temperature is not None and a.model_name for a in model)


def test_authors_are_recorded_as_having_seen_their_passages(db: Session) -> None:
    load_demo(db)
    db.commit()
    writer = UserRepository(db).get_by_username("writer1")
    assert writer is not None
    exposures = db.scalars(
        select(PassageExposure).where(PassageExposure.user_id == writer.id)
    ).all()
    assert len(exposures) == 3 and {e.reason for e in exposures} == {"authored"}


def test_demo_is_idempotent(db: Session) -> None:
    load_demo(db)
    db.commit()
    before = entity_counts(db)
    _, added = load_demo(db)
    db.commit()
    assert entity_counts(db) == before
    assert "users" not in added


def _write(tmp_path: Path, records: list[dict]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "native.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


GOOD = {
    "passage": {"title": "T", "text": "Some text."},
    "questions": [
        {"question": "Q?", "answers": [{"source": "model", "text": "A.", "temperature": 0.4}]}
    ],
}


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({**GOOD, "passages": []}, "passages", "Extra inputs"),
        (
            {
                "passage": GOOD["passage"],
                "questions": [{"question": "Q?", "answers": [{"source": "robot", "text": "A"}]}],
            },
            "questions[0].answers[0].source",
            "'model', 'human' or 'human_misleading'",
        ),
        (
            {
                "passage": GOOD["passage"],
                "questions": [
                    {"question": "Q?", "answers": [{"source": "human_misleading", "text": "A"}]}
                ],
            },
            "questions[0].answers[0]",
            "needs at least one intended critique",
        ),
        (
            {
                "passage": GOOD["passage"],
                "questions": [
                    {
                        "question": "Q?",
                        "answers": [
                            {
                                "source": "human_misleading",
                                "text": "A",
                                "intended_critiques": [
                                    {"text": "x", "severity": 0, "category": "accuracy"}
                                ],
                            }
                        ],
                    }
                ],
            },
            "questions[0].answers[0].intended_critiques[0].severity",
            "greater than or equal to 1",
        ),
        (
            {
                "passage": GOOD["passage"],
                "questions": [
                    {
                        "question": "Q?",
                        "answers": [
                            {
                                "source": "human_misleading",
                                "text": "A",
                                "intended_critiques": [
                                    {"text": "x", "severity": 2, "category": "other"}
                                ],
                            }
                        ],
                    }
                ],
            },
            "questions[0].answers[0].intended_critiques[0]",
            "category_text",
        ),
    ],
    ids=[
        "extra-field",
        "unknown-source",
        "misleading-without-intended",
        "severity-0",
        "other-without-text",
    ],
)
def test_bad_native_lines_name_line_and_field(
    db: Session, tmp_path: Path, record: dict, field: str, message: str
) -> None:  # type: ignore[type-arg]
    path = _write(tmp_path, [GOOD, record])
    with pytest.raises(ImportFileError) as info:
        import_file(db, path, ImportFormat.native)
    db.rollback()
    assert (info.value.line, info.value.field) == (2, field)
    assert message in info.value.message
    assert entity_counts(db)["passages"] == 0


def test_unknown_author_fails_the_whole_file(db: Session, tmp_path: Path) -> None:
    bad = {
        "passage": {"text": "Other text."},
        "questions": [
            {"question": "Q?", "answers": [{"source": "human", "text": "A", "author": "nobody"}]}
        ],
    }
    path = _write(tmp_path, [GOOD, bad])
    with pytest.raises(
        ImportFileError,
        match="line 2, field questions\\[0\\].answers\\[0\\].author: no user named 'nobody'",
    ):
        import_file(db, path, ImportFormat.native)
    db.rollback()
    assert entity_counts(db)["passages"] == 0


def test_the_same_passage_in_two_lines_is_stored_once(db: Session, tmp_path: Path) -> None:
    other_answer = json.loads(json.dumps(GOOD))
    other_answer["questions"][0]["answers"][0]["text"] = "A different answer."
    added = import_file(db, _write(tmp_path, [GOOD, other_answer]), ImportFormat.native)
    assert added == {"passages": 1, "questions": 1, "answers": 2}
