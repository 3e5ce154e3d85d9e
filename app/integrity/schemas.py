"""What the task page (or an API client) reports about how the critiques were written.

Counts and timings only: no keystrokes, no text, no clipboard content (docs/privacy.md)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.validation import DbId, FiniteFloat

Count = Annotated[int, Field(ge=0, le=10_000_000)]
Seconds = Annotated[FiniteFloat, Field(ge=0, le=10_000_000)]
MAX_PASTES = 50  # per critique: enough evidence, bounded storage


class PasteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chars: Count
    at_s: Seconds = Field(description="seconds from task open")


class CritiqueProvenanceIn(BaseModel):
    """One critique: named by its id (the page) or its 1-based place in the task's list
    (an API submit that carries the critiques)."""

    model_config = ConfigDict(extra="forbid")

    critique_id: DbId | None = None
    position: Annotated[int, Field(ge=1, le=10_000)] | None = None
    typed_chars: Count = 0
    pasted_chars: Count = 0
    pastes: list[PasteIn] = Field(default_factory=list, max_length=MAX_PASTES)
    first_key_s: Seconds | None = Field(
        default=None, description="seconds from task open to the first keystroke in it"
    )
    typing_s: Seconds = Field(default=0.0, description="time spent typing (pauses < 5 s)")
    edits_after_use: Count = Field(
        default=0, description="edits to a critique taken from a model critique"
    )

    @model_validator(mode="after")
    def _named_once(self) -> "CritiqueProvenanceIn":
        if (self.critique_id is None) == (self.position is None):
            raise ValueError("give exactly one of critique_id and position")
        return self


class ProvenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    away_s: Seconds = Field(default=0.0, description="time the page was hidden or unfocused")
    departures: Count = 0
    critiques: list[CritiqueProvenanceIn] = Field(default_factory=list, max_length=200)
