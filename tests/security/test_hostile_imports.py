"""Hostile import files give file:line:field and store nothing (issue 20, item 8): through
the importer, the CLI (exit code 2) and the upload page (the worker fails the run with the
reason)."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.corpus.importer import import_file
from app.corpus.parsing import ImportFileError, ImportFormat
from app.corpus.stats import entity_counts
from app.jobs.registry import handlers
from app.jobs.worker import run_one
from tests.support.web import login, make_user

GOOD = {
    "passage": {"title": "T", "text": "A keeper tends a lighthouse."},
    "questions": [
        {"question": "Where?", "answers": [{"source": "model", "text": "A lighthouse."}]}
    ],
}


def _line(record: object) -> str:
    return json.dumps(record)


HOSTILE = {
    # name: (line 2 of the file, field named in the error or None, words in the message)
    "nul": (
        _line({**GOOD, "passage": {"title": "T", "text": "A\u0000B"}}),
        "passage.text",
        "NUL",
    ),
    "surrogate": (
        _line({**GOOD, "passage": {"title": "T", "text": "A\ud800B"}}),
        "passage.text",
        "surrogate",
    ),
    "nested": ('{"passage": ' + "[" * 100_000 + "]" * 100_000 + "}", None, "nested"),
    "nested_shallow": ('{"passage": ' + "[" * 2_000 + "]" * 2_000 + "}", None, "nested"),
    "digits": ('{"passage": {"title": "T", "text": "x"}, "n": ' + "9" * 5000 + "}", None, "digit"),
    "big_int": (
        _line(
            {
                **GOOD,
                "questions": [
                    {
                        "question": "Q?",
                        "answers": [{"source": "model", "text": "A.", "temperature": 2**63}],
                    }
                ],
            }
        ),
        "questions.0.answers.0.temperature",
        "between",
    ),
    "nan": (
        _line(
            {
                **GOOD,
                "questions": [
                    {
                        "question": "Q?",
                        "answers": [{"source": "model", "text": "A.", "temperature": float("nan")}],
                    }
                ],
            }
        ),
        "questions.0.answers.0.temperature",
        "finite",
    ),
}


def _file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.jsonl"
    path.write_text(_line(GOOD) + "\n" + HOSTILE[case][0] + "\n", errors="surrogatepass")
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_importer_names_file_line_and_field(db: Session, tmp_path: Path, case: str) -> None:
    path = _file(tmp_path, case)
    with pytest.raises(ImportFileError) as err:
        import_file(db, path, ImportFormat.native)
    _, field, words = HOSTILE[case]
    assert err.value.filename == path.name and err.value.line == 2, str(err.value)
    assert err.value.field == field and words in err.value.message, str(err.value)
    assert sum(entity_counts(db).values()) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_exits_2_with_the_reason(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "CRITIQUELAB_DATABASE_URL": database_url}
    for case in ("nul", "nested", "digits"):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "from app.cli import main; main()",
                "import",
                str(_file(tmp_path, case)),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 2, out.stderr
        assert f"{case}.jsonl, line 2" in out.stderr and "Traceback" not in out.stderr
        assert "nothing was imported" in out.stderr


def test_the_upload_page_fails_the_run_with_the_reason(
    client: TestClient, db: Session, tmp_path: Path
) -> None:
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    for run_id, case in enumerate(("nul", "nested", "digits"), 1):
        path = _file(tmp_path, case)
        with path.open("rb") as fh:
            resp = client.post(
                "/admin/import",
                data={"format": "native", "csrf_token": token},
                files={"file": (path.name, fh, "application/jsonl")},
                headers={"HX-Request": "true"},
            )
        assert resp.status_code == 200, resp.text
        assert asyncio.run(run_one("test-worker", handlers()))  # a worker runs the import
        html = client.get(f"/admin/import/{run_id}").text
        assert "hx-trigger" not in html  # it has ended
        assert "failed" in html and "line 2" in html and "internal error" not in html, html
    assert entity_counts(db)["passages"] == 0
