"""Helpfulness judgements collected in the app: a labeler judges the model critiques of one
question's answers (helpful or not, a ranking of the helpful ones), says whether the answer
is critiqueable and writes a better critique when there is one. This is the paper's
training data (its release format is written by app/judgements/export.py)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, enum_check
from app.models.corpus import Category
from app.models.experiments import ExposureReason

# The exposure a judgement task records on its passage (passage_exposures.reason).
JUDGED_EXPOSURE = ExposureReason.judged


class JudgementStatus(StrEnum):
    open = "open"
    submitted = "submitted"


class JudgementBatch(TimestampMixin, Base):
    """An admin's request: these questions, judged by this many labelers each."""

    __tablename__ = "judgement_batches"
    __table_args__ = (
        CheckConstraint("judgements_per_critique >= 1", name="judgements_per_critique_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    judgements_per_critique: Mapped[int] = mapped_column(Integer, default=1)
    # The paper's `split` of every record of the batch (train, valid, test).
    split: Mapped[str] = mapped_column(String(32), default="train")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class JudgementTask(TimestampMixin, Base):
    __tablename__ = "judgement_tasks"
    __table_args__ = (
        UniqueConstraint("batch_id", "question_id", "labeler_id"),
        enum_check("status", JudgementStatus),
        CheckConstraint(
            "new_critique_severity IS NULL OR new_critique_severity BETWEEN 1 AND 4",
            name="severity_range",
        ),
        CheckConstraint(
            "new_critique_category IS NULL OR new_critique_category IN "
            f"({', '.join(repr(c.value) for c in Category)})",
            name="category_valid",
        ),
        Index("ix_judgement_tasks_labeler_id_status", "labeler_id", "status"),
        Index("ix_judgement_tasks_batch_id_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("judgement_batches.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    # Denormalised from the question: the exposure rules filter on it.
    passage_id: Mapped[int] = mapped_column(ForeignKey("passages.id", ondelete="CASCADE"))
    labeler_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The exported record's `id`: random, fixed at creation, so a re-import recognises it.
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=JudgementStatus.open)
    # The page's form as last saved; validated only at submit.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    is_critiqueable: Mapped[bool | None]
    has_better_critique: Mapped[bool | None]
    new_critique_text: Mapped[str | None] = mapped_column(Text)
    new_critique_severity: Mapped[int | None] = mapped_column(Integer)
    new_critique_category: Mapped[str | None] = mapped_column(String(16))
    new_critique_category_text: Mapped[str | None] = mapped_column(String(200))


class JudgementCritique(Base):
    """One model critique as shown on a task (a snapshot, in the task's shuffled order) and,
    once submitted, the labeler's verdict on it."""

    __tablename__ = "judgement_critiques"
    __table_args__ = (
        UniqueConstraint("task_id", "position"),
        CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("judgement_tasks.id", ondelete="CASCADE"), index=True
    )
    # Order over all critiques of the task (the paper's `rankings` run over this order).
    position: Mapped[int] = mapped_column(Integer)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    answer_position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    assistance_critique_id: Mapped[int | None] = mapped_column(
        ForeignKey("assistance_critiques.id", ondelete="SET NULL")
    )
    helpful: Mapped[bool | None]
    # 1 = most helpful, among the task's helpful critiques; null for the others.
    rank: Mapped[int | None] = mapped_column(Integer)
