"""What goes in (drafts, submissions, batches) and what comes out of the judgement API."""

from pydantic import BaseModel, ConfigDict, Field

from app.core.validation import CritiqueText, DbId, NameStr
from app.labeling.schemas import CritiqueFields
from app.models import Category

MAX_CRITIQUES = 500  # per task: far above the paper's 16 per question


class CritiqueVerdictIn(BaseModel):
    """The labeler's verdict on one model critique of the task."""

    model_config = ConfigDict(extra="forbid")

    id: DbId = Field(description="the critique's id on this task (GET /api/v1/judgements/{id})")
    helpful: bool
    rank: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CRITIQUES,
        description="helpful critiques only: 1 = most helpful, then 2, 3... (no ties, no gaps)",
    )


class JudgementSubmitIn(BaseModel):
    """A whole judgement task, all or nothing."""

    model_config = ConfigDict(extra="forbid")

    critiques: list[CritiqueVerdictIn] = Field(max_length=MAX_CRITIQUES)
    is_critiqueable: bool = Field(description="does the answer have a flaw worth critiquing?")
    has_better_critique: bool = Field(
        description="is there a better critique than the model's helpful ones?"
    )
    new_critique: CritiqueFields | None = Field(
        default=None, description="the better critique; required when has_better_critique"
    )


class DraftVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: DbId
    helpful: bool | None = None
    rank: int | None = Field(default=None, ge=1, le=MAX_CRITIQUES)


class DraftNewCritique(BaseModel):
    """The better critique mid-edit: bounded, not yet complete."""

    model_config = ConfigDict(extra="forbid")

    text: CritiqueText = ""
    severity: int = Field(default=2, ge=1, le=4)
    category: Category = Category.accuracy
    category_text: NameStr | None = None


class JudgementDraftIn(BaseModel):
    """Whatever the page holds right now; nothing is required until submit."""

    model_config = ConfigDict(extra="forbid")

    critiques: list[DraftVerdict] = Field(default_factory=list, max_length=MAX_CRITIQUES)
    is_critiqueable: bool | None = None
    has_better_critique: bool | None = None
    new_critique: DraftNewCritique | None = None


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: NameStr = Field(min_length=1)
    question_ids: list[DbId] = Field(min_length=1, max_length=10_000)
    labelers: list[NameStr] = Field(min_length=1, max_length=1_000)
    judgements_per_critique: int = Field(default=1, ge=1, le=100)
    split: str = Field(default="train", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


# -- what the API answers --------------------------------------------------------------------


class CritiqueOut(BaseModel):
    id: int
    text: str
    helpful: bool | None
    rank: int | None


class AnswerOut(BaseModel):
    text: str
    critiques: list[CritiqueOut]


class NewCritiqueOut(BaseModel):
    text: str
    severity: int
    category: str
    category_text: str | None


class JudgementTaskOut(BaseModel):
    """A task as its labeler sees it: blinded (no answer source, no model scores)."""

    id: int
    status: str
    passage_title: str | None
    passage: str
    question: str
    answers: list[AnswerOut]
    is_critiqueable: bool | None
    has_better_critique: bool | None
    new_critique: NewCritiqueOut | None


class JudgementListItem(BaseModel):
    id: int
    status: str
    question: str


class JudgementListOut(BaseModel):
    data: list[JudgementListItem]
    count: int


class DraftSavedOut(BaseModel):
    task_id: int
    saved: bool


class JudgementSubmitOut(BaseModel):
    task_id: int
    status: str
    submitted_at: str | None


class LabelerProgressOut(BaseModel):
    username: str
    submitted: int
    open: int


class BatchOut(BaseModel):
    id: int
    name: str
    split: str
    judgements_per_critique: int
    questions: int
    tasks: int
    submitted: int
    open: int
    labelers: list[LabelerProgressOut]


class BatchCreatedOut(BaseModel):
    batch: BatchOut
    task_ids: list[int]


class BatchListOut(BaseModel):
    data: list[BatchOut]
    count: int
