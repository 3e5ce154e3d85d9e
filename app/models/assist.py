"""Model-written assistance: one stored set of critiques per answer, as shown to labelers."""

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin


class AssistanceSet(TimestampMixin, Base):
    __tablename__ = "assistance_sets"
    # One stored set per answer, model and prompt version: what was shown stays what was shown.
    __table_args__ = (UniqueConstraint("answer_id", "model_name", "prompt_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    model_name: Mapped[str] = mapped_column(String(200))
    prompt_format: Mapped[str] = mapped_column(String(64))
    # Pr[answer has a flaw], same log-prob recipe as helpfulness; null with a reason if unknown.
    critiqueability_score: Mapped[float | None] = mapped_column(Float)
    critiqueability_missing_reason: Mapped[str | None] = mapped_column(Text)

    critiques: Mapped[list["AssistanceCritique"]] = relationship(
        lazy="raise", order_by="AssistanceCritique.rank"
    )


class AssistanceCritique(TimestampMixin, Base):
    __tablename__ = "assistance_critiques"
    __table_args__ = (UniqueConstraint("assistance_set_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assistance_set_id: Mapped[int] = mapped_column(
        ForeignKey("assistance_sets.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(Text)
    temperature: Mapped[float] = mapped_column(Float)
    helpfulness_score: Mapped[float | None] = mapped_column(Float)
    score_missing_reason: Mapped[str | None] = mapped_column(Text)
    rank: Mapped[int] = mapped_column(Integer)
    model_name: Mapped[str] = mapped_column(String(200))
    prompt_format: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[float | None] = mapped_column(Float)
