"""A study world for tests: an experiment with instructions, a comprehension check, a gold
check answer outside its questions, and a Prolific-style study link."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.orm import Session

from app.corpus.repository import CorpusRepository
from app.experiments import design
from app.models import IntendedCritique
from app.models.base import utcnow
from app.models.studies import StudyParticipant
from app.studies import checks, links, service
from tests.support.experiments import corpus, store_fake_assistance

INSTRUCTIONS = "Find **every** flaw.\n\n- Read the answer\n- Write critiques\n\n<b>raw</b>"
COMPLETE_URL = "https://app.prolific.example/submissions/complete?cc=DONE123"
SCREENOUT_URL = "https://app.prolific.example/submissions/complete?cc=OUT456"
FLAW = "The answer says the lighthouse keeper left, but the passage says he stayed."


@dataclass
class StudyWorld:
    exp_id: int
    study_id: int
    link: str  # path and query, without platform parameters
    gold_answer_id: int

    def expires_and_sig(self) -> tuple[int, str]:
        query = dict(parse_qsl(urlsplit(self.link).query))
        return int(query["expires"]), query["sig"]


def study_world(
    db: Session,
    *,
    passages: int = 6,
    quota_tasks: int | None = 3,
    cap: int = 50,
    check_rate: int = 0,
    name: str = "study",
) -> StudyWorld:
    answers = corpus(db, passages=passages)
    store_fake_assistance(db, answers)
    exp = design.create(
        db, design.Design(name=name, sources=["model", "human_misleading"], labelers=[])
    )
    design.launch(db, exp.id)
    repo = CorpusRepository(db)
    passage, _ = repo.get_or_create_passage("Gold", "The keeper stayed at the lighthouse.")
    question, _ = repo.get_or_create_question(passage, "What does the keeper do?")
    gold, _ = repo.get_or_create_answer(question, "human_misleading", "The keeper left.")
    db.add(
        IntendedCritique(answer_id=gold.id, position=1, text=FLAW, severity=3, category="accuracy")
    )
    db.flush()
    service.save_briefing(db, exp.id, INSTRUCTIONS, check_rate)
    service.add_question(db, exp.id, "What do you write?", ["Critiques", "Poems"], 0)
    service.add_question(db, exp.id, "How much must you read?", ["All", "As much as needed"], 1)
    checks.mark(db, exp.id, gold.id)
    study = service.create_study(
        db,
        exp.id,
        service.StudyIn(
            name="Pilot",
            platform="prolific",
            participant_param="PROLIFIC_PID",
            study_param="STUDY_ID",
            session_param="SESSION_ID",
            expires_at=utcnow() + timedelta(days=3),
            max_participants=cap,
            quota_tasks=quota_tasks,
            quota_minutes=None if quota_tasks else 30,
            completion_code="DONE123",
            completion_url=COMPLETE_URL,
            screenout_code="OUT456",
            screenout_url=SCREENOUT_URL,
        ),
    )
    db.commit()
    return StudyWorld(exp.id, study.id, links.link_path(study.id, study.expires_at), gold.id)


def enrol(db: Session, exp_id: int, user_id: int, passed: bool = True) -> int:
    """A study link on the experiment with `user_id` already in it (onboarding passed)."""
    study = service.create_study(
        db,
        exp_id,
        service.StudyIn(
            name="Enrolled",
            platform="prolific",
            participant_param="PROLIFIC_PID",
            study_param=None,
            session_param=None,
            expires_at=utcnow() + timedelta(days=3),
            max_participants=5,
            quota_tasks=100,
            quota_minutes=None,
            completion_code="DONE",
            completion_url=None,
            screenout_code="OUT",
            screenout_url=None,
        ),
    )
    db.add(
        StudyParticipant(study_id=study.id, user_id=user_id, passed_at=utcnow() if passed else None)
    )
    db.flush()
    return study.id
