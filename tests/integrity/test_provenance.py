"""Provenance rides on submit (API) and autosave (page form): stored, merged, refused clearly."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LabelerCritique, TaskProvenance
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, launched, store_fake_assistance


def _task(client: TestClient, db: Session) -> tuple[dict[str, str], int]:
    store_fake_assistance(db, corpus(db, passages=1))
    names = labelers(db, 2)
    launched(db, names, sources=("model",))
    db.commit()
    auth = {"Authorization": f"Bearer {api_token_for(db, names[0])}"}
    return auth, client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]


def _crit(text: str) -> dict[str, object]:
    return {"text": text, "severity": 2, "category": "accuracy"}


def test_submit_carries_provenance_by_position(client: TestClient, db: Session) -> None:
    auth, task_id = _task(client, db)
    body = {
        "critiques": [_crit("The date is wrong."), _crit("It misses the ending.")],
        "rating": 4,
        "provenance": {
            "away_s": 12.5,
            "departures": 2,
            "critiques": [
                {"position": 1, "typed_chars": 18, "typing_s": 4.0, "first_key_s": 3.0},
                {
                    "position": 2,
                    "pasted_chars": 21,
                    "pastes": [{"chars": 21, "at_s": 30.0}],
                    "first_key_s": 29.5,
                },
            ],
        },
    }
    assert (
        client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json=body).status_code == 200
    )
    fresh(db)
    row = db.get(TaskProvenance, task_id)
    assert row is not None and row.away_s == 12.5 and row.departures == 2
    ids = db.scalars(
        select(LabelerCritique.id)
        .where(LabelerCritique.task_id == task_id)
        .order_by(LabelerCritique.position)
    ).all()
    assert row.critiques[str(ids[0])]["typed_chars"] == 18
    assert row.critiques[str(ids[1])]["pastes"] == [{"chars": 21, "at_s": 30.0}]


def test_bad_provenance_is_refused_naming_the_field(client: TestClient, db: Session) -> None:
    auth, task_id = _task(client, db)
    url = f"/api/v1/tasks/{task_id}/submit"
    both = {"rating": 4, "confirm_no_critiques": True}
    resp = client.post(
        url, headers=auth, json={**both, "provenance": {"critiques": [{"typed_chars": 3}]}}
    )
    assert resp.status_code == 422 and "critique_id" in resp.text
    resp = client.post(
        url, headers=auth, json={**both, "provenance": {"critiques": [{"position": 1}]}}
    )
    assert resp.status_code == 400 and "provenance" in resp.text
    resp = client.post(url, headers=auth, json={**both, "provenance": {"away_s": -1}})
    assert resp.status_code == 422
    fresh(db)
    assert db.get(TaskProvenance, task_id) is None  # nothing stored, task still open


def test_autosave_merges_running_totals(client: TestClient, db: Session) -> None:
    """The page's autosave (a form PUT) carries the totals; a smaller later report (a page
    reloaded without its stored totals) never lowers what was recorded."""
    from tests.support.web import csrf_from

    auth, task_id = _task(client, db)
    cid = client.post(
        f"/api/v1/tasks/{task_id}/critiques", headers=auth, json=_crit("Wrong year.")
    ).json()["id"]
    page = client.get(f"/tasks/{task_id}", headers=auth)
    headers = {**auth, "X-CSRF-Token": csrf_from(page.text)}
    form = {"text": "Wrong year.", "severity": "2", "category": "accuracy"}
    for typed, away in ((11, 5.0), (4, 1.0)):
        prov = f'{{"away_s": {away}, "departures": 1, "critiques": [{{"critique_id": {cid}, "typed_chars": {typed}}}]}}'
        resp = client.put(
            f"/tasks/{task_id}/critiques/{cid}", headers=headers, data={**form, "provenance": prov}
        )
        assert resp.status_code == 200, resp.text
    resp = client.put(
        f"/tasks/{task_id}/critiques/{cid}", headers=headers, data={**form, "provenance": "{"}
    )
    assert "provenance" in resp.text  # the field's status names the problem
    fresh(db)
    row = db.get(TaskProvenance, task_id)
    assert row is not None and row.away_s == 5.0
    assert row.critiques[str(cid)]["typed_chars"] == 11
