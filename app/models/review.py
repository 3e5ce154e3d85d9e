"""The intended-critique check: the author of a misleading answer reviews labelers' critiques."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, enum_check


class ReviewStatus(StrEnum):
    open = "open"
    submitted = "submitted"


class IntendedCritiqueReview(TimestampMixin, Base):
    __tablename__ = "intended_critique_reviews"
    __table_args__ = (
        UniqueConstraint("answer_id", "experiment_id"),
        enum_check("status", ReviewStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.open)
    # When someone other than the author reviews: the author's recorded permission.
    author_permission: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The form as the reviewer last saved it; stored as coverages and judgements at submit.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ReviewCoverage(Base):
    """One labeler task's critiques covered one intended critique."""

    __tablename__ = "review_coverages"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("intended_critique_reviews.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    intended_critique_id: Mapped[int] = mapped_column(
        ForeignKey("intended_critiques.id", ondelete="CASCADE"), primary_key=True
    )


class ReviewJudgement(Base):
    """The author's verdict on one labeler critique."""

    __tablename__ = "review_judgements"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("intended_critique_reviews.id", ondelete="CASCADE"), primary_key=True
    )
    labeler_critique_id: Mapped[int] = mapped_column(
        ForeignKey("labeler_critiques.id", ondelete="CASCADE"), primary_key=True
    )
    valid: Mapped[bool | None] = mapped_column(Boolean)
    novel: Mapped[bool | None] = mapped_column(Boolean)
