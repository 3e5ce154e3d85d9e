"""The experiment's instructions as the task page shows them: under a toggle, open with a
welcome on the labeler's first task of the experiment."""

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Task
from app.studies.markdown import render
from app.studies.repository import StudyRepository


@dataclass(frozen=True)
class Briefing:
    html: Markup
    first: bool  # no task of this experiment submitted yet: welcome the labeler


def for_task(session: Session, labeler_id: int, task_id: int) -> Briefing | None:
    """The instructions of the task's experiment, if its admin wrote any."""
    experiment_id = session.scalar(select(Task.experiment_id).where(Task.id == task_id))
    if experiment_id is None:
        return None
    repo = StudyRepository(session)
    briefing = repo.briefing(experiment_id)
    if briefing is None or not briefing.instructions:
        return None
    return Briefing(render(briefing.instructions), repo.submitted(labeler_id, experiment_id) == 0)
