"""What a labeler writes on a task: critiques and a rating (drafts until submitted)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime
from app.models.corpus import critique_checks


class QuotedText(StrEnum):
    """Which text a critique quotes (the span is quote_start:quote_end of it, in characters)."""

    answer = "answer"
    passage = "passage"


# A quote is all three fields or none; the span is non-empty. That it lies inside its text
# is checked by the app (app/labeling/quotes.py): the text lives in another table.
QUOTE_SPAN_CHECK = (
    "(quote_of IS NULL AND quote_start IS NULL AND quote_end IS NULL)"
    " OR (quote_of IN ('answer', 'passage') AND quote_start >= 0 AND quote_end > quote_start)"
)


class LabelerCritique(TimestampMixin, Base):
    __tablename__ = "labeler_critiques"
    __table_args__ = (
        UniqueConstraint("task_id", "position"),
        *critique_checks(),
        CheckConstraint(QUOTE_SPAN_CHECK, name="quote_span"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    category_text: Mapped[str | None] = mapped_column(String(200))
    assistance_critique_id: Mapped[int | None] = mapped_column(
        ForeignKey("assistance_critiques.id")
    )
    # Filled at submit for critiques that came from assistance.
    edited: Mapped[bool | None] = mapped_column(Boolean)
    edit_distance: Mapped[int | None] = mapped_column(Integer)
    # The span of the answer or passage the critique was started from ("critique this").
    quote_of: Mapped[str | None] = mapped_column(String(8))
    quote_start: Mapped[int | None] = mapped_column(Integer)
    quote_end: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )


class Rating(TimestampMixin, Base):
    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("value BETWEEN 1 AND 7", name="likert_range"),)

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now()
    )
