"""All ORM models; importing this package registers every table on Base.metadata."""

from app.models import judgements as judgements  # registers the judgement tables
from app.models import reports as reports  # registers the analysis report table
from app.models import studies as studies  # registers the study tables
from app.models.access import ApiToken, LoginThrottle, UserSession
from app.models.assist import AssistanceCritique, AssistanceSet
from app.models.base import Base
from app.models.corpus import (
    Answer,
    AnswerSource,
    Category,
    HelpfulnessJudgement,
    IntendedCritique,
    Passage,
    Question,
    QuestionFeedback,
)
from app.models.experiments import (
    Condition,
    Experiment,
    ExperimentLabeler,
    ExperimentQuestion,
    ExperimentStatus,
    ExposureReason,
    PassageExposure,
    Task,
    TaskRelease,
    TaskStatus,
)
from app.models.idempotency import IdempotencyRecord
from app.models.integrity import Exclusion, TaskIntegrity, TaskProvenance
from app.models.jobs import ImportRun, ImportStatus, ImportUpload, Job, JobStatus
from app.models.labeling import LabelerCritique, Rating
from app.models.review import (
    IntendedCritiqueReview,
    ReviewCoverage,
    ReviewJudgement,
    ReviewStatus,
)
from app.models.users import Role, User
from app.models.writing import WritingStatus, WritingTask

__all__ = [
    "Answer",
    "AnswerSource",
    "ApiToken",
    "AssistanceCritique",
    "AssistanceSet",
    "Base",
    "Category",
    "Condition",
    "Experiment",
    "ExperimentLabeler",
    "ExperimentQuestion",
    "ExperimentStatus",
    "Exclusion",
    "ExposureReason",
    "HelpfulnessJudgement",
    "IdempotencyRecord",
    "ImportRun",
    "ImportStatus",
    "ImportUpload",
    "IntendedCritique",
    "IntendedCritiqueReview",
    "Job",
    "JobStatus",
    "LabelerCritique",
    "LoginThrottle",
    "Passage",
    "PassageExposure",
    "Question",
    "QuestionFeedback",
    "Rating",
    "ReviewCoverage",
    "ReviewJudgement",
    "ReviewStatus",
    "Role",
    "Task",
    "TaskIntegrity",
    "TaskProvenance",
    "TaskRelease",
    "TaskStatus",
    "User",
    "UserSession",
    "WritingStatus",
    "WritingTask",
]
