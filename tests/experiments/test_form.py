"""The new-experiment form at scale: choosing questions by search, source and rule, a fill
check before creating, defaults that the demo's labelers can fill, and paging that stays fast
with 10,000 passages and 500 labelers."""

import re
import time

from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.corpus.repository import CorpusRepository
from app.experiments import design
from app.experiments.selection import Filter, Rule, choose_questions, passages_page
from app.models import Answer, Experiment, ExperimentQuestion, Passage, Question, User
from tests.support.db import fresh
from tests.support.experiments import corpus, labelers
from tests.support.web import csrf_from, login, make_user


def _demo(db: Session) -> list[str]:
    """Like `critiquelab demo`: three passages, two questions each, six labelers."""
    corpus(db, passages=3, questions_per_passage=2)
    names = labelers(db, 6, prefix="labeler")
    make_user(db, "ada", "admin")
    return names


def _questions_by_passage(db: Session, qids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for qid, pid in db.execute(
        select(Question.id, Question.passage_id).where(Question.id.in_(qids))
    ):
        out.setdefault(pid, []).append(qid)
    return out


def test_questions_are_chosen_by_search_sources_and_rule(db: Session) -> None:
    corpus(db, passages=4, questions_per_passage=2)
    repo = CorpusRepository(db)
    lonely, _ = repo.get_or_create_passage("Lonely", "Only a model answered here.")
    q, _ = repo.get_or_create_question(lonely, "Who answered?")
    repo.get_or_create_answer(q, "model", "The model did.")
    db.flush()
    every = Filter(sources=design.ALL_SOURCES, only_complete=False)
    complete = Filter(sources=design.ALL_SOURCES, only_complete=True)
    assert len(choose_questions(db, every, Rule.every_question, seed=1)) == 9
    # Only questions with an answer from every chosen source: the lonely one drops out.
    assert len(choose_questions(db, complete, Rule.every_question, seed=1)) == 8
    assert len(choose_questions(db, Filter(sources=["model"]), Rule.every_question, 1)) == 9
    # One random question per passage, the same for the same seed.
    one = choose_questions(db, complete, Rule.one_per_passage, seed=7)
    assert [len(v) for v in _questions_by_passage(db, one).values()] == [1, 1, 1, 1]
    assert choose_questions(db, complete, Rule.one_per_passage, seed=7) == one
    picks = {tuple(choose_questions(db, complete, Rule.one_per_passage, s)) for s in range(20)}
    assert len(picks) > 1
    # Every question of N random passages.
    two = _questions_by_passage(db, choose_questions(db, complete, Rule.random_passages, 3, 2))
    assert len(two) == 2 and all(len(v) == 2 for v in two.values())
    # Search by title or text, every word; hand-picked passages narrow further.
    found = Filter(search="passage number 2", sources=design.ALL_SOURCES)
    rows, total = passages_page(db, found, 0)
    assert total == 1 and rows[0].title == "P2" and rows[0].questions == 2
    assert passages_page(db, Filter(search="lonely"), 0)[1] == 1
    assert passages_page(db, Filter(search="lonely", sources=design.ALL_SOURCES), 0)[1] == 0
    assert passages_page(db, Filter(search="100%_"), 0)[1] == 0  # wildcards are literal text
    p1 = db.scalar(select(Passage.id).where(Passage.title == "P1"))
    assert p1 is not None
    picked = Filter(sources=design.ALL_SOURCES, passage_ids=[p1])
    assert len(choose_questions(db, picked, Rule.every_question, 1)) == 2


def test_the_defaults_fill_with_the_demos_labelers(client: TestClient, db: Session) -> None:
    names = _demo(db)
    db.commit()
    login(client, "ada")
    page = client.get("/admin/experiments/new").text
    token = csrf_from(page)
    # Every labeler ticked, all sources, one random question per passage.
    for name in names:
        assert f'value="{name}" checked' in page
    assert 'value="one_per_passage" checked' in page and "6 passages" not in page
    assert "3 passages match" in page
    seed = int(page.split('name="seed" min="0" value="')[1].split('"')[0])
    defaults = {
        "csrf_token": token,
        "name": "pilot",
        "sources": list(design.ALL_SOURCES),
        "labelers": names,
        "only_complete": "true",
        "rule": "one_per_passage",
        "seed": str(seed),
    }
    check = client.post("/admin/experiments/check", data=defaults).text
    assert "3 questions chosen" in check and "Yes" in check
    # Every question of every passage needs twelve labelers per passage: the check says so
    # before anything is created.
    check = client.post("/admin/experiments/check", data={**defaults, "rule": "every_question"})
    assert "6 questions chosen" in check.text and "3 of 3 passages" in check.text
    assert "one question per passage" in check.text
    check = client.post("/admin/experiments/check", data={**defaults, "labelers": names[:2]})
    assert "2 labelers in the pool" in check.text
    fresh(db)
    assert db.scalar(select(Experiment.id)) is None  # the checks created nothing
    resp = client.post("/admin/experiments", data=defaults, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    fresh(db)
    exp = db.scalar(select(Experiment).where(Experiment.name == "pilot"))
    assert exp is not None and exp.seed == seed
    qids = list(
        db.scalars(
            select(ExperimentQuestion.question_id).where(ExperimentQuestion.experiment_id == exp.id)
        )
    )
    assert sorted(len(v) for v in _questions_by_passage(db, qids).values()) == [1, 1, 1]
    assert design.fill_problems(db, exp.id) == []


def test_the_form_stays_fast_with_ten_thousand_passages(client: TestClient, db: Session) -> None:
    db.execute(
        insert(Passage),
        [
            {"title": f"Story {i}", "text": f"Text {i}.", "content_hash": f"p{i}"}
            for i in range(10_000)
        ],
    )
    pids = list(db.scalars(select(Passage.id).order_by(Passage.id)))
    db.execute(
        insert(Question),
        [{"passage_id": p, "text": "Why?", "content_hash": f"q{p}"} for p in pids],
    )
    qids = list(db.scalars(select(Question.id)))
    db.execute(
        insert(Answer),
        [
            {"question_id": q, "source": s, "text": "Because.", "content_hash": f"a{q}{s}"}
            for q in qids
            for s in design.ALL_SOURCES
        ],
    )
    db.execute(
        insert(User),
        [{"username": f"lab{i:03}", "password_hash": "x", "role": "labeler"} for i in range(500)],
    )
    make_user(db, "ada", "admin")
    login(client, "ada")
    started = time.monotonic()
    page = client.get("/admin/experiments/new")
    assert page.status_code == 200 and "10000 passages match" in page.text
    assert page.text.count('name="passages"') == 20  # one page, not ten thousand rows
    assert page.text.count('name="labelers"') == 500
    second = client.get(
        "/admin/experiments/new/passages",
        params={"page": 1, "sources": list(design.ALL_SOURCES), "only_complete": "true"},
    ).text
    assert "Story 20" in second and "21–40 of 10000" in second
    found = client.get("/admin/experiments/new/passages", params={"search": "Story 9999"}).text
    assert "1 passage match" in found
    check = client.post(
        "/admin/experiments/check",
        data={
            "csrf_token": csrf_from(page.text),
            "sources": ["model"],
            "labelers": [f"lab{i:03}" for i in range(500)],
            "rule": "random_passages",
            "n_passages": "200",
            "only_complete": "true",
            "seed": "5",
        },
    ).text
    assert "200 questions chosen" in check and "Yes" in check
    assert time.monotonic() - started < 20  # generous: two shared cores


def _picker(client: TestClient, token: str, **data: object) -> str:
    r = client.post(
        "/admin/experiments/new/labelers",
        data={"csrf_token": token, **data},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    return r.text


def _ticked(fragment: str) -> list[str]:
    return re.findall(r'type="checkbox" name="labelers" value="([^"]+)" checked', fragment)


def _carried(fragment: str) -> list[str]:
    return re.findall(r'type="hidden" name="labelers" value="([^"]+)"', fragment)


def test_labelers_are_searched_and_paged_by_the_server(client: TestClient, db: Session) -> None:
    db.execute(
        insert(User),
        [{"username": f"lab{i:03}", "password_hash": "x", "role": "labeler"} for i in range(500)]
        + [{"username": "gone", "password_hash": "x", "role": "labeler", "is_active": False}],
    )
    make_user(db, "ada", "admin")
    token = login(client, "ada")
    page = client.get("/admin/experiments/new").text
    token = csrf_from(page)
    # A new form chooses every active labeler; one page of 50 shows, the rest ride along.
    assert "500 labelers match; 500 chosen" in page and "gone" not in page
    assert page.count('type="checkbox" name="labelers"') == 50
    # The second page keeps what is chosen, ticked or carried.
    chosen = ["lab001", "lab060", "lab499"]
    second = _picker(client, token, labelers=chosen, page=1)
    assert "51–100 of 500" in second and _ticked(second) == ["lab060"]
    assert sorted(_carried(second)) == ["lab001", "lab499"]
    # Search: by part of the name, on the server.
    found = _picker(client, token, labelers=chosen, labeler_search="lab49")
    assert "10 labelers match; 3 chosen" in found and _ticked(found) == ["lab499"]
    assert "lab001" in _carried(found)
    # Tick every match (all pages), then untick every match: the rest stays chosen.
    every = _picker(client, token, labelers=chosen, labeler_search="lab1", pick="all")
    assert "100 labelers match; 103 chosen" in every
    assert len(_ticked(every)) == 50 and len(_carried(every)) == 53
    none = _picker(
        client,
        token,
        labelers=_ticked(every) + _carried(every),
        labeler_search="lab1",
        pick="none",
    )
    assert "; 3 chosen" in none and sorted(_carried(none)) == chosen
    # A page past the end shows the last one.
    last = _picker(client, token, labeler_search="lab49", page=99)
    assert "1–10 of 10" in last
    bad = client.post(
        "/admin/experiments/new/labelers",
        data={"csrf_token": token, "pick": "some"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "pick" in bad.text
