"""Study integrity (issue 21): how each critique's text got there, what the integrity check
found, and the admin's exclusions. Counts and timings only, never keystrokes or clipboard
content (docs/privacy.md)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime


class TaskProvenance(TimestampMixin, Base):
    """What the task page measured, as of the last autosave or submit that carried it.

    `critiques` maps a labeler critique's id (as a string) to its counts: typed_chars,
    pasted_chars, pastes ([{chars, at_s}]), first_key_s, typing_s, edits_after_use."""

    __tablename__ = "task_provenance"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    away_s: Mapped[float] = mapped_column(Float, default=0.0)  # page hidden or unfocused
    departures: Mapped[int] = mapped_column(Integer, default=0)
    critiques: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TaskIntegrity(Base):
    """The integrity check of one submitted task, computed lazily (export, admin page) and
    kept: a submitted task no longer changes. `settings_key` names the thresholds it was
    computed with; other thresholds compute it again."""

    __tablename__ = "task_integrity"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    settings_key: Mapped[str] = mapped_column(String(64))
    flags: Mapped[list[str]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {critique id: {"model_critique_id": id, "similarity": 0..1}} (absent: no model critique)
    similarity: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Exclusion(TimestampMixin, Base):
    """An admin leaves a task, or a labeler's work in one experiment, out of the analysis.
    Lifting one keeps the row (who excluded, who lifted, why)."""

    __tablename__ = "integrity_exclusions"
    __table_args__ = (
        CheckConstraint(
            "(task_id IS NOT NULL AND labeler_id IS NULL)"
            " OR (task_id IS NULL AND labeler_id IS NOT NULL)",
            name="task_or_labeler",
        ),
        Index("ix_integrity_exclusions_experiment_id", "experiment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    labeler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    excluded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
