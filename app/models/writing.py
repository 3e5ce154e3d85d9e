"""Answer writing: a labeler writes an honest and a misleading answer to one question."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, enum_check


class WritingStatus(StrEnum):
    open = "open"
    submitted = "submitted"


class WritingTask(TimestampMixin, Base):
    __tablename__ = "writing_tasks"
    __table_args__ = (
        enum_check("status", WritingStatus),
        Index("ix_writing_tasks_writer_id_status", "writer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    writer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=WritingStatus.open)
    # The draft as the page last saved it; validated only at submit.
    honest_text: Mapped[str | None] = mapped_column(Text)
    misleading_text: Mapped[str | None] = mapped_column(Text)
    intended_draft: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    honest_answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"))
    misleading_answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"))
