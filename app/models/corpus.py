"""Passages, questions, answers and the intended critiques of misleading answers."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, enum_check


class AnswerSource(StrEnum):
    model = "model"
    human = "human"
    human_misleading = "human_misleading"


class Category(StrEnum):
    accuracy = "accuracy"
    coverage = "coverage"
    coherence = "coherence"
    other = "other"


class Passage(TimestampMixin, Base):
    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    # sha256 of title and text: the identity that makes re-imports idempotent.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)

    questions: Mapped[list["Question"]] = relationship(
        back_populates="passage", lazy="raise", order_by="Question.id"
    )


class Question(TimestampMixin, Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("passage_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    passage_id: Mapped[int] = mapped_column(
        ForeignKey("passages.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))

    passage: Mapped[Passage] = relationship(back_populates="questions", lazy="raise")
    answers: Mapped[list["Answer"]] = relationship(
        back_populates="question", lazy="raise", order_by="Answer.id"
    )


class Answer(TimestampMixin, Base):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("question_id", "source", "content_hash"),
        enum_check("source", AnswerSource),
        CheckConstraint(
            "temperature IS NULL OR (temperature >= 0 AND temperature <= 2)",
            name="temperature_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Set when the model wrote the answer.
    temperature: Mapped[float | None] = mapped_column(Float)
    model_name: Mapped[str | None] = mapped_column(String(200))
    prompt_format: Mapped[str | None] = mapped_column(String(64))

    question: Mapped[Question] = relationship(back_populates="answers", lazy="raise")
    intended_critiques: Mapped[list["IntendedCritique"]] = relationship(
        back_populates="answer", lazy="raise", order_by="IntendedCritique.position"
    )


def critique_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity_range"),
        enum_check("category", Category),
    )


class IntendedCritique(TimestampMixin, Base):
    """The flaw the author of a misleading answer hid in it, in their own words."""

    __tablename__ = "intended_critiques"
    __table_args__ = (UniqueConstraint("answer_id", "position"), *critique_checks())

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    category_text: Mapped[str | None] = mapped_column(String(200))

    answer: Mapped[Answer] = relationship(back_populates="intended_critiques", lazy="raise")


class HelpfulnessJudgement(TimestampMixin, Base):
    """One human helpfulness label of one critique, imported from the paper's release."""

    __tablename__ = "helpfulness_judgements"
    __table_args__ = (
        UniqueConstraint("source_record_id", "question_index", "answer_index", "critique_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    critique_text: Mapped[str] = mapped_column(Text)
    helpful: Mapped[bool]
    rank: Mapped[int | None] = mapped_column(Integer)
    labeler_hash: Mapped[str] = mapped_column(String(128))
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_record_id: Mapped[str] = mapped_column(String(128))
    question_index: Mapped[int] = mapped_column(Integer)
    answer_index: Mapped[int] = mapped_column(Integer)
    critique_index: Mapped[int] = mapped_column(Integer)


class QuestionFeedback(TimestampMixin, Base):
    """Per record and question of the paper's release: the labeler's own critique and flags."""

    __tablename__ = "question_feedback"
    __table_args__ = (
        UniqueConstraint("source_record_id", "question_index"),
        CheckConstraint(
            "new_critique_severity IS NULL OR new_critique_severity BETWEEN 1 AND 4",
            name="severity_range",
        ),
        Index("ix_question_feedback_question_id", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    source_record_id: Mapped[str] = mapped_column(String(128))
    question_index: Mapped[int] = mapped_column(Integer)
    labeler_hash: Mapped[str] = mapped_column(String(128))
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    split: Mapped[str | None] = mapped_column(String(32))
    is_critiqueable: Mapped[bool | None]
    has_better_critique: Mapped[bool | None]
    new_critique_text: Mapped[str | None] = mapped_column(Text)
    new_critique_category: Mapped[str | None] = mapped_column(String(16))
    new_critique_severity: Mapped[int | None] = mapped_column(Integer)
    new_critique_category_text: Mapped[str | None] = mapped_column(String(200))
    new_critique_refinement: Mapped[str | None] = mapped_column(Text)
