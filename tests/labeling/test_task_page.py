"""The task page and its htmx endpoints, without a browser: drafts, blinding, escaping."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.corpus.repository import CorpusRepository
from app.experiments import design
from app.models import LabelerCritique, Rating, Task
from tests.support.db import fresh
from tests.support.experiments import labelers, store_fake_assistance
from tests.support.web import login

EVIL = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


def _task(client: TestClient, db: Session, text: str = "A passage.") -> tuple[int, str]:
    repo = CorpusRepository(db)
    passage, _ = repo.get_or_create_passage("T " + EVIL, text)
    question, _ = repo.get_or_create_question(passage, "Q? " + EVIL)
    answer, _ = repo.get_or_create_answer(question, "human_misleading", "An answer. " + EVIL)
    store_fake_assistance(db, [answer.id])
    names = labelers(db, 2)
    exp = design.create(
        db, design.Design(name="page", sources=["human_misleading"], labelers=names)
    )
    design.launch(db, exp.id)
    db.commit()
    # The answer has an assist and a no-assist task; each labeler gets one. Keep the assisted.
    for name in names:
        client.cookies.clear()
        token = login(client, name, "password-123")
        location = client.post(
            "/labeler/next", data={"csrf_token": token}, follow_redirects=False
        ).headers["location"]
        task_id = int(location.rsplit("/", 1)[1])
        if db.scalar(select(Task.assistance_set_id).where(Task.id == task_id)) is not None:
            return task_id, token
        fresh(db)
    raise AssertionError("no assisted task")


def test_html_in_passages_answers_and_critiques_is_shown_as_text(
    client: TestClient, db: Session
) -> None:
    task_id, token = _task(client, db, text="Text " + EVIL)
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    client.post(
        f"/tasks/{task_id}/critiques",
        headers=headers,
        data={"text": "Mine " + EVIL, "severity": 2, "category": "accuracy"},
    )
    page = client.get(f"/tasks/{task_id}").text
    assert "<script>window.pwned" not in page and 'onerror="window' not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert page.count("&lt;img src=x") >= 4  # title, question, answer, passage, critique


def test_page_edits_are_saved_as_drafts_and_survive_a_reload(
    client: TestClient, db: Session
) -> None:
    task_id, token = _task(client, db)
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    page = client.get(f"/tasks/{task_id}").text
    assert "Model critiques" in page and "human_misleading" not in page
    used = client.post(
        f"/tasks/{task_id}/critiques",
        headers=h,
        data={"from_assistance": _first_assistance(db, task_id)},
    )
    assert 'class="critique"' in used.text and "<html" not in used.text  # the fragment only
    fresh(db)
    critique = db.scalar(select(LabelerCritique).where(LabelerCritique.task_id == task_id))
    assert critique is not None and critique.assistance_critique_id is not None
    saved = client.put(
        f"/tasks/{task_id}/critiques/{critique.id}",
        headers=h,
        data={"text": critique.text + " edited", "severity": 4, "category": "coherence"},
    )
    assert "saved" in saved.text
    invalid = client.put(
        f"/tasks/{task_id}/critiques/{critique.id}",
        headers=h,
        data={"text": "x", "severity": 2, "category": "other"},
    )
    assert "category_text" in invalid.text  # inline, nothing saved
    bad_new = client.post(
        f"/tasks/{task_id}/critiques",
        headers=h,
        data={"text": "   ", "severity": 2, "category": "accuracy"},
    )
    alert = re.search(r'role="alert">([^<]*)<', bad_new.text)
    assert alert and "text" in alert.group(1)  # the error names the text field
    assert "saved" in client.put(f"/tasks/{task_id}/rating", headers=h, data={"value": 5}).text
    assert client.post(f"/tasks/{task_id}/passage", headers=h).status_code == 204
    assert (
        client.post(f"/tasks/{task_id}/activity", headers=h, data={"seconds": 500}).status_code
        == 204
    )
    reloaded = client.get(f"/tasks/{task_id}").text
    assert " edited</textarea>" in reloaded and 'value="5" checked' in reloaded
    fresh(db)
    task = db.get(Task, task_id)
    assert task is not None and task.opened_at and task.first_edit_at and task.passage_revealed_at
    assert task.active_time_s == 30.0  # one ping counts at most 30 s
    assert db.get(Rating, task_id).value == 5  # type: ignore[union-attr]


def test_submit_with_no_critiques_needs_a_confirmation(client: TestClient, db: Session) -> None:
    task_id, token = _task(client, db)
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    client.put(f"/tasks/{task_id}/rating", headers=h, data={"value": 7})
    first = client.post(f"/tasks/{task_id}/submit", headers=h)
    assert "Yes, submit with no critiques" in first.text
    done = client.post(f"/tasks/{task_id}/submit", headers=h, data={"confirm_no_critiques": "true"})
    assert done.headers.get("HX-Redirect", "").startswith("/labeler")
    again = client.get(f"/tasks/{task_id}", follow_redirects=False)
    assert again.status_code == 303 and "already submitted" in again.headers["location"]


def _first_assistance(db: Session, task_id: int) -> int:
    from app.models import AssistanceCritique

    task = db.get(Task, task_id)
    assert task is not None
    item = db.scalar(
        select(AssistanceCritique.id)
        .where(AssistanceCritique.assistance_set_id == task.assistance_set_id)
        .order_by(AssistanceCritique.rank)
    )
    assert item is not None
    return item


def test_a_used_model_critique_is_marked_and_links_to_the_critique_it_became(
    client: TestClient, db: Session
) -> None:
    task_id, token = _task(client, db)
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    page = client.get(f"/tasks/{task_id}").text
    first, second = (int(i) for i in re.findall(r'"from_assistance": (\d+)', page)[:2])
    client.post(
        f"/tasks/{task_id}/critiques",
        headers=headers,
        data={"text": "Mine first.", "severity": 2, "category": "accuracy"},
    )
    # "Use" answers with the list and the model critiques together, so the mark shows at once.
    fragment = client.post(
        f"/tasks/{task_id}/critiques", headers=headers, data={"from_assistance": second}
    ).text
    fresh(db)
    made = db.scalar(
        select(LabelerCritique.id).where(LabelerCritique.assistance_critique_id == second)
    )
    assert f'<a class="tag used-tag" href="#critique-{made}">used: your critique 2</a>' in fragment
    assert f'id="critique-{made}"' in fragment
    assert fragment.count("used-tag") == 1 and 'Use model critique 1"' in fragment
    assert first != second
