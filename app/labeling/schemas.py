from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.settings import get_settings
from app.core.validation import CritiqueText, DbId, NameStr
from app.integrity.schemas import ProvenanceIn
from app.models import Category


class CritiqueFields(BaseModel):
    """A critique as people write it: labelers on tasks, authors as intended critiques."""

    model_config = ConfigDict(extra="forbid")

    text: CritiqueText = Field(min_length=1)
    severity: int = Field(ge=1, le=4)
    category: Category
    category_text: NameStr | None = None

    @model_validator(mode="after")
    def _other_needs_text(self) -> "CritiqueFields":
        if self.category == Category.other and not (self.category_text or "").strip():
            raise ValueError("category 'other' needs a short category_text")
        if not self.text.strip():
            raise ValueError("a critique needs some text")
        return self


class CritiqueIn(CritiqueFields):
    assistance_critique_id: DbId | None = None


class RatingIn(BaseModel):
    value: int = Field(ge=1, le=7, description="1-7 Likert, 7 = perfect")


class SubmitIn(BaseModel):
    """Submit may carry the whole labeling, replacing the draft, all or nothing."""

    model_config = ConfigDict(extra="forbid")

    critiques: list[CritiqueIn] | None = None
    rating: int | None = Field(default=None, ge=1, le=7)
    confirm_no_critiques: bool = False
    provenance: ProvenanceIn | None = None  # how the critiques were written (issue 21)

    @field_validator("critiques")
    @classmethod
    def _at_most_the_limit(cls, value: list[CritiqueIn] | None) -> list[CritiqueIn] | None:
        limit = get_settings().max_critiques_per_task
        if value is not None and len(value) > limit:
            raise ValueError(f"a task holds at most {limit} critiques (got {len(value)})")
        return value


# -- what the API answers --------------------------------------------------------------------


class NextTaskOut(BaseModel):
    task_id: int | None
    resumed: bool
    reason: str | None = Field(description="why there is no task, when there is none")


class CritiqueOut(BaseModel):
    id: int
    text: str
    severity: int
    category: str
    category_text: str | None
    assistance_critique_id: int | None


class SkipOut(BaseModel):
    task_id: int
    status: str


class RatingOut(BaseModel):
    task_id: int
    rating: int


class SubmitOut(BaseModel):
    task_id: int
    status: str
    submitted_at: str | None
