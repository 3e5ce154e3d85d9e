"""The participant's side: a study link's landing page, joining (account and session), the
study page (onboarding, progress, completion or screen-out) and the comprehension check."""

from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.core.csrf import ensure_csrf_token
from app.core.deps import SessionDep
from app.core.errors import AppError, form_error
from app.core.htmx import redirect
from app.core.templating import templates
from app.core.validation import DbId
from app.studies import service
from app.studies.markdown import render
from app.studies.repository import StudyRepository
from app.users import sessions
from app.users.deps import SESSION_ID, LabelerUser

router = APIRouter()

MAX_PARAMS_CHARS = 2_000


def _platform_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in ("expires", "sig")}


@router.get("/join/{study_id}")
def landing(request: Request, db: SessionDep, study_id: DbId, expires: int, sig: str) -> Response:
    """Check the link at once (a clear page if it is changed or expired); joining is the
    Start button's POST, so link previews and prefetches make no accounts."""
    study = service.check_link(db, study_id, expires, sig)
    ensure_csrf_token(request)
    context = {
        "study": study,
        "expires": expires,
        "sig": sig,
        "params": urlencode(_platform_params(request)),
    }
    return templates.TemplateResponse(request, "studies/join.html", context)


@router.post("/join/{study_id}")
def join(
    request: Request,
    db: SessionDep,
    study_id: DbId,
    expires: Annotated[int, Form()],
    sig: Annotated[str, Form(max_length=64)],
    params: Annotated[str, Form(max_length=MAX_PARAMS_CHARS)] = "",
) -> Response:
    joined = service.join(db, study_id, expires, sig, dict(parse_qsl(params)))
    sid = sessions.start(db, joined.user)
    csrf = request.session.get("csrf_token")
    request.session.clear()  # a fresh session: no fixation, and no one else's login kept
    request.session.update({SESSION_ID: sid, "csrf_token": csrf})
    return redirect(request, f"/study/{study_id}")


@router.get("/study/{study_id}")
def study_page(
    request: Request, db: SessionDep, user: LabelerUser, study_id: DbId, note: str | None = None
) -> Response:
    standing = service.mine(db, user.id, study_id)
    if standing.stage == service.Stage.complete and standing.participant.completed_at is None:
        service.record_completion_apart(standing.participant.id)
    return _study(request, db, standing, note)


def _study(
    request: Request,
    db: SessionDep,
    standing: service.Standing,
    note: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    repo = StudyRepository(db)
    briefing = repo.briefing(standing.study.experiment_id)
    context = {
        "s": standing,
        "stage": standing.stage.value,
        "instructions": render(briefing.instructions if briefing else ""),
        "questions": repo.questions(standing.study.experiment_id),
        "attempts_left": service.ATTEMPTS - len(standing.attempts),
        "note": note,
        "error": error,
    }
    return templates.TemplateResponse(
        request, "studies/study.html", context, status_code=status_code
    )


@router.post("/study/{study_id}/check")
async def answer_check(
    request: Request, db: SessionDep, user: LabelerUser, study_id: DbId
) -> Response:
    form = await request.form()
    answers: dict[int, int] = {}
    for key, value in form.multi_items():
        if key.startswith("q") and key[1:].isascii() and key[1:].isdigit() and len(key) < 12:
            if not isinstance(value, str) or not (value.isascii() and value.isdigit()):
                raise AppError("pick one of the options", field=key)
            if len(value) > 3:  # more options than any question has
                raise AppError("pick one of the options", field=key)
            answers[int(key[1:])] = int(value)

    def answer() -> Response:
        error = form_error(lambda: service.answer_check(db, user.id, study_id, answers))
        if error:
            return _study(
                request, db, service.mine(db, user.id, study_id), error=error, status_code=400
            )
        return redirect(request, f"/study/{study_id}")

    return await run_in_threadpool(answer)
