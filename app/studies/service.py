"""Study links, joining, onboarding (instructions and a comprehension check) and
completion. Gold checks are in checks.py; what next-task asks of a study is in stream.py."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app.core.database import session_scope
from app.core.errors import AppError, Conflict, Forbidden, NotFound
from app.core.locking import get_for_update
from app.models import Experiment, ExperimentLabeler, Role, User
from app.models.base import utcnow
from app.models.studies import (
    ComprehensionAttempt,
    ComprehensionQuestion,
    ExperimentBriefing,
    ParticipantAccount,
    Study,
    StudyParticipant,
)
from app.studies import links
from app.studies.repository import StudyRepository

ATTEMPTS = 2  # Prolific's rule for comprehension checks: two tries, then screen out
MAX_PARTICIPANT_ID_CHARS = 128
NO_PASSWORD = "!"  # not an argon2 hash: no password ever verifies against it


class BadLink(AppError):
    status_code = 403
    code = "bad_study_link"


class LinkExpired(AppError):
    status_code = 410
    code = "study_link_expired"


TAMPERED = (
    "This study link is not valid: it was changed or cut short. Open the study again from the "
    "page where you found it."
)


def _experiment(session: Session, experiment_id: int) -> Experiment:
    exp = session.get(Experiment, experiment_id)
    if exp is None:
        raise NotFound(f"no experiment {experiment_id}")
    return exp


def save_briefing(
    session: Session, experiment_id: int, instructions: str, check_rate_percent: int
) -> ExperimentBriefing:
    _experiment(session, experiment_id)
    if not 0 <= check_rate_percent <= 100:
        raise AppError("the check rate is 0 to 100 percent", field="check_rate_percent")
    briefing = session.get(ExperimentBriefing, experiment_id)
    if briefing is None:
        briefing = ExperimentBriefing(experiment_id=experiment_id)
        session.add(briefing)
    briefing.instructions = instructions.strip()
    briefing.check_rate_percent = check_rate_percent
    session.flush()
    return briefing


def add_question(
    session: Session, experiment_id: int, prompt: str, options: list[str], correct: int
) -> ComprehensionQuestion:
    _experiment(session, experiment_id)
    options = [o.strip() for o in options if o.strip()]
    if not prompt.strip():
        raise AppError("write the question", field="prompt")
    if len(options) < 2:
        raise AppError("give at least two options, one per line", field="options")
    if not 0 <= correct < len(options):
        raise AppError(f"the correct option is 1 to {len(options)}", field="correct")
    question = ComprehensionQuestion(
        experiment_id=experiment_id, prompt=prompt.strip(), options=options, correct=correct
    )
    session.add(question)
    session.flush()
    return question


def delete_question(session: Session, experiment_id: int, question_id: int) -> None:
    question = session.get(ComprehensionQuestion, question_id)
    if question is None or question.experiment_id != experiment_id:
        raise NotFound(f"no comprehension question {question_id} in experiment {experiment_id}")
    session.delete(question)
    session.flush()


@dataclass(frozen=True)
class StudyIn:
    name: str
    platform: str
    participant_param: str
    study_param: str | None
    session_param: str | None
    expires_at: datetime
    max_participants: int
    quota_tasks: int | None
    quota_minutes: int | None
    completion_code: str
    completion_url: str | None
    screenout_code: str
    screenout_url: str | None


def platform_url(url: str | None, field: str) -> str | None:
    """A completion or screen-out address: an absolute http(s) URL the admin gave (never one
    from a request), or none."""
    if not url or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or not url.isascii()
        or not url.isprintable()
        or " " in url
        or "\\" in url
    ):
        raise AppError("give an absolute http(s) address", field=field)
    return url


def create_study(session: Session, experiment_id: int, data: StudyIn) -> Study:
    _experiment(session, experiment_id)
    if data.platform not in links.PLATFORMS:
        raise AppError(f"platform is one of {', '.join(links.PLATFORMS)}", field="platform")
    if not data.participant_param.strip():
        raise AppError("name the participant id parameter", field="participant_param")
    if data.max_participants < 1:
        raise AppError("allow at least one participant", field="max_participants")
    if data.quota_tasks is None and data.quota_minutes is None:
        raise AppError("give a number of tasks or a time budget", field="quota_tasks")
    for field, value in (("quota_tasks", data.quota_tasks), ("quota_minutes", data.quota_minutes)):
        if value is not None and value < 1:
            raise AppError("the quota is at least 1", field=field)
    if data.expires_at <= utcnow():
        raise AppError("the expiry is in the past", field="expires_at")
    for field, code in (
        ("completion_code", data.completion_code),
        ("screenout_code", data.screenout_code),
    ):
        if not code.strip():
            raise AppError("give the code the platform expects", field=field)
    study = Study(
        experiment_id=experiment_id,
        name=data.name.strip() or "study",
        platform=data.platform,
        participant_param=data.participant_param.strip(),
        study_param=(data.study_param or "").strip() or None,
        session_param=(data.session_param or "").strip() or None,
        # Whole seconds: the link carries the expiry as an integer timestamp.
        expires_at=data.expires_at.replace(microsecond=0),
        max_participants=data.max_participants,
        quota_tasks=data.quota_tasks,
        quota_minutes=data.quota_minutes,
        completion_code=data.completion_code.strip(),
        completion_url=platform_url(data.completion_url, "completion_url"),
        screenout_code=data.screenout_code.strip(),
        screenout_url=platform_url(data.screenout_url, "screenout_url"),
    )
    session.add(study)
    session.flush()
    return study


def check_link(session: Session, study_id: int, expires: int, sig: str) -> Study:
    """The study of a valid, unexpired link (not locked); a clear refusal otherwise."""
    if not links.signed(study_id, expires, sig):
        raise BadLink(TAMPERED)
    study = session.get(Study, study_id)
    if study is None or int(study.expires_at.timestamp()) != expires:
        raise BadLink(TAMPERED)  # deleted, or its expiry changed since the link was made
    if utcnow() >= study.expires_at:
        raise LinkExpired(
            f"This study closed on {study.expires_at:%Y-%m-%d at %H:%M} UTC. "
            "Please return the study on your platform."
        )
    return study


def _platform_value(params: Mapping[str, str], name: str | None) -> str | None:
    value = params.get(name) if name else None
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_PARTICIPANT_ID_CHARS or not value.isprintable():
        raise AppError(f"{name} is not a valid value", field=name)
    return value


@dataclass(frozen=True)
class Joined:
    user: User
    participant: StudyParticipant
    resumed: bool


def join(
    session: Session, study_id: int, expires: int, sig: str, params: Mapping[str, str]
) -> Joined:
    """Create or resume the participant's account and their place in the study.

    The study's row is locked first, so concurrent first visits are counted one at a time
    and the cap holds; the unique participant hash keeps one account per participant."""
    check_link(session, study_id, expires, sig)
    study = get_for_update(session, Study, study_id)
    assert study is not None  # rows are not deleted under a lock
    pid = _platform_value(params, study.participant_param)
    if pid is None:
        raise AppError(
            f"This link lacks the participant id ({study.participant_param}). Open the study "
            "from your platform, which adds it.",
            field=study.participant_param,
        )
    repo = StudyRepository(session)
    digest = links.participant_hash(study.platform, pid)
    account = repo.account(digest)
    user = session.get(User, account.user_id) if account is not None else None
    if user is not None:
        if not user.is_active:
            raise Forbidden("this participant account is deactivated")
        existing = repo.participant(study.id, user.id)
        if existing is not None:
            return Joined(user, existing, resumed=True)
    if repo.participant_count(study.id) >= study.max_participants:
        raise Conflict("This study is full. Please return it on your platform.")
    if user is None:
        user = User(username=f"p-{digest[:24]}", password_hash=NO_PASSWORD, role=Role.labeler)
        session.add(user)
        session.flush()
        session.add(ParticipantAccount(user_id=user.id, participant_hash=digest))
    participant = StudyParticipant(
        study_id=study.id,
        user_id=user.id,
        platform_study_id=_platform_value(params, study.study_param),
        platform_session_id=_platform_value(params, study.session_param),
    )
    session.add(participant)
    if not repo.in_pool(study.experiment_id, user.id):
        session.add(ExperimentLabeler(experiment_id=study.experiment_id, user_id=user.id))
    session.flush()
    return Joined(user, participant, resumed=False)


class Stage(StrEnum):
    onboarding = "onboarding"
    screened_out = "screened_out"
    labeling = "labeling"
    complete = "complete"


@dataclass(frozen=True)
class Standing:
    study: Study
    participant: StudyParticipant
    stage: Stage
    attempts: list[ComprehensionAttempt]
    done: int  # tasks submitted in the study's experiment


def _complete(study: Study, participant: StudyParticipant, done: int, at: datetime) -> bool:
    if study.quota_tasks is not None and done >= study.quota_tasks:
        return True
    if study.quota_minutes is not None and participant.passed_at is not None:
        return at - participant.passed_at >= timedelta(minutes=study.quota_minutes)
    return False


def standing(session: Session, study: Study, participant: StudyParticipant) -> Standing:
    repo = StudyRepository(session)
    attempts = list(repo.attempts(participant.id))
    done = repo.submitted(participant.user_id, study.experiment_id)
    if participant.screened_out_at is not None:
        stage = Stage.screened_out
    elif participant.passed_at is None:
        stage = Stage.onboarding
    elif participant.completed_at is not None or _complete(study, participant, done, utcnow()):
        stage = Stage.complete
    else:
        stage = Stage.labeling
    return Standing(study, participant, stage, attempts, done)


def mine(session: Session, user_id: int, study_id: int) -> Standing:
    """The participant's own standing in a study; a 404 for anyone else."""
    study = session.get(Study, study_id)
    participant = StudyRepository(session).participant(study_id, user_id)
    if study is None or participant is None:
        raise NotFound(f"no study {study_id} of yours")
    return standing(session, study, participant)


def record_completion(session: Session, participant: StudyParticipant) -> None:
    participant.completed_at = participant.completed_at or utcnow()
    session.flush()


def record_completion_apart(participant_id: int) -> None:
    """Record a completion seen by a page that only reads, in a short write of its own."""
    with session_scope() as session:
        participant = get_for_update(session, StudyParticipant, participant_id)
        if participant is not None:
            record_completion(session, participant)


def answer_check(
    session: Session, user_id: int, study_id: int, answers: Mapping[int, int]
) -> ComprehensionAttempt:
    """Score one attempt at the comprehension check: all correct passes; the second
    failure screens the participant out. Every attempt is stored."""
    study = session.get(Study, study_id)
    if study is None:
        raise NotFound(f"no study {study_id} of yours")
    participant = StudyRepository(session).participant(study_id, user_id)
    if participant is None:
        raise NotFound(f"no study {study_id} of yours")
    participant = get_for_update(session, StudyParticipant, participant.id) or participant
    if participant.passed_at is not None or participant.screened_out_at is not None:
        raise Conflict("the comprehension check is already decided")
    repo = StudyRepository(session)
    questions = repo.questions(study.experiment_id)
    for q in questions:
        choice = answers.get(q.id)
        if choice is None:
            raise AppError("answer every question", field=f"q{q.id}")
        if not 0 <= choice < len(q.options):
            raise AppError("pick one of the options", field=f"q{q.id}")
    correct = sum(answers[q.id] == q.correct for q in questions)
    number = len(repo.attempts(participant.id)) + 1
    attempt = ComprehensionAttempt(
        participant_id=participant.id,
        attempt=number,
        answers={str(q.id): answers[q.id] for q in questions},
        correct=correct,
        total=len(questions),
        passed=correct == len(questions),
    )
    session.add(attempt)
    if attempt.passed:
        participant.passed_at = utcnow()
    elif number >= ATTEMPTS:
        participant.screened_out_at = utcnow()
    session.flush()
    return attempt


def study_home(session: Session, user_id: int) -> str | None:
    """The page of the participant's latest study, or None for a labeler in no study."""
    joined = StudyRepository(session).participations(user_id)
    return f"/study/{joined[-1][1].id}" if joined else None
