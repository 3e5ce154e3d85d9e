"""The author's review never tells who had model help (issue 20, item 2).

Within an answer the assist tasks are created first, so task ids (and anything ordered by
them) would leak the condition. The page and the API show per-review pseudonyms in an order
shuffled by a keyed hash of the review id, and take the pseudonyms back.
"""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Condition,
    IntendedCritiqueReview,
    LabelerCritique,
    ReviewCoverage,
    ReviewJudgement,
    Task,
)
from app.review import repository as review_repository
from app.review import view as review_view
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.web import login
from tests.support.writing import labeled_misleading, written

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _reviewed(db: Session, n_labelers: int = 6) -> tuple[IntendedCritiqueReview, list[Task]]:
    written(db)
    labeled_misleading(db, "blind", n_labelers=n_labelers)
    db.commit()
    review = db.scalar(select(IntendedCritiqueReview))
    assert review is not None
    tasks = list(db.scalars(select(Task).where(Task.answer_id == review.answer_id)))
    return review, tasks


def _keys(obj: object, path: str = "") -> list[str]:
    """Every key path in a JSON document, e.g. labelers[].critiques[].key."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in [f"{path}{k}", *_keys(v, f"{path}{k}.")]]
    if isinstance(obj, list):
        return [p for v in obj for p in _keys(v, path.rstrip(".") + "[].")]
    return []


def test_page_and_api_show_pseudonyms_not_task_or_critique_ids(
    client: TestClient, db: Session
) -> None:
    review, tasks = _reviewed(db)
    assert len(tasks) == 2  # one answer x (assist, no_assist)

    login(client, "writer0")
    page = client.get(f"/reviews/{review.id}").text
    assert sorted(re.findall(r'name="labeler" value="([^"]+)"', page)) == ["A", "B"]
    # Every field that names a labeler or a critique names it by pseudonym.
    assert set(re.findall(r'name="cover-([^"]+)"', page)) == {"A", "B"}
    critique_fields = re.findall(r'name="(?:valid|novel)-([^"]+)"', page)
    assert critique_fields and all(re.fullmatch(r"[AB]\d", k) for k in critique_fields)
    assert "data-critique-id" not in page and "task_id" not in page

    bearer = {"Authorization": f"Bearer {api_token_for(db, 'writer0')}"}
    body = client.get(f"/api/v1/reviews/{review.id}", headers=bearer).json()
    ids = {k for k in _keys(body) if re.search(r"(^|\.|_)id$", k)}
    # The only ids left are the review's own and its intended critiques' (the author's).
    assert ids == {"id", "intended[].id"}, ids
    assert [lab["key"] for lab in body["labelers"]] == ["A", "B"]
    for lab in body["labelers"]:
        assert all(c["key"].startswith(lab["key"]) for c in lab["critiques"])


def test_the_api_takes_pseudonyms_and_refuses_task_ids(client: TestClient, db: Session) -> None:
    review, tasks = _reviewed(db)
    bearer = {"Authorization": f"Bearer {api_token_for(db, 'writer0')}"}
    view = client.get(f"/api/v1/reviews/{review.id}", headers=bearer).json()
    intended = view["intended"][0]["id"]
    by_task = client.put(
        f"/api/v1/reviews/{review.id}/draft",
        json={"labelers": [{"task_id": tasks[0].id, "covers": [intended]}]},
        headers=bearer,
    )
    assert by_task.status_code == 422
    unknown = client.put(
        f"/api/v1/reviews/{review.id}/draft",
        json={"labelers": [{"labeler": str(tasks[0].id), "covers": [intended]}]},
        headers=bearer,
    )
    assert unknown.status_code == 400 and "no labeler" in unknown.json()["error"]["message"]
    assert unknown.json()["error"]["field"] == "labelers.0.labeler"

    a, b = view["labelers"]
    body = {
        "labelers": [
            {"labeler": a["key"], "covers": [intended]},
            {"labeler": b["key"], "none": True},
        ],
        "critiques": [
            {"critique": c["key"], "valid": True, "novel": False}
            for lab in (a, b)
            for c in lab["critiques"]
        ],
    }
    both = {
        **body,
        "labelers": [
            *body["labelers"][:1],
            {"labeler": b["key"], "covers": [intended], "none": True},
        ],
    }
    refused = client.post(f"/api/v1/reviews/{review.id}/submit", json=both, headers=bearer)
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "labelers.1.none"
    saved = client.put(f"/api/v1/reviews/{review.id}/draft", json=body, headers=bearer)
    assert saved.status_code == 200, saved.text
    again = client.get(f"/api/v1/reviews/{review.id}", headers=bearer).json()
    assert again["labelers"][0]["covers"] == [intended] and again["labelers"][1]["none"]
    done = client.post(f"/api/v1/reviews/{review.id}/submit", json=body, headers=bearer)
    assert done.status_code == 200 and done.json()["status"] == "submitted", done.text
    fresh(db)
    # Stored against the right tasks and critiques, whatever the pseudonyms were.
    a_task = review_view.view(db, review.reviewer_id, review.id).labelers[0].task_id
    assert [(c.task_id, c.intended_critique_id) for c in db.scalars(select(ReviewCoverage))] == [
        (a_task, intended)
    ]
    assert len(db.scalars(select(ReviewJudgement)).all()) == len(
        db.scalars(select(LabelerCritique)).all()
    )


def test_the_order_is_random_per_review_not_the_condition_order(db: Session) -> None:
    """Over many reviews of the same tasks, Labeler A is the assisted one about half the time;
    ordered by task id (or condition) it would be the assisted one every time."""
    review, tasks = _reviewed(db)
    assisted = {
        t.id
        for t in tasks
        if db.scalar(select(Condition.assist).where(Condition.id == t.condition_id))
    }
    assert len(assisted) == 1
    first_is_assisted = []
    original = review.id
    for fake_id in range(1, 201):
        review.id = fake_id  # the order depends only on the review id (and the secret)
        order = [t.id for t in review_repository.tasks_of(db, review)]
        assert sorted(order) == sorted(t.id for t in tasks)
        first_is_assisted.append(order[0] in assisted)
        if fake_id == 1:
            assert order == [
                t.id for t in review_repository.tasks_of(db, review)
            ]  # stable per review
    review.id = original
    db.expire_all()
    share = sum(first_is_assisted) / len(first_is_assisted)
    assert 0.3 < share < 0.7, share
