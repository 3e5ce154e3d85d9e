"""The writing and review pages through HTTP, as the browser's htmx calls them."""

import re
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Answer, IntendedCritique, ReviewCoverage, ReviewJudgement, WritingTask
from tests.support.db import fresh
from tests.support.web import login, make_user
from tests.support.writing import labeled_misleading, question

HX = {"HX-Request": "true"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_write_answers_then_review_them_through_the_pages(client: TestClient, db: Session) -> None:
    qid = question(db)
    make_user(db, "boss", "admin")
    make_user(db, "writer0", "labeler")
    token = login(client, "boss")
    page = client.get("/admin/writing")
    assert "writer0" in page.text and f'value="{qid}"' in page.text
    r = client.post(
        "/admin/writing",
        data={"writer": "writer0", "question_ids": [qid], "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    task_id = db.scalar(select(WritingTask.id))
    client.cookies.clear()

    token = login(client, "writer0")
    hx = {**HX, "X-CSRF-Token": token}
    assert f"/writing/{task_id}" in client.get("/labeler").text
    assert "Summarize the story" in client.get(f"/writing/{task_id}").text
    form = {
        "honest_text": "Northern island, winter.",
        "misleading_text": "",
        "ic_text": ["It is winter, not summer."],
        "ic_severity": ["3"],
        "ic_category": ["accuracy"],
        "ic_category_text": [""],
    }
    assert "saved" in client.post(f"/writing/{task_id}/draft", data=form, headers=hx).text
    more = client.post(f"/writing/{task_id}/draft", data={**form, "add_row": "true"}, headers=hx)
    assert len(re.findall(r'name="ic_text"', more.text)) == 2
    refused = client.post(f"/writing/{task_id}/submit", data=form, headers=hx)
    assert "misleading_text" in refused.text and "HX-Redirect" not in refused.headers
    form["misleading_text"] = "Southern island, summer."
    done = client.post(f"/writing/{task_id}/submit", data=form, headers=hx)
    assert done.headers["HX-Redirect"].startswith("/labeler")
    fresh(db)
    misleading = db.scalar(select(Answer).where(Answer.source == "human_misleading"))
    assert misleading is not None and misleading.text == "Southern island, summer."
    intended = db.scalar(select(IntendedCritique))
    assert intended is not None and intended.severity == 3

    exp_id, names = labeled_misleading(db, "pages")
    db.commit()

    home = client.get("/labeler").text
    review_id = int(re.search(r'href="/reviews/(\d+)"', home).group(1))  # type: ignore[union-attr]
    page = client.get(f"/reviews/{review_id}").text
    assert "Labeler A" in page and "Labeler B" in page and names[0] not in page
    tasks = re.findall(r'name="labeler" value="([A-Z]+)"', page)
    critiques = re.findall(r'name="valid-([A-Z]+\d+)"', page)
    items = [("labeler", t) for t in tasks] + [("cover-" + tasks[0], str(intended.id))]
    items += [(f"valid-{c}", "yes") for c in dict.fromkeys(critiques)]
    assert (
        "saved"
        in client.post(
            f"/reviews/{review_id}/draft", content=urlencode(items), headers={**hx, **FORM}
        ).text
    )
    refused = client.post(
        f"/reviews/{review_id}/submit", content=urlencode(items), headers={**hx, **FORM}
    )
    assert "say" in refused.text and "HX-Redirect" not in refused.headers
    items += [("cover-" + tasks[1], "none")] + [(f"novel-{c}", "no") for c in critiques]
    done = client.post(
        f"/reviews/{review_id}/submit", content=urlencode(items), headers={**hx, **FORM}
    )
    assert done.headers["HX-Redirect"].startswith("/labeler"), done.text
    fresh(db)
    assert len(db.scalars(select(ReviewCoverage)).all()) == 1
    assert {j.valid for j in db.scalars(select(ReviewJudgement))} == {True}
    client.cookies.clear()

    login(client, "boss")
    assert "done" in client.get(f"/admin/reviews?experiment={exp_id}").text
    assert "0 pending, 1 done" in client.get("/admin").text
    client.cookies.clear()
    login(client, names[0])
    assert client.get(f"/reviews/{review_id}").status_code == 403


def test_the_writing_api_validates_and_keeps_to_its_writer(client: TestClient, db: Session) -> None:
    from app.users.service import api_token_for

    qid = question(db)
    make_user(db, "boss", "admin")
    make_user(db, "writer0", "labeler")
    admin = {"Authorization": f"Bearer {api_token_for(db, 'boss')}"}
    writer = {"Authorization": f"Bearer {api_token_for(db, 'writer0')}"}
    r = client.post(
        "/api/v1/writing", json={"writer": "writer0", "question_ids": [qid]}, headers=admin
    )
    assert r.status_code == 201, r.text
    (task_id,) = r.json()["task_ids"]
    bad = client.post(
        f"/api/v1/writing/{task_id}/submit",
        json={"honest_text": "A.", "misleading_text": "B.", "intended_critiques": []},
        headers=writer,
    )
    assert bad.status_code == 422 and "intended_critiques" in bad.text
    ok = client.post(
        f"/api/v1/writing/{task_id}/submit",
        json={
            "honest_text": "A.",
            "misleading_text": "B.",
            "intended_critiques": [{"text": "Not B.", "severity": 2, "category": "other"}],
        },
        headers=writer,
    )
    assert ok.status_code == 422 and "category_text" in ok.text  # 'other' needs its text
    assert client.get(f"/api/v1/writing/{task_id}", headers=admin).status_code == 403
