"""Quote to critique: a critique may start from a span of the answer or the passage.

The span is character offsets (Python's: code points) into the text as stored, end
excluded. Its shape (all three fields or none, start < end) is checked by the schema and
the database; that it lies inside its text is checked here, against the task's own text.
"""

from collections.abc import Sequence

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import AppError
from app.models import Answer, LabelerCritique, Passage, Task
from app.models.labeling import QuotedText

QUOTE_FIELDS = frozenset({"quote_of", "quote_start", "quote_end"})


class QuotedSpan(BaseModel):
    quote_of: QuotedText | None = Field(
        default=None, description="the text the critique quotes: answer or passage"
    )
    quote_start: int | None = Field(default=None, ge=0, le=2**31 - 1)
    quote_end: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        validate_default=True,  # the check below runs when only some fields are given
        description="exclusive, in characters",
    )

    @field_validator("quote_end")
    @classmethod
    def _whole_span(cls, end: int | None, info: ValidationInfo) -> int | None:
        of, start = info.data.get("quote_of"), info.data.get("quote_start")
        given = {of is not None, start is not None, end is not None}
        if len(given) > 1:
            raise ValueError("a quote needs quote_of, quote_start and quote_end together")
        if end is not None and start is not None and end <= start:
            raise ValueError(f"the quote must end after it starts (start {start}, end {end})")
        return end


def check_quote(session: Session, task: Task, span: QuotedSpan) -> None:
    """The span lies inside the task's answer or passage (a clear error naming the field)."""
    if span.quote_of is None or span.quote_end is None:
        return
    text_of = (
        select(Answer.text).where(Answer.id == task.answer_id)
        if span.quote_of == QuotedText.answer
        else select(Passage.text).where(Passage.id == task.passage_id)
    )
    length = len(session.scalar(text_of) or "")
    if span.quote_end > length:
        raise AppError(
            f"the quote ends at character {span.quote_end}, past the end of the"
            f" {span.quote_of.value} ({length} characters)",
            field="quote_end",
        )


def check_quotes(session: Session, task: Task, spans: Sequence[QuotedSpan]) -> None:
    for span in spans:
        check_quote(session, task, span)


def update_quote(session: Session, task: Task, critique: LabelerCritique, span: QuotedSpan) -> None:
    """An edit that names a quote replaces it; one that does not keeps it (the page's
    autosave sends only the labeler's fields), as with the model critique it came from."""
    if span.quote_of is None:
        return
    check_quote(session, task, span)
    for name in QUOTE_FIELDS:
        setattr(critique, name, getattr(span, name))
