"""What a study asks of next-task (app/experiments/assignment.py calls `detour` for a
participant, or when the labeler's experiments have checks): a participant labels only
after passing onboarding and until the study's quota is met, and a gold check is handed out
when one is due."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.studies import checks, service
from app.studies.repository import StudyRepository


@dataclass(frozen=True)
class Detour:
    task_id: int | None
    reason: str | None = None


REFUSALS = {
    service.Stage.onboarding: "finish the study's instructions and comprehension check first",
    service.Stage.screened_out: "the comprehension check was not passed; this study has no tasks for you",
    service.Stage.complete: "you have completed this study: thank you",
}


def detour(
    session: Session, labeler_id: int, in_study: bool, rates: Sequence[checks.CheckRate]
) -> Detour | None:
    """A refusal or a check task instead of the next ordinary task; None to go on. The
    caller says whether the labeler is a participant and which experiments of theirs have
    checks, so that the usual labeler costs no query here."""
    participations = StudyRepository(session).participations(labeler_id) if in_study else []
    for participant, study in participations:
        stage = service.standing(session, study, participant).stage
        if stage == service.Stage.complete:
            service.record_completion(session, participant)
        if stage != service.Stage.labeling:
            return Detour(None, REFUSALS[stage])
    task_id = checks.take_due_check(session, labeler_id, rates)
    return Detour(task_id) if task_id is not None else None
