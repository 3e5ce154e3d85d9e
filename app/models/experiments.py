"""Experiments, their conditions, and tasks (labeler x answer x condition)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, enum_check
from app.models.corpus import AnswerSource


class ExperimentStatus(StrEnum):
    draft = "draft"
    launched = "launched"
    paused = "paused"
    completed = "completed"


class TaskStatus(StrEnum):
    pending = "pending"  # in the pool, nobody holds it
    assigned = "assigned"  # held by a labeler until submitted, skipped or expired
    submitted = "submitted"


class ExposureReason(StrEnum):
    task = "task"
    authored = "authored"
    reviewed = "reviewed"  # read it to review someone else's answer on the author's behalf
    judged = "judged"  # judged model critiques of one of its answers (app/judgements)


class Experiment(TimestampMixin, Base):
    __tablename__ = "experiments"
    __table_args__ = (
        enum_check("status", ExperimentStatus),
        CheckConstraint("labelers_per_condition >= 1", name="labelers_per_condition_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ExperimentStatus.draft)
    # Seeds the random order of each labeler's tasks, so a run can be replayed.
    seed: Mapped[int] = mapped_column(Integer)
    labelers_per_condition: Mapped[int] = mapped_column(Integer, default=1)
    task_expiry_s: Mapped[int] = mapped_column(Integer, default=4 * 3600)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    conditions: Mapped[list["Condition"]] = relationship(lazy="raise", order_by="Condition.id")


class Condition(Base):
    """An answer source crossed with assist or no assist."""

    __tablename__ = "conditions"
    __table_args__ = (
        UniqueConstraint("experiment_id", "source", "assist"),
        enum_check("source", AnswerSource),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(24))
    assist: Mapped[bool] = mapped_column(Boolean)

    @property
    def name(self) -> str:
        return f"{self.source}/{'assist' if self.assist else 'no_assist'}"


class ExperimentQuestion(Base):
    __tablename__ = "experiment_questions"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)


class ExperimentLabeler(Base):
    __tablename__ = "experiment_labelers"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("answer_id", "condition_id", "slot"),
        enum_check("status", TaskStatus),
        # Hot: "next task" scans the pending pool of one experiment.
        Index("ix_tasks_experiment_id_status", "experiment_id", "status"),
        # Hot: progress by condition on the dashboard.
        Index(
            "ix_tasks_experiment_id_condition_id_status", "experiment_id", "condition_id", "status"
        ),
        # Hot: a labeler's open and done tasks.
        Index("ix_tasks_labeler_id_status", "labeler_id", "status"),
        # Hot: "next task" walks one condition's pending tasks in their seeded order and
        # stops at the first the labeler may take (app/experiments/assignment.py).
        Index(
            "ix_tasks_pending_order",
            "condition_id",
            "order_key",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Lazy expiry reads only the expired tasks, never every assigned one.
        Index(
            "ix_tasks_assigned_expires_at",
            "expires_at",
            postgresql_where=text("status = 'assigned'"),
            sqlite_where=text("status = 'assigned'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    condition_id: Mapped[int] = mapped_column(ForeignKey("conditions.id", ondelete="CASCADE"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"))
    # Denormalised from the answer: assignment filters on it for every request.
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer, default=0)
    # The task's place in its condition's random order, drawn at launch from the
    # experiment's seed (0 <= key < 2**31).
    order_key: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.pending)
    labeler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The exact assistance shown; set when an assist task is handed out.
    assistance_set_id: Mapped[int | None] = mapped_column(ForeignKey("assistance_sets.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_edit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    passage_revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active_time_s: Mapped[float | None] = mapped_column(Float)

    condition: Mapped[Condition] = relationship(lazy="raise")


class TaskRelease(TimestampMixin, Base):
    """A task leaving a labeler's hands unsubmitted: a skip (with reason) or an expiry."""

    __tablename__ = "task_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    labeler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # skipped | expired | reassigned
    reason: Mapped[str | None] = mapped_column(Text)


class PassageExposure(TimestampMixin, Base):
    """A labeler has seen a passage; the unique key makes "never twice" a database rule."""

    __tablename__ = "passage_exposures"
    __table_args__ = (
        UniqueConstraint("user_id", "passage_id"),
        enum_check("reason", ExposureReason),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
