"""Studies with recruited participants (app/studies): per-experiment instructions and
comprehension questions, study links, participants known only by a keyed hash, their
onboarding attempts, and gold (attention check) tasks."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime


class ExperimentBriefing(Base):
    """What the admin tells an experiment's labelers (Markdown), and how often they get a
    gold task."""

    __tablename__ = "experiment_briefings"
    __table_args__ = (
        CheckConstraint("check_rate_percent BETWEEN 0 AND 100", name="check_rate_range"),
    )

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    instructions: Mapped[str] = mapped_column(Text, default="")
    check_rate_percent: Mapped[int] = mapped_column(Integer, default=0)


class ComprehensionQuestion(Base):
    __tablename__ = "comprehension_questions"
    __table_args__ = (CheckConstraint("correct >= 0", name="correct_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    correct: Mapped[int] = mapped_column(Integer)  # index into options


class Study(TimestampMixin, Base):
    """A study link: one experiment, one recruitment platform, a participant cap, an
    expiry, a quota, and the codes the platform expects back."""

    __tablename__ = "studies"
    __table_args__ = (
        CheckConstraint("max_participants >= 1", name="max_participants_positive"),
        CheckConstraint("quota_tasks IS NOT NULL OR quota_minutes IS NOT NULL", name="quota_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(32))
    participant_param: Mapped[str] = mapped_column(String(64))
    study_param: Mapped[str | None] = mapped_column(String(64))
    session_param: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    max_participants: Mapped[int] = mapped_column(Integer)
    quota_tasks: Mapped[int | None] = mapped_column(Integer)
    quota_minutes: Mapped[int | None] = mapped_column(Integer)
    completion_code: Mapped[str] = mapped_column(String(200))
    completion_url: Mapped[str | None] = mapped_column(String(2000))
    screenout_code: Mapped[str] = mapped_column(String(200))
    screenout_url: Mapped[str | None] = mapped_column(String(2000))


class ParticipantAccount(Base):
    """The labeler account of one platform participant. Only a keyed hash of the platform's
    participant id is stored; the unique key is what keeps it to one account."""

    __tablename__ = "participant_accounts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    participant_hash: Mapped[str] = mapped_column(String(64), unique=True)


class StudyParticipant(TimestampMixin, Base):
    __tablename__ = "study_participants"
    __table_args__ = (UniqueConstraint("study_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The platform's study and session ids as given on the first visit (not personal data).
    platform_study_id: Mapped[str | None] = mapped_column(String(200))
    platform_session_id: Mapped[str | None] = mapped_column(String(200))
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    screened_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComprehensionAttempt(TimestampMixin, Base):
    __tablename__ = "comprehension_attempts"
    __table_args__ = (UniqueConstraint("participant_id", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("study_participants.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    # {question id (as text): chosen option index}
    answers: Mapped[dict[str, int]] = mapped_column(JSON)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)


class CheckAnswer(Base):
    """An answer the admin marked as a gold check for an experiment: its intended critiques
    are the flaws a careful labeler should find."""

    __tablename__ = "check_answers"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"), primary_key=True)


class CheckTask(Base):
    """Marks a task as a gold check. The task itself is an ordinary task of the experiment,
    so its page and API are those of any task."""

    __tablename__ = "check_tasks"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
