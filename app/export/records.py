"""The export record, version 1: one line per submitted labeling task (DESIGN.md section 4).

export_schema.json beside this file is generated from ExportRecord (a test keeps them equal).
"""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"


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
    review: dict[str, object] | None = Field(
        default=None, description="intended-critique check outcomes, once the author has reviewed"
    )


def export_json_schema() -> dict[str, object]:
    schema = ExportRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "One line of `critiquelab export`: a submitted labeling task with everything shown and written."
    )
    return schema
