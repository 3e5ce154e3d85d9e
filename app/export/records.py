"""The export record, version 2: one line per submitted labeling task (DESIGN.md section 4).

export_schema.json beside this file is generated from ExportRecord (a test keeps them equal).
The service builds plain dicts for speed; tests validate them against this schema.
Version 2 added the intended critiques and the review outcomes.
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.studies.export import StudyRecord

SCHEMA_VERSION = "2"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssistanceShown(_Out):
    id: int
    text: str
    temperature: float
    helpfulness_score: float | None
    score_missing_reason: str | None
    rank: int
    model_name: str
    prompt_format: str


class LabelerCritiqueOut(_Out):
    id: int
    text: str
    severity: int = Field(ge=1, le=4)
    category: str
    category_text: str | None
    used_assistance_id: int | None
    edited: bool | None
    edit_distance: int | None
    review_valid: bool | None = Field(
        description="the author judged it a real flaw (null: not reviewed)"
    )
    review_novel: bool | None = Field(description="valid, and not a flaw the author intended")


class IntendedCritiqueOut(_Out):
    id: int
    position: int
    text: str
    severity: int = Field(ge=1, le=4)
    category: str
    category_text: str | None


class ReviewOut(_Out):
    review_id: int
    submitted_at: datetime
    reviewer_is_author: bool
    author_permission: str | None = Field(description="recorded when someone else reviewed")
    covered_intended_ids: list[int] = Field(
        description="the intended critiques this labeler's critiques cover (empty: none found)"
    )


class Timing(_Out):
    assigned_at: datetime | None
    opened_at: datetime | None
    first_edit_at: datetime | None
    passage_revealed_at: datetime | None
    submitted_at: datetime
    duration_s: float | None = Field(description="submitted_at minus opened_at")
    active_time_s: float | None


class ExportRecord(_Out):
    model_config = ConfigDict(title="critiquelab export record")

    schema_version: str = SCHEMA_VERSION
    task_id: int
    experiment_id: int
    labeler: str = Field(description="keyed hash of the labeler id (CRITIQUELAB_EXPORT_SALT)")
    passage_id: int
    passage_title: str | None
    passage_text: str
    question_id: int
    question_text: str
    answer_id: int
    answer_text: str
    answer_source: str
    answer_temperature: float | None
    answer_model_name: str | None
    condition: str
    assist: bool
    assistance: list[AssistanceShown]
    critiqueability_score: float | None
    critiques: list[LabelerCritiqueOut]
    rating: int = Field(ge=1, le=7)
    timing: Timing
    intended_critiques: list[IntendedCritiqueOut] = Field(
        description="the flaw the author hid (human_misleading answers)"
    )
    review: ReviewOut | None = Field(
        description="the intended-critique check of this task, once submitted"
    )
    # Studies (app/studies/export.py): optional, so version 2 readers are unaffected.
    study: StudyRecord | None = Field(
        default=None, description="gold check flag and the labeler's study and onboarding"
    )


def export_json_schema() -> dict[str, object]:
    schema = ExportRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "One line of `critiquelab export`: a submitted labeling task with everything shown and written."
    )
    return schema
