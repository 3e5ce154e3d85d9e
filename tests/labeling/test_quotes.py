"""Quote to critique: the span a critique starts from is stored, checked against the task's own
text (answer or passage), kept by edits that do not name it, and refused when it is not one."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.experiments import design
from app.models import Answer, LabelerCritique, Passage, Task
from app.users.service import api_token_for
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers
from tests.support.web import login

ANSWER = "Café 🙂 the keeper lights the lamp."  # an emoji: one code point, two UTF-16 units
PASSAGE = "The keeper climbs the stair.\r\nHe lights the lamp at dusk."


def _task(client: TestClient, db: Session) -> tuple[int, dict[str, str], str]:
    corpus(db, passages=1)
    for answer in db.scalars(select(Answer)):
        answer.text = ANSWER
    for passage in db.scalars(select(Passage)):
        passage.text = PASSAGE
    names = labelers(db, 1)
    exp = design.create(db, design.Design(name="quotes", sources=["human"], labelers=names))
    design.launch(db, exp.id)
    db.commit()
    auth = {"Authorization": f"Bearer {api_token_for(db, names[0])}"}
    task_id = client.post("/api/v1/tasks/next", headers=auth).json()["task_id"]
    assert task_id is not None
    return task_id, auth, names[0]


def _critique(**quote: object) -> dict[str, object]:
    return {"text": "Wrong.", "severity": 2, "category": "accuracy", **quote}


def test_a_quoted_span_is_stored_and_counts_characters_as_python_does(
    client: TestClient, db: Session
) -> None:
    task_id, auth, _ = _task(client, db)
    start = ANSWER.index("the keeper")  # after an accented letter and an emoji
    r = client.post(
        f"/api/v1/tasks/{task_id}/critiques",
        headers=auth,
        json=_critique(quote_of="answer", quote_start=start, quote_end=start + 10),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["quote_of"], r.json()["quote_start"], r.json()["quote_end"]) == (
        "answer",
        start,
        start + 10,
    )
    row = db.scalar(select(LabelerCritique).where(LabelerCritique.task_id == task_id))
    assert row is not None and ANSWER[row.quote_start : row.quote_end] == "the keeper"  # type: ignore[misc]
    # The passage's last character (its CR LF counts two) is the end of a valid span.
    r = client.post(
        f"/api/v1/tasks/{task_id}/critiques",
        headers=auth,
        json=_critique(quote_of="passage", quote_start=len(PASSAGE) - 5, quote_end=len(PASSAGE)),
    )
    assert r.status_code == 201, r.text


def test_spans_outside_the_text_or_not_a_span_are_refused_naming_the_field(
    client: TestClient, db: Session
) -> None:
    task_id, auth, _ = _task(client, db)
    url = f"/api/v1/tasks/{task_id}/critiques"
    past = client.post(
        url,
        headers=auth,
        json=_critique(quote_of="answer", quote_start=0, quote_end=len(ANSWER) + 1),
    )
    assert past.status_code == 400 and "past the end of the answer" in past.text
    assert past.json()["error"]["field"] == "quote_end"
    backwards = client.post(
        url, headers=auth, json=_critique(quote_of="passage", quote_start=5, quote_end=5)
    )
    assert backwards.status_code == 422 and "quote_end" in backwards.text
    half = client.post(url, headers=auth, json=_critique(quote_of="answer", quote_start=1))
    assert half.status_code == 422 and "together" in half.text
    other = client.post(
        url, headers=auth, json=_critique(quote_of="question", quote_start=0, quote_end=2)
    )
    assert other.status_code == 422 and "quote_of" in other.text
    negative = client.post(
        url, headers=auth, json=_critique(quote_of="answer", quote_start=-1, quote_end=2)
    )
    assert negative.status_code == 422 and "quote_start" in negative.text
    # Submit's whole labeling is checked the same way, and stores nothing when refused.
    submit = client.post(
        f"/api/v1/tasks/{task_id}/submit",
        headers=auth,
        json={
            "critiques": [_critique(quote_of="passage", quote_start=0, quote_end=10_000)],
            "rating": 3,
        },
    )
    assert submit.status_code == 400 and "past the end of the passage" in submit.text
    fresh(db)
    assert db.scalar(select(Task.status).where(Task.id == task_id)) == "assigned"
    assert db.scalars(select(LabelerCritique)).all() == []


def test_an_edit_that_does_not_name_the_quote_keeps_it(client: TestClient, db: Session) -> None:
    task_id, auth, name = _task(client, db)
    made = client.post(
        f"/api/v1/tasks/{task_id}/critiques",
        headers=auth,
        json=_critique(quote_of="answer", quote_start=0, quote_end=4),
    ).json()
    # The page's autosave sends only the labeler's fields.
    token = login(client, name)
    r = client.put(
        f"/tasks/{task_id}/critiques/{made['id']}",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={"text": "Café is wrong.", "severity": 3, "category": "accuracy"},
    )
    assert r.status_code == 200 and "saved" in r.text
    fresh(db)
    row = db.get(LabelerCritique, made["id"])
    assert row is not None and (row.text, row.quote_of, row.quote_start, row.quote_end) == (
        "Café is wrong.",
        "answer",
        0,
        4,
    )


def test_the_page_form_stores_a_quote_and_shows_it_with_the_critique(
    client: TestClient, db: Session
) -> None:
    task_id, _, name = _task(client, db)
    token = login(client, name)
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    start = PASSAGE.index("He lights")
    fields = {"severity": 2, "category": "accuracy", "quote_of": "passage"}
    r = client.post(
        f"/tasks/{task_id}/critiques",
        headers=headers,
        data={
            **fields,
            "text": "“He lights” the lamp at dawn.",
            "quote_start": start,
            "quote_end": start + 9,
        },
    )
    assert r.status_code == 200 and "Quotes the passage" in r.text and "<q" in r.text
    assert ">He lights</q>" in r.text
    # A span past the text: the error beside the form, the list and the draft kept.
    bad = client.post(
        f"/tasks/{task_id}/critiques",
        headers=headers,
        data={**fields, "text": "Too far.", "quote_start": 0, "quote_end": 999},
    )
    assert bad.status_code == 200 and "past the end of the passage" in bad.text
    assert 'id="critiques"' in bad.text and "Too far.</textarea>" in bad.text
    assert bad.text.count('class="critique"') == 1
    # Empty quote fields (the form's default) mean no quote.
    plain = client.post(
        f"/tasks/{task_id}/critiques",
        headers=headers,
        data={**fields, "text": "No quote.", "quote_of": "", "quote_start": "", "quote_end": ""},
    )
    assert plain.status_code == 200
    fresh(db)
    rows = db.scalars(select(LabelerCritique).order_by(LabelerCritique.position)).all()
    assert [(r.quote_of, r.quote_start, r.quote_end) for r in rows] == [
        ("passage", start, start + 9),
        (None, None, None),
    ]
