from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.models import Category


class CritiqueFields(BaseModel):
    """A critique as people write it: labelers on tasks, authors as intended critiques."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    severity: int = Field(ge=1, le=4)
    category: Category
    category_text: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _other_needs_text(self) -> "CritiqueFields":
        if self.category == Category.other and not (self.category_text or "").strip():
            raise ValueError("category 'other' needs a short category_text")
        if not self.text.strip():
            raise ValueError("a critique needs some text")
        return self


class CritiqueIn(CritiqueFields):
    assistance_critique_id: int | None = None


class RatingIn(BaseModel):
    value: int = Field(ge=1, le=7, description="1-7 Likert, 7 = perfect")


class SubmitIn(BaseModel):
    """Submit may carry the whole labeling, replacing the draft, all or nothing."""

    model_config = ConfigDict(extra="forbid")

    critiques: list[CritiqueIn] | None = None
    rating: int | None = Field(default=None, ge=1, le=7)
    confirm_no_critiques: bool = False
