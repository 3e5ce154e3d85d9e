"""What the export adds for studies, per task: whether it was a gold check, and for a
study participant their study, participant hash and onboarding. The export (app/export)
takes `study` from here on both of its paths: `STUDY_LATERAL` on PostgreSQL, `by_task`
elsewhere; the tests check the two give the same records."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from app.models.studies import (
    CheckTask,
    ComprehensionAttempt,
    ParticipantAccount,
    Study,
    StudyParticipant,
)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttemptOut(_Out):
    attempt: int
    correct: int
    total: int
    passed: bool
    created_at: datetime


class ParticipantOut(_Out):
    study_id: int
    platform: str
    participant_hash: str = Field(description="keyed hash of the platform's participant id")
    platform_study_id: str | None
    platform_session_id: str | None
    passed_at: datetime | None = Field(description="when the comprehension check was passed")
    screened_out_at: datetime | None
    completed_at: datetime | None
    attempts: list[AttemptOut] = Field(description="the comprehension check attempts")


class StudyRecord(_Out):
    is_check: bool = Field(description="a gold check: an answer with known flaws")
    participant: ParticipantOut | None = Field(
        description="the labeler's place in a study of this experiment, if they came by a link"
    )


# The `study` column of app/export/postgres.py: NULL unless the task is a check or its
# labeler joined through a study link of the task's experiment.
STUDY_LATERAL = """
LEFT JOIN LATERAL (
    SELECT CASE WHEN ck.task_id IS NULL AND pp.j IS NULL THEN NULL
        ELSE json_build_object('is_check', ck.task_id IS NOT NULL, 'participant', pp.j) END
        AS study
    FROM (SELECT 1) one
    LEFT JOIN check_tasks ck ON ck.task_id = t.id
    LEFT JOIN LATERAL (
        SELECT row_to_json(po) AS j FROM (
            SELECT sp.study_id, so.platform, pa.participant_hash, sp.platform_study_id,
                sp.platform_session_id, sp.passed_at, sp.screened_out_at, sp.completed_at,
                COALESCE((
                    SELECT array_to_json(array_agg(ca ORDER BY ca.attempt)) FROM (
                        SELECT attempt, correct, total, passed, created_at
                        FROM comprehension_attempts WHERE participant_id = sp.id
                    ) ca
                ), '[]'::json) AS attempts
            FROM study_participants sp
            JOIN studies so ON so.id = sp.study_id
            JOIN participant_accounts pa ON pa.user_id = sp.user_id
            WHERE sp.user_id = t.labeler_id AND so.experiment_id = t.experiment_id
            ORDER BY sp.id LIMIT 1
        ) po
    ) pp ON true
) st ON true
"""


_PARTICIPANT_FIELDS = (
    "study_id",
    "platform",
    "participant_hash",
    "platform_study_id",
    "platform_session_id",
    "passed_at",
    "screened_out_at",
    "completed_at",
)
_ATTEMPT_FIELDS = ("attempt", "correct", "total", "passed", "created_at")


def by_task(conn: Connection, rows: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """The `study` of each task of a batch of export rows (task id, experiment id, labeler
    id first); tasks absent have none."""
    task_ids = [r[0] for r in rows]
    checks = set(conn.scalars(select(CheckTask.task_id).where(CheckTask.task_id.in_(task_ids))))
    keys = {(r[1], r[2]) for r in rows}
    labelers = {labeler for _, labeler in keys}
    joined: dict[tuple[int, int], dict[str, Any]] = {}
    ids: dict[int, dict[str, Any]] = {}
    for pid, exp_id, user_id, *fields in conn.execute(
        select(
            StudyParticipant.id,
            Study.experiment_id,
            StudyParticipant.user_id,
            StudyParticipant.study_id,
            Study.platform,
            ParticipantAccount.participant_hash,
            StudyParticipant.platform_study_id,
            StudyParticipant.platform_session_id,
            StudyParticipant.passed_at,
            StudyParticipant.screened_out_at,
            StudyParticipant.completed_at,
        )
        .join(Study, Study.id == StudyParticipant.study_id)
        .join(ParticipantAccount, ParticipantAccount.user_id == StudyParticipant.user_id)
        .where(StudyParticipant.user_id.in_(labelers))
        .order_by(StudyParticipant.id)
    ):
        if (exp_id, user_id) in keys and (exp_id, user_id) not in joined:
            joined[(exp_id, user_id)] = ids[pid] = {
                **dict(zip(_PARTICIPANT_FIELDS, fields, strict=True)),
                "attempts": [],
            }
    for row in conn.execute(
        select(
            ComprehensionAttempt.participant_id,
            ComprehensionAttempt.attempt,
            ComprehensionAttempt.correct,
            ComprehensionAttempt.total,
            ComprehensionAttempt.passed,
            ComprehensionAttempt.created_at,
        )
        .where(ComprehensionAttempt.participant_id.in_(list(ids)))
        .order_by(ComprehensionAttempt.participant_id, ComprehensionAttempt.attempt)
    ):
        ids[row[0]]["attempts"].append(dict(zip(_ATTEMPT_FIELDS, row[1:], strict=True)))
    out = {}
    for task_id, exp_id, labeler_id, *_ in rows:
        participant = joined.get((exp_id, labeler_id))
        if task_id in checks or participant is not None:
            out[task_id] = {"is_check": task_id in checks, "participant": participant}
    return out
