"""The studies domain's queries."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ExperimentLabeler, Task, TaskStatus
from app.models.studies import (
    ComprehensionAttempt,
    ComprehensionQuestion,
    ExperimentBriefing,
    ParticipantAccount,
    Study,
    StudyParticipant,
)


class StudyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def briefing(self, experiment_id: int) -> ExperimentBriefing | None:
        return self.session.get(ExperimentBriefing, experiment_id)

    def questions(self, experiment_id: int) -> Sequence[ComprehensionQuestion]:
        return self.session.scalars(
            select(ComprehensionQuestion)
            .where(ComprehensionQuestion.experiment_id == experiment_id)
            .order_by(ComprehensionQuestion.id)
        ).all()

    def studies(self, experiment_id: int) -> Sequence[tuple[Study, int]]:
        """The experiment's study links, each with its number of participants."""
        joined = (
            select(func.count())
            .where(StudyParticipant.study_id == Study.id)
            .correlate(Study)
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(Study, joined).where(Study.experiment_id == experiment_id).order_by(Study.id)
        ).all()
        return [(study, count) for study, count in rows]

    def account(self, participant_hash: str) -> ParticipantAccount | None:
        return self.session.scalar(
            select(ParticipantAccount).where(
                ParticipantAccount.participant_hash == participant_hash
            )
        )

    def participant(self, study_id: int, user_id: int) -> StudyParticipant | None:
        return self.session.scalar(
            select(StudyParticipant).where(
                StudyParticipant.study_id == study_id, StudyParticipant.user_id == user_id
            )
        )

    def participant_count(self, study_id: int) -> int:
        return (
            self.session.scalar(select(func.count()).where(StudyParticipant.study_id == study_id))
            or 0
        )

    def participations(self, user_id: int) -> Sequence[tuple[StudyParticipant, Study]]:
        rows = self.session.execute(
            select(StudyParticipant, Study)
            .join(Study, Study.id == StudyParticipant.study_id)
            .where(StudyParticipant.user_id == user_id)
            .order_by(StudyParticipant.id)
        ).all()
        return [(p, s) for p, s in rows]

    def attempts(self, participant_id: int) -> Sequence[ComprehensionAttempt]:
        return self.session.scalars(
            select(ComprehensionAttempt)
            .where(ComprehensionAttempt.participant_id == participant_id)
            .order_by(ComprehensionAttempt.attempt)
        ).all()

    def in_pool(self, experiment_id: int, user_id: int) -> bool:
        return (
            self.session.get(
                ExperimentLabeler, {"experiment_id": experiment_id, "user_id": user_id}
            )
            is not None
        )

    def submitted(self, user_id: int, experiment_id: int) -> int:
        return (
            self.session.scalar(
                select(func.count()).where(
                    Task.labeler_id == user_id,
                    Task.experiment_id == experiment_id,
                    Task.status == TaskStatus.submitted,
                )
            )
            or 0
        )
