from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.labeling.schemas import CritiqueFields


class WritingDraftIn(BaseModel):
    """Whatever the page holds right now; nothing is required until submit."""

    model_config = ConfigDict(extra="forbid")

    honest_text: str | None = Field(default=None, max_length=20000)
    misleading_text: str | None = Field(default=None, max_length=20000)
    intended_critiques: list[dict[str, object]] = Field(default_factory=list, max_length=20)


class WritingIn(BaseModel):
    """The finished writing task: both answers and at least one intended critique."""

    model_config = ConfigDict(extra="forbid")

    honest_text: str = Field(min_length=1, max_length=20000)
    misleading_text: str = Field(min_length=1, max_length=20000)
    intended_critiques: list[CritiqueFields] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _two_different_answers(self) -> "WritingIn":
        if not self.honest_text.strip():
            raise ValueError("honest_text: write the honest answer")
        if not self.misleading_text.strip():
            raise ValueError("misleading_text: write the misleading answer")
        if self.honest_text.strip() == self.misleading_text.strip():
            raise ValueError(
                "misleading_text: the misleading answer must differ from the honest one"
            )
        return self


class AssignWritingIn(BaseModel):
    writer: str = Field(min_length=1)
    question_ids: list[int] = Field(min_length=1)
