from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.validation import AnswerText, CritiqueText, DbId, NameStr
from app.labeling.schemas import CritiqueFields


class DraftCritique(BaseModel):
    """An intended critique as the page holds it mid-edit: bounded, not yet complete."""

    model_config = ConfigDict(extra="forbid")

    text: CritiqueText = ""
    severity: int = Field(default=2, ge=1, le=4)
    category: NameStr = "accuracy"
    category_text: NameStr | None = None


class WritingDraftIn(BaseModel):
    """Whatever the page holds right now; nothing is required until submit."""

    model_config = ConfigDict(extra="forbid")

    honest_text: AnswerText | None = None
    misleading_text: AnswerText | None = None
    intended_critiques: list[dict[str, object]] = Field(default_factory=list, max_length=20)

    @field_validator("intended_critiques")
    @classmethod
    def _bounded(cls, rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return [DraftCritique.model_validate(row).model_dump() for row in rows]


class WritingIn(BaseModel):
    """The finished writing task: both answers and at least one intended critique."""

    model_config = ConfigDict(extra="forbid")

    honest_text: AnswerText = Field(min_length=1)
    misleading_text: AnswerText = Field(min_length=1)
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
    writer: NameStr = Field(min_length=1)
    question_ids: list[DbId] = Field(min_length=1, max_length=10_000)


# -- what the API answers --------------------------------------------------------------------


class WritingDraftSavedOut(BaseModel):
    task_id: int
    saved: bool


class WritingSubmitOut(BaseModel):
    task_id: int
    status: str
    honest_answer_id: int | None
    misleading_answer_id: int | None


class WritingAssignedOut(BaseModel):
    task_ids: list[int]
