from pydantic import BaseModel, ConfigDict, Field


class LabelerVerdict(BaseModel):
    """Which intended critiques one labeler's critiques cover; `none` says they found none."""

    model_config = ConfigDict(extra="forbid")

    task_id: int
    covers: list[int] = Field(default_factory=list)
    none: bool = False


class CritiqueVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    critique_id: int
    valid: bool | None = None
    novel: bool | None = None


class ReviewIn(BaseModel):
    """A whole review; as a draft it may be partial, at submit every part is decided."""

    model_config = ConfigDict(extra="forbid")

    labelers: list[LabelerVerdict] = Field(default_factory=list)
    critiques: list[CritiqueVerdict] = Field(default_factory=list)


class DelegateIn(BaseModel):
    reviewer: str = Field(min_length=1)
    author_permission: str = Field(min_length=3, max_length=1000)


# What the reviewer sends: labelers and their critiques by their pseudonym keys for this
# review ("A", and "A1" for Labeler A's first critique), never by task or critique id.


class BlindLabelerVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labeler: str = Field(max_length=16, description='the pseudonym key, e.g. "A"')
    covers: list[int] = Field(default_factory=list, max_length=100)
    none: bool = False


class BlindCritiqueVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    critique: str = Field(max_length=24, description='e.g. "A1": Labeler A\'s first critique')
    valid: bool | None = None
    novel: bool | None = None


class BlindReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labelers: list[BlindLabelerVerdict] = Field(default_factory=list, max_length=1000)
    critiques: list[BlindCritiqueVerdict] = Field(default_factory=list, max_length=10_000)


# What the reviewer reads: the response model has no field for a task or labeler critique
# id, so none can leak through the API even by mistake.


class IntendedOut(BaseModel):
    id: int
    text: str
    severity: int
    category: str


class BlindCritiqueOut(BaseModel):
    key: str
    text: str
    severity: int
    category: str
    category_text: str | None
    valid: bool | None
    novel: bool | None


class BlindLabelerOut(BaseModel):
    key: str
    label: str
    covers: list[int]
    none: bool
    critiques: list[BlindCritiqueOut]


class BlindReviewOut(BaseModel):
    id: int
    status: str
    passage_title: str | None
    passage_text: str
    question: str
    answer: str
    intended: list[IntendedOut]
    delegated: bool
    labelers: list[BlindLabelerOut]


class DraftSavedOut(BaseModel):
    review_id: int
    saved: bool


class ReviewStatusOut(BaseModel):
    review_id: int
    status: str


class DelegatedOut(BaseModel):
    review_id: int
    reviewer: str
