"""Every HTML page, as the role that uses it, in a real browser (Debian's Chromium): on a
390 px phone nothing scrolls sideways, no page logs a console error (the favicon included;
a Content-Security-Policy violation is one, so every page runs clean under the policy),
and axe-core finds no serious or critical accessibility violation, wide or on a phone."""

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.corpus.repository import CorpusRepository
from app.experiments import assignment, design
from app.judgements.batches import create_batch
from app.judgements.schemas import BatchIn
from app.labeling import service as labeling
from app.labeling.schemas import SubmitIn
from app.models import Answer, IntendedCritiqueReview, Passage, Task
from app.models.judgements import JudgementTask
from app.models.studies import Study
from app.studies import links
from app.studies import service as study_service
from app.users.service import create_user
from app.writing import service as writing
from tests.support.browser import (
    ARTIFACTS,
    PHONE,
    WIDE,
    ConsoleErrors,
    axe_violations,
    log_in,
    needs_chromium,
)
from tests.support.experiments import corpus, labelers, store_fake_assistance, user_id
from tests.support.live_server import live_app
from tests.support.studies import INSTRUCTIONS, enrol
from tests.support.writing import labeled_misleading, written

# GET routes that are not pages: htmx fragments, redirects, downloads, the API docs, health.
NOT_PAGES = {
    "/",
    "/health",
    "/docs",
    "/openapi.json",
    "/admin/import/{run_id}",
    "/admin/jobs/status",
    "/admin/experiments/{exp_id}/progress",
    "/admin/experiments/new/passages",
    "/research/experiments/{exp_id}/report/progress",
    "/research/experiments/{exp_id}/report/report.json",
    "/research/experiments/{exp_id}/report/figures/{filename}",
}

# Every page: (route, who looks at it). The test below checks this list against app.routes.
PAGES: list[tuple[str, str | None]] = [
    ("/login", None),
    ("/admin", "ada"),
    ("/admin/users", "ada"),
    ("/admin/data", "ada"),
    ("/admin/import", "ada"),
    ("/admin/jobs", "ada"),
    ("/admin/experiments/new", "ada"),
    ("/admin/experiments/{exp_id}", "ada"),
    ("/admin/experiments/{exp_id}/integrity", "ada"),
    ("/admin/writing", "ada"),
    ("/admin/reviews", "ada"),
    ("/research", "rita"),
    ("/research/experiments/{exp_id}/report", "rita"),
    ("/labeler", "tasker"),
    ("/labeler/end", "tasker"),  # "Next task" when there is none: the reason and progress
    ("/tasks/{task_id}", "tasker"),  # the labeler whose open task shows model critiques
    ("/writing/{task_id}", "writer1"),
    ("/reviews/{review_id}", "writer0"),
    ("/admin/judgements", "ada"),
    ("/judgements/{judgement_id}", "judge1"),
    ("/admin/experiments/{exp_id}/study", "ada"),
    ("/admin/experiments/{exp_id}/quality", "ada"),
    ("/join/{study_id}", None),  # a study link, with the platform's parameters
    ("/study/{study_id}", "pp1"),  # a participant at the comprehension check
]
LANDS_ON = {"ada": "/admin", "rita": "/research", "pp1": "/study/{study_id}"}


def get_routes() -> set[str]:
    from app.main import create_app

    paths = set()
    for route in create_app().routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for r in (contexts() if callable(contexts) else contexts) if contexts else [route]:
            if "GET" in (getattr(r, "methods", None) or ()) and not r.path.startswith("/api"):
                paths.add(r.path)
    return paths


def test_the_page_list_covers_every_html_route() -> None:
    """A new page joins PAGES (and so every check below), or NOT_PAGES if it is a fragment."""
    assert get_routes() == {path for path, _ in PAGES} | NOT_PAGES


@dataclass
class World:
    exp_id: int
    task_id: int
    writing_id: int
    review_id: int
    tasker: str
    judgement_id: int
    study_id: int
    study_link: str


def _world(db: Session) -> World:
    """One of everything: a labeled experiment with an open review, an open assisted task, an
    open writing task, and an admin and a researcher."""
    written(db)
    exp_id, _ = labeled_misleading(db, "pages")
    answers = corpus(db, passages=2)
    store_fake_assistance(db, answers)
    names = labelers(db, 2, prefix="tl")
    design.launch(
        db,
        design.create(db, design.Design(name="open", sources=["model"], labelers=names)).id,
    )
    # A paper-sized passage, so the two panes have something to scroll.
    for p in db.scalars(select(Passage)):
        p.text = "\n\n".join(f"Paragraph {i}. " + "The keeper climbs. " * 40 for i in range(40))
    # The pages need a labeler holding an open assisted task. Which condition a labeler gets
    # first depends on the experiment's random seed; once they have done one unassisted task
    # the assisted condition is their least served, so submit until it comes.
    tasker = names[0]
    task_id = None
    for _ in range(4):
        task_id = assignment.next_task(db, user_id(db, tasker)).task_id
        assert task_id is not None
        if db.scalar(select(Task.assistance_set_id).where(Task.id == task_id)) is not None:
            break
        labeling.submit(
            db, user_id(db, tasker), task_id, SubmitIn(rating=4, confirm_no_critiques=True)
        )
    else:
        raise AssertionError("no assisted task came to the labeler")
    create_user(db, "writer1", "password-123", "labeler")
    answer = db.get(Answer, db.scalar(select(Task.answer_id).where(Task.id == task_id)))
    assert answer is not None
    (writing_task,) = writing.assign(db, "writer1", [answer.question_id])
    create_user(db, "ada", "password-123", "admin")
    create_user(db, "rita", "password-123", "researcher")
    review_id = db.scalar(select(IntendedCritiqueReview.id))
    assert review_id is not None
    # A judgement task on a passage no one here has labeled: fresh answers with critiques.
    repo = CorpusRepository(db)
    passage, _ = repo.get_or_create_passage("Judged", "A passage only the judge reads.")
    question, _ = repo.get_or_create_question(passage, "What happens?")
    judged = [repo.get_or_create_answer(question, "model", "Something happens.")[0].id]
    store_fake_assistance(db, judged)
    create_user(db, "judge1", "password-123", "labeler")
    question_id = db.scalar(select(Answer.question_id).where(Answer.id == judged[0]))
    assert question_id is not None
    batch = create_batch(db, BatchIn(name="pages", question_ids=[question_id], labelers=["judge1"]))
    judgement_id = db.scalar(select(JudgementTask.id).where(JudgementTask.batch_id == batch.id))
    assert judgement_id is not None
    # Studies: instructions on both experiments (the task page shows them), a comprehension
    # check, a gold check, and a participant at the check (a labeler with a password, as
    # participants have none to log in with).
    task_exp = db.scalar(select(Task.experiment_id).where(Task.id == task_id))
    assert task_exp is not None
    for eid in (exp_id, task_exp):
        study_service.save_briefing(db, eid, INSTRUCTIONS, 10)
    study_service.add_question(db, exp_id, "What do you write?", ["Critiques", "Poems"], 0)
    create_user(db, "pp1", "password-123", "labeler")
    study_id = enrol(db, exp_id, user_id(db, "pp1"), passed=False)
    study = db.get(Study, study_id)
    assert study is not None
    db.commit()
    link = links.link_path(study_id, study.expires_at) + "&PROLIFIC_PID=abc&STUDY_ID=s&SESSION_ID=t"
    return World(exp_id, task_id, writing_task.id, review_id, tasker, judgement_id, study_id, link)


def _url(path: str, w: World) -> str:
    if path == "/join/{study_id}":
        return w.study_link
    task_id = w.writing_id if path.startswith("/writing") else w.task_id
    return path.format(
        exp_id=w.exp_id,
        task_id=task_id,
        review_id=w.review_id,
        judgement_id=w.judgement_id,
        study_id=w.study_id,
    )


@needs_chromium
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_fits_a_phone_logs_no_error_and_passes_axe(browser, db: Session) -> None:  # type: ignore[no-untyped-def]
    world = _world(db)
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with live_app() as base:
        for who in dict.fromkeys(w for _, w in PAGES):
            context = browser.new_context(viewport=WIDE)
            page = context.new_page()
            errors = ConsoleErrors(page)
            if who:
                log_in(
                    page,
                    base,
                    world.tasker if who == "tasker" else who,
                    lands_on=_url(LANDS_ON.get(who, "/labeler"), world),
                )
            for path, owner in PAGES:
                if owner != who:
                    continue
                url = _url(path, world)
                name = path.strip("/").replace("/", "_").replace("{", "").replace("}", "") or "home"
                for size_name, size in (("wide", WIDE), ("phone", PHONE)):
                    page.set_viewport_size(size)
                    response = page.goto(base + url, wait_until="networkidle")
                    assert page.url == base + url, f"{url} as {who} went to {page.url}"
                    assert response is not None
                    assert "script-src 'self'" in response.headers["content-security-policy"]
                    if path == "/admin/experiments/new":  # the live fill check has answered
                        page.wait_for_selector("#fill-check .fill-check")
                    page.screenshot(
                        path=str(ARTIFACTS / f"page_{name}_{size_name}.png"), full_page=True
                    )
                    where = f"{url} ({size_name}, {who or 'anonymous'})"
                    if size_name == "phone":
                        widths = page.evaluate(
                            "[document.documentElement.scrollWidth, window.innerWidth]"
                        )
                        if widths[0] > widths[1]:
                            problems.append(f"{where}: {widths[0]} px wide in {widths[1]}")
                    problems += [f"{where}: console: {e}" for e in errors.take()]
                    problems += [f"{where}: axe: {v}" for v in axe_violations(page)]
            context.close()
    assert not problems, "\n".join(problems)
