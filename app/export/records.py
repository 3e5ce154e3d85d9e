"""The export record, version 3: one line per submitted labeling task (DESIGN.md section 4).

export_schema.json beside this file is generated from ExportRecord (a test keeps them equal).
The service builds plain dicts for speed; tests validate them against this schema.
Version 2 added the intended critiques and the review outcomes.

Version 3 (issue 21, study integrity) adds, per critique, `provenance` (characters typed and
pasted, pastes, time to first keystroke, typing time, edits after a use; null when the
client reported none) and the closest model critique of the same answer
(`closest_model_critique_id`, `model_similarity`); per task, `integrity` (time away, the
flags and their evidence, and the admin's exclusion). Migrating from version 2: every
version-2 field is unchanged; a reader of version 3 (`critiquelab analyze`) refuses a
version-2 file and asks for a re-export, since a version-2 file cannot say which tasks are
flagged.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.studies.export import StudyRecord

SCHEMA_VERSION = "3"


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
    provenance: "CritiqueProvenanceOut | None" = Field(
        description="how the text got there, as the task page counted it (null: not reported)"
    )
    closest_model_critique_id: int | None = Field(
        description="the most similar stored model critique of this answer, shown or not"
    )
    model_similarity: float | None = Field(
        description="normalised similarity to it, 0-1 (null: not checked or no model critique)"
    )
    quote_of: str | None = Field(
        default=None, description="answer or passage: the text the critique quotes (null: none)"
    )
    quote_start: int | None = Field(default=None, description="first character of the quote")
    quote_end: int | None = Field(default=None, description="character after the quote")


class PasteOut(_Out):
    chars: int
    at_s: float = Field(description="seconds from task open")


class CritiqueProvenanceOut(_Out):
    typed_chars: int
    pasted_chars: int
    pastes: list[PasteOut]
    first_key_s: float | None = Field(description="seconds from task open to first keystroke")
    typing_s: float = Field(description="time spent typing (gaps between keys under 5 s)")
    edits_after_use: int = Field(description="edits after the text came from a model critique")


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


class TaskProvenanceOut(_Out):
    away_s: float = Field(description="seconds the page was hidden or unfocused")
    departures: int


class ExclusionOut(_Out):
    scope: str = Field(description="task: this task; labeler: all of the labeler's tasks here")
    reason: str
    excluded_at: datetime


class IntegrityOut(_Out):
    provenance: TaskProvenanceOut | None
    checked: bool = Field(description="false: exported before the integrity check ran")
    flags: list[str] | None = Field(
        description="mostly_pasted, near_copy_no_assist, away_no_assist, implausible_typing"
    )
    evidence: dict[str, Any] | None = Field(description="the numbers behind the flags")
    excluded: bool
    exclusion: ExclusionOut | None


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
    integrity: IntegrityOut = Field(description="study integrity (issue 21, docs/privacy.md)")
    # Studies (app/studies/export.py): optional.
    study: StudyRecord | None = Field(
        default=None, description="gold check flag and the labeler's study and onboarding"
    )


LabelerCritiqueOut.model_rebuild()


def export_json_schema() -> dict[str, object]:
    schema = ExportRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "One line of `critiquelab export`: a submitted labeling task with everything shown and written."
    )
    return schema
