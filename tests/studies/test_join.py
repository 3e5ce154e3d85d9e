"""Study links: a signed link with platform parameters makes or resumes one account per
participant (stored as a keyed hash only); changed or expired links get a clear page; the
participant cap holds under concurrent first visits."""

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import AppError
from app.models import ExperimentLabeler, User
from app.models.base import utcnow
from app.models.studies import ParticipantAccount, Study, StudyParticipant
from app.studies import links, service
from tests.support.studies import study_world
from tests.support.web import csrf_from

PARAMS = "&PROLIFIC_PID=5f1e2d3c4b5a69788796a5b4&STUDY_ID=st-1&SESSION_ID=se-1"


def visit(client: TestClient, link: str, params: str = PARAMS) -> str:
    """Open the link and press Start; returns where the participant lands."""
    page = client.get(link + params)
    assert page.status_code == 200, page.text
    form = client.post(
        link.split("?")[0],
        data={
            "csrf_token": csrf_from(page.text),
            "expires": page.text.split('name="expires" value="')[1].split('"')[0],
            "sig": page.text.split('name="sig" value="')[1].split('"')[0],
            "params": page.text.split('name="params" value="')[1]
            .split('"')[0]
            .replace("&amp;", "&"),
        },
        follow_redirects=False,
    )
    assert form.status_code == 303, form.text
    return form.headers["location"]


def test_a_link_makes_one_account_per_participant_and_a_return_visit_resumes(
    client: TestClient, db: Session
) -> None:
    w = study_world(db)
    assert visit(client, w.link) == f"/study/{w.study_id}"
    assert client.get(f"/study/{w.study_id}").status_code == 200  # signed in, no password
    (account,) = db.scalars(select(ParticipantAccount)).all()
    assert account.participant_hash == links.participant_hash(
        "prolific", "5f1e2d3c4b5a69788796a5b4"
    )
    user = db.get(User, account.user_id)
    assert user is not None and user.role == "labeler"
    assert db.get(ExperimentLabeler, {"experiment_id": w.exp_id, "user_id": user.id}) is not None
    (joined,) = db.scalars(select(StudyParticipant)).all()
    assert (joined.platform_study_id, joined.platform_session_id) == ("st-1", "se-1")
    # The platform id itself is stored nowhere.
    for table in ("users", "participant_accounts", "study_participants"):
        rows = db.execute(text(f"SELECT * FROM {table}")).all()
        assert "5f1e2d3c4b5a69788796a5b4" not in repr(rows), table

    client.cookies.clear()
    assert visit(client, w.link) == f"/study/{w.study_id}"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.scalar(select(func.count()).select_from(StudyParticipant)) == 1


def test_a_changed_link_and_an_expired_one_get_a_clear_page(
    client: TestClient, db: Session
) -> None:
    w = study_world(db)
    expires, sig = w.expires_and_sig()
    tampered = [
        f"/join/{w.study_id}?expires={expires}&sig={'0' * 32}",
        f"/join/{w.study_id}?expires={expires + 86400}&sig={sig}",
        f"/join/{w.study_id + 1}?expires={expires}&sig={sig}",
    ]
    for link in tampered:
        page = client.get(link + PARAMS, headers={"Accept": "text/html"})
        assert page.status_code == 403, link
        assert "This study link is not valid" in page.text
    # Start pressed on a tampered form: the same refusal, no account.
    page = client.get(w.link + PARAMS)
    resp = client.post(
        f"/join/{w.study_id}",
        data={
            "csrf_token": csrf_from(page.text),
            "expires": expires,
            "sig": "f" * 32,
            "params": PARAMS,
        },
        headers={"Accept": "text/html"},
    )
    assert resp.status_code == 403 and "not valid" in resp.text
    assert db.scalar(select(func.count()).select_from(User)) == 0

    study = db.get(Study, w.study_id)
    assert study is not None
    study.expires_at = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    db.commit()
    expired = links.link_path(study.id, study.expires_at)
    page = client.get(expired + PARAMS, headers={"Accept": "text/html"})
    assert page.status_code == 410 and "This study closed on" in page.text


def test_a_link_without_the_participant_id_says_which_parameter_is_missing(
    client: TestClient, db: Session
) -> None:
    w = study_world(db)
    page = client.get(w.link + "&STUDY_ID=x")
    expires, sig = w.expires_and_sig()
    resp = client.post(
        f"/join/{w.study_id}",
        data={
            "csrf_token": csrf_from(page.text),
            "expires": expires,
            "sig": sig,
            "params": "STUDY_ID=x",
        },
        headers={"Accept": "text/html"},
    )
    assert resp.status_code == 400 and "PROLIFIC_PID" in resp.text


def _concurrently(w_study: int, expires: int, sig: str, pids: list[str]) -> list[str]:
    outcomes: list[str] = []
    start = threading.Barrier(len(pids))

    def first_visit(pid: str) -> None:
        start.wait()
        try:
            with session_scope() as session:
                service.join(session, w_study, expires, sig, {"PROLIFIC_PID": pid})
            outcomes.append("joined")
        except AppError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=first_visit, args=(pid,)) for pid in pids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_the_cap_holds_under_50_concurrent_first_visits(db: Session) -> None:
    w = study_world(db, cap=10)
    expires, sig = w.expires_and_sig()
    outcomes = _concurrently(w.study_id, expires, sig, [f"pid-{i}" for i in range(50)])
    assert outcomes.count("joined") == 10 and outcomes.count("conflict") == 40, outcomes
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(StudyParticipant)) == 10
    assert db.scalar(select(func.count()).select_from(User)) == 10  # no extra accounts
    assert db.scalar(select(func.count()).select_from(ExperimentLabeler)) == 10


@pytest.mark.parametrize("visits", [20])
def test_one_participant_visiting_many_times_at_once_gets_one_account(
    db: Session, visits: int
) -> None:
    w = study_world(db)
    expires, sig = w.expires_and_sig()
    outcomes = _concurrently(w.study_id, expires, sig, ["same-person"] * visits)
    assert outcomes == ["joined"] * visits
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == 1
    assert db.scalar(select(func.count()).select_from(StudyParticipant)) == 1


def test_the_cap_holds_when_50_browsers_press_start_at_once(db: Session) -> None:
    """The same through HTTP: 50 participants open the link, then all press Start at once."""
    import httpx

    from tests.support.live_server import live_app

    w = study_world(db, cap=7)
    expires, sig = w.expires_and_sig()
    with live_app() as base:
        clients = [httpx.Client(base_url=base) for _ in range(50)]
        forms = []
        for i, c in enumerate(clients):
            page = c.get(f"{w.link}&PROLIFIC_PID=browser-{i}")
            forms.append(
                {
                    "csrf_token": csrf_from(page.text),
                    "expires": str(expires),
                    "sig": sig,
                    "params": f"PROLIFIC_PID=browser-{i}",
                }
            )
        start = threading.Barrier(len(clients))
        codes: list[int] = []

        def press(c: httpx.Client, form: dict[str, str]) -> None:
            start.wait()
            codes.append(c.post(f"/join/{w.study_id}", data=form, timeout=120).status_code)

        threads = [
            threading.Thread(target=press, args=pair) for pair in zip(clients, forms, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in clients:
            c.close()
    assert sorted(codes) == [303] * 7 + [409] * 43, codes
    db.expire_all()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User)) == 7
