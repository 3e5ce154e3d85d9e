"""The labeler loop over the JSON API: drafts, rating, submit (all or nothing, once)."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import assignment, design
from app.labeling.edits import edit_distance
from app.models import Experiment, LabelerCritique, Rating, Task
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers, store_fake_assistance


def _setup(db: Session, sources: list[str]) -> tuple[list[str], int]:
    answers = corpus(db, passages=1)
    store_fake_assistance(db, answers)
    names = labelers(db, 2)
    exp = design.create(db, design.Design(name="loop", sources=sources, labelers=names))
    design.launch(db, exp.id)
    db.commit()
    return names, exp.id


def _auth(db: Session, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_for(db, name)}"}


def _critique(
    text: str, severity: int = 1, category: str = "accuracy", **extra: object
) -> dict[str, object]:
    return {"text": text, "severity": severity, "category": category, **extra}


def test_edit_distance() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("same", "same") == 0
    assert edit_distance("", "abc") == 3


def test_draft_then_submit_stores_exactly_that(client: TestClient, db: Session) -> None:
    names, exp_id = _setup(db, ["model"])
    # The model answer has two tasks (assist, no assist); the two labelers take one each.
    for name in names:
        auth = _auth(db, name)
        task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
        view = client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()
        if view["assistance"]:
            break
    assert view["assistance"], "the assisted task shows its stored critiques"
    used, kept = view["assistance"][0], view["assistance"][1]
    url = f"/api/v1/tasks/{task_id}/critiques"
    client.post(
        url,
        headers=auth,
        json=_critique(
            used["text"] + " It also gets the date wrong.", 3, assistance_critique_id=used["id"]
        ),
    )
    client.post(
        url,
        headers=auth,
        json=_critique(kept["text"], 2, "coverage", assistance_critique_id=kept["id"]),
    )
    mine = client.post(
        url, headers=auth, json=_critique("Rambles.", 1, "other", category_text="style")
    ).json()
    client.put(
        f"{url}/{mine['id']}",
        headers=auth,
        json=_critique("Rambles in the second half.", 1, "other", category_text="style"),
    )
    gone = client.post(url, headers=auth, json=_critique("x")).json()
    assert client.delete(f"{url}/{gone['id']}", headers=auth).status_code == 204
    assert (
        client.put(f"/api/v1/tasks/{task_id}/rating", headers=auth, json={"value": 3}).json()[
            "rating"
        ]
        == 3
    )
    draft = client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()  # a reload shows the draft
    assert [c["text"] for c in draft["critiques"]][2] == "Rambles in the second half." and draft[
        "rating"
    ] == 3
    done = client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json={})
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert (
        client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json={}).status_code == 200
    )  # stored once
    fresh(db)
    rows = db.scalars(
        select(LabelerCritique)
        .where(LabelerCritique.task_id == task_id)
        .order_by(LabelerCritique.position)
    ).all()
    assert [(r.severity, r.category, r.edited) for r in rows] == [
        (3, "accuracy", True),
        (2, "coverage", False),
        (1, "other", None),
    ]
    assert (
        rows[0].edit_distance == len(" It also gets the date wrong.") and rows[1].edit_distance == 0
    )
    assert rows[2].category_text == "style"
    assert db.get(Rating, task_id).value == 3  # type: ignore[union-attr]
    task = db.get(Task, task_id)
    assert (
        task is not None
        and task.first_edit_at
        and task.submitted_at
        and task.submitted_at >= task.first_edit_at
    )
    assert client.post(url, headers=auth, json=_critique("late")).status_code == 409
    assert db.get(Experiment, exp_id).status == "launched"  # type: ignore[union-attr]


def test_a_script_labels_a_task_in_two_calls(client: TestClient, db: Session) -> None:
    names, _ = _setup(db, ["human"])
    auth = _auth(db, names[0])
    task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
    body = {"critiques": [_critique("Misses the point.", 2, "coverage")], "rating": 4}
    assert (
        client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json=body).json()["status"]
        == "submitted"
    )
    fresh(db)
    assert (
        len(db.scalars(select(LabelerCritique).where(LabelerCritique.task_id == task_id)).all())
        == 1
    )


def test_submit_is_all_or_nothing(client: TestClient, db: Session) -> None:
    names, _ = _setup(db, ["human"])
    auth = _auth(db, names[0])
    task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
    submit = f"/api/v1/tasks/{task_id}/submit"
    no_rating = client.post(submit, headers=auth, json={"critiques": [_critique("A flaw.")]})
    assert no_rating.status_code == 400 and no_rating.json()["error"]["field"] == "rating"
    bad = client.post(
        submit, headers=auth, json={"critiques": [_critique("A flaw.", 9)], "rating": 3}
    )
    assert bad.status_code == 422 and "severity" in bad.json()["error"]["message"]
    empty = client.post(submit, headers=auth, json={"critiques": [], "rating": 7})
    assert empty.status_code == 400 and "confirm" in empty.json()["error"]["message"]
    fresh(db)
    assert db.scalars(select(LabelerCritique)).all() == [] and db.get(Rating, task_id) is None
    assert db.get(Task, task_id).status == "assigned"  # type: ignore[union-attr]
    ok = client.post(
        submit, headers=auth, json={"critiques": [], "rating": 7, "confirm_no_critiques": True}
    )
    assert ok.status_code == 200


def test_foreign_stale_and_released_tasks_get_clear_errors(client: TestClient, db: Session) -> None:
    names, _ = _setup(db, ["human"])
    a, b = _auth(db, names[0]), _auth(db, names[1])
    task_id = client.post("/api/v1/tasks/next", headers=a).json()["task_id"]
    client.post(f"/api/v1/tasks/{task_id}/critiques", headers=a, json=_critique("Draft."))
    assert (
        client.put(f"/api/v1/tasks/{task_id}/rating", headers=b, json={"value": 2}).status_code
        == 403
    )
    assert client.put("/api/v1/tasks/99999/rating", headers=a, json={"value": 2}).status_code == 404
    fresh(db)
    assignment.reassign(db, task_id, "admin")
    db.commit()
    stale = client.put(f"/api/v1/tasks/{task_id}/rating", headers=a, json={"value": 2})
    assert stale.status_code == 409 and "no longer yours" in stale.json()["error"]["message"]
    fresh(db)
    assert (
        db.scalars(select(LabelerCritique).where(LabelerCritique.task_id == task_id)).all() == []
    )  # next labeler starts blank


def test_editing_a_used_critique_keeps_its_link_to_the_model_critique(
    client: TestClient, db: Session
) -> None:
    names, _ = _setup(db, ["model"])
    for name in names:
        auth = _auth(db, name)
        task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
        view = client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()
        if view["assistance"]:
            break
    shown = view["assistance"][0]
    url = f"/api/v1/tasks/{task_id}/critiques"
    made = client.post(
        url, headers=auth, json=_critique(shown["text"], 2, assistance_critique_id=shown["id"])
    ).json()
    edited = client.put(
        f"{url}/{made['id']}", headers=auth, json=_critique(shown["text"] + " More.", 3)
    ).json()
    assert edited["assistance_critique_id"] == shown["id"]
    foreign = client.put(
        f"{url}/{made['id']}", headers=auth, json=_critique("x", 3, assistance_critique_id=999999)
    )
    assert (
        foreign.status_code == 400 and foreign.json()["error"]["field"] == "assistance_critique_id"
    )


def _assisted_task(client: TestClient, db: Session) -> tuple[dict[str, str], int, dict]:
    names, _ = _setup(db, ["model"])
    for name in names:
        auth = _auth(db, name)
        task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
        view = client.get(f"/api/v1/tasks/{task_id}", headers=auth).json()
        if view["assistance"]:
            return auth, task_id, view["assistance"][0]
    raise AssertionError("one of the two labelers has the assisted condition")


def test_submit_scores_a_used_critique_listed_after_an_own_one(
    client: TestClient, db: Session
) -> None:
    """One batched insert: a key only the used critique carries must not be dropped."""
    auth, task_id, shown = _assisted_task(client, db)
    used = _critique(shown["text"] + "!", 2, assistance_critique_id=shown["id"])
    body = {"critiques": [_critique("Own."), used], "rating": 4}
    assert client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json=body).is_success
    fresh(db)
    stored = db.scalars(
        select(LabelerCritique)
        .where(LabelerCritique.task_id == task_id)
        .order_by(LabelerCritique.position)
    ).all()
    assert [(c.edit_distance, c.edited) for c in stored] == [(None, None), (1, True)]


def test_submit_with_only_a_rating_scores_the_drafts_used_critiques(
    client: TestClient, db: Session
) -> None:
    """The rating's upsert must not drop the draft critiques' pending edit distances."""
    auth, task_id, shown = _assisted_task(client, db)
    url = f"/api/v1/tasks/{task_id}/critiques"
    made = client.post(
        url, headers=auth, json=_critique(shown["text"], assistance_critique_id=shown["id"])
    ).json()
    client.put(f"{url}/{made['id']}", headers=auth, json=_critique(shown["text"] + "ab"))
    body = {"rating": 4}
    assert client.post(f"/api/v1/tasks/{task_id}/submit", headers=auth, json=body).is_success
    fresh(db)
    critique = db.get(LabelerCritique, made["id"])
    assert critique is not None and (critique.edit_distance, critique.edited) == (2, True)
