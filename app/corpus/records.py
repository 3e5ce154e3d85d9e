"""The two import formats as typed records: what a valid line of each file looks like.

The native format's JSON Schema (native_schema.json) is generated from NativeRecord, so the
documentation and the validator cannot drift apart (a test checks the committed file).
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.models import AnswerSource, Category

# Limits on text sizes (characters). Passages get the configurable max_text_chars on top.
QUESTION_MAX = 2_000
ANSWER_MAX = 20_000
CRITIQUE_MAX = 5_000
CATEGORY_TEXT_MAX = 200

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Severity = Annotated[int, Field(ge=1, le=4, description="1 = minor ... 4 = critical")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PassageIn(_Strict):
    title: str | None = Field(default=None, max_length=500)
    text: NonEmpty


class CritiqueIn(_Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=CRITIQUE_MAX)]
    severity: Severity
    category: Category
    category_text: str | None = Field(default=None, max_length=CATEGORY_TEXT_MAX)

    @model_validator(mode="after")
    def _other_needs_text(self) -> "CritiqueIn":
        if self.category == Category.other and not (self.category_text or "").strip():
            raise ValueError("category 'other' needs a short category_text")
        return self


class AnswerIn(_Strict):
    source: AnswerSource
    text: Annotated[str, StringConstraints(max_length=ANSWER_MAX)]
    author: str | None = Field(default=None, description="username of the human author")
    temperature: float | None = Field(default=None, ge=0, le=2)
    model_name: str | None = Field(default=None, max_length=200)
    intended_critiques: list[CritiqueIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _intended_only_for_misleading(self) -> "AnswerIn":
        misleading = self.source == AnswerSource.human_misleading
        if misleading and not self.intended_critiques:
            raise ValueError("a human_misleading answer needs at least one intended critique")
        if not misleading and self.intended_critiques:
            raise ValueError("only human_misleading answers carry intended critiques")
        return self


class QuestionIn(_Strict):
    question: Annotated[str, StringConstraints(min_length=1, max_length=QUESTION_MAX)]
    answers: list[AnswerIn] = Field(default_factory=list)


class NativeRecord(_Strict):
    """One passage with its questions and their answers, one JSON object per line."""

    model_config = ConfigDict(title="critiquelab native import record")

    passage: PassageIn
    questions: list[QuestionIn] = Field(min_length=1)


# The paper's released format: unknown extra keys are tolerated, known ones are typed.


class _Paper(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class PaperFeedback(_Paper):
    helpful: bool


class PaperCritique(_Paper):
    critique: Annotated[str, StringConstraints(max_length=CRITIQUE_MAX)]
    feedback: PaperFeedback


class PaperAnswer(_Paper):
    answer: Annotated[str, StringConstraints(max_length=ANSWER_MAX)]
    critiques: list[PaperCritique] = Field(default_factory=list)


class PaperNewCritique(_Paper):
    text: Annotated[str, StringConstraints(max_length=CRITIQUE_MAX)]
    category: Category
    severity: Severity
    category_text: str | None = Field(default=None, max_length=CATEGORY_TEXT_MAX)
    refinement: str | None = Field(default=None, max_length=ANSWER_MAX)


class PaperQuestion(_Paper):
    question: Annotated[str, StringConstraints(min_length=1, max_length=QUESTION_MAX)]
    answers: list[PaperAnswer] = Field(min_length=1)
    rankings: list[int | None] = Field(default_factory=list)
    is_critiqueable: bool | None = None
    has_better_critique: bool | None = None
    new_critique: PaperNewCritique | None = None

    @model_validator(mode="after")
    def _one_rank_per_critique(self) -> "PaperQuestion":
        n = sum(len(a.critiques) for a in self.answers)
        if self.rankings and len(self.rankings) != n:
            raise ValueError(f"rankings has {len(self.rankings)} entries for {n} critiques")
        return self


class PaperData(_Paper):
    passage: PassageIn
    questions: list[PaperQuestion] = Field(min_length=1)


class PaperRecord(_Paper):
    # Lengths as stored (question_feedback, helpfulness_judgements).
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    labeler: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    # A Unix time, up to the end of year 9999 (what a timestamp column holds).
    time: float | None = Field(default=None, ge=0, le=253_402_300_799)
    split: str | None = Field(default=None, max_length=32)
    data: PaperData


def native_json_schema() -> dict[str, object]:
    schema = NativeRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "One line of a critiquelab native import file (JSONL): a passage with its questions, "
        "each question's answers by source, and the intended critiques of misleading answers."
    )
    return schema
