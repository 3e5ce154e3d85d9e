"""The researcher's report, computed by a worker and kept per (experiment, content version).

The content version names what the export held when the computation was asked for (see
app/analysis/cache.py), so a stored report is reused until a submission changes it.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, enum_check


class ReportStatus(StrEnum):
    queued = "queued"
    reading = "reading"  # streaming the export: processed_tasks of total_tasks
    estimating = "estimating"  # the bootstrap
    drawing = "drawing"  # the figures
    ready = "ready"
    failed = "failed"


COMPUTING = (
    ReportStatus.queued,
    ReportStatus.reading,
    ReportStatus.estimating,
    ReportStatus.drawing,
)


class AnalysisReport(TimestampMixin, Base):
    __tablename__ = "analysis_reports"
    __table_args__ = (
        UniqueConstraint("experiment_id", "content_version"),
        enum_check("status", ReportStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    content_version: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.queued)
    total_tasks: Mapped[int] = mapped_column(Integer, default=0)
    processed_tasks: Mapped[int] = mapped_column(Integer, default=0)
    # The report's numbers (report.json) and its figures as SVG text, by figure name.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    figures: Mapped[dict[str, str] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
