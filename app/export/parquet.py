"""The export as one Parquet file: a flattened labeler-critiques table (pyarrow).

One row per labeler critique, beside every field of its task's JSONL record; a task with no
critique is one row whose `critique_*` columns are null, so every task (its rating, its
timing) is in the table. Nested objects become prefixed columns (`timing_submitted_at`,
`review_covered_intended_ids`); the lists that belong to the task, the assistance shown and
the intended critiques, stay list-of-struct columns with the JSONL's field names.
`critique_number` (1, 2, ...) is the critique's place in the task's `critiques` list.
A critique's provenance becomes `critique_typed_chars` and so on (null: none reported); the
integrity check's evidence is one JSON text column (`integrity_evidence`), its keys vary.
Timestamps are UTC microseconds. Written in row groups as the export streams, so memory
stays flat.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 65_536
_TS = pa.timestamp("us", tz="UTC")

_ASSISTANCE = pa.struct(
    [
        ("id", pa.int64()),
        ("text", pa.string()),
        ("temperature", pa.float64()),
        ("helpfulness_score", pa.float64()),
        ("score_missing_reason", pa.string()),
        ("rank", pa.int64()),
        ("model_name", pa.string()),
        ("prompt_format", pa.string()),
    ]
)
_INTENDED = pa.struct(
    [
        ("id", pa.int64()),
        ("position", pa.int64()),
        ("text", pa.string()),
        ("severity", pa.int64()),
        ("category", pa.string()),
        ("category_text", pa.string()),
    ]
)
# (column, type, where it comes from in the record: a path of keys)
_TASK_COLUMNS: list[tuple[str, pa.DataType, tuple[str, ...]]] = [
    ("schema_version", pa.string(), ("schema_version",)),
    ("task_id", pa.int64(), ("task_id",)),
    ("experiment_id", pa.int64(), ("experiment_id",)),
    ("labeler", pa.string(), ("labeler",)),
    ("passage_id", pa.int64(), ("passage_id",)),
    ("passage_title", pa.string(), ("passage_title",)),
    ("passage_text", pa.string(), ("passage_text",)),
    ("question_id", pa.int64(), ("question_id",)),
    ("question_text", pa.string(), ("question_text",)),
    ("answer_id", pa.int64(), ("answer_id",)),
    ("answer_text", pa.string(), ("answer_text",)),
    ("answer_source", pa.string(), ("answer_source",)),
    ("answer_temperature", pa.float64(), ("answer_temperature",)),
    ("answer_model_name", pa.string(), ("answer_model_name",)),
    ("condition", pa.string(), ("condition",)),
    ("assist", pa.bool_(), ("assist",)),
    ("assistance", pa.list_(_ASSISTANCE), ("assistance",)),
    ("critiqueability_score", pa.float64(), ("critiqueability_score",)),
    ("rating", pa.int64(), ("rating",)),
    *(
        (f"timing_{k}", _TS, ("timing", k))
        for k in (
            "assigned_at",
            "opened_at",
            "first_edit_at",
            "passage_revealed_at",
            "submitted_at",
        )
    ),
    ("timing_duration_s", pa.float64(), ("timing", "duration_s")),
    ("timing_active_time_s", pa.float64(), ("timing", "active_time_s")),
    ("intended_critiques", pa.list_(_INTENDED), ("intended_critiques",)),
    ("review_id", pa.int64(), ("review", "review_id")),
    ("review_submitted_at", _TS, ("review", "submitted_at")),
    ("review_reviewer_is_author", pa.bool_(), ("review", "reviewer_is_author")),
    ("review_author_permission", pa.string(), ("review", "author_permission")),
    ("review_covered_intended_ids", pa.list_(pa.int64()), ("review", "covered_intended_ids")),
    ("integrity_away_s", pa.float64(), ("integrity", "provenance", "away_s")),
    ("integrity_departures", pa.int64(), ("integrity", "provenance", "departures")),
    ("integrity_checked", pa.bool_(), ("integrity", "checked")),
    ("integrity_flags", pa.list_(pa.string()), ("integrity", "flags")),
    ("integrity_excluded", pa.bool_(), ("integrity", "excluded")),
    ("integrity_exclusion_scope", pa.string(), ("integrity", "exclusion", "scope")),
    ("integrity_exclusion_reason", pa.string(), ("integrity", "exclusion", "reason")),
    ("integrity_exclusion_excluded_at", _TS, ("integrity", "exclusion", "excluded_at")),
    ("integrity_evidence", pa.string(), ("integrity", "evidence")),  # a JSON object, as text
    ("study", pa.string(), ("study",)),  # app/studies/export.py's object, as JSON text
]
_JSON_TEXT = {"integrity_evidence"}
_PASTE = pa.struct([("chars", pa.int64()), ("at_s", pa.float64())])
# (column, type, where it comes from in a critique of the record: a path of keys)
_CRITIQUE_COLUMNS: list[tuple[str, pa.DataType, tuple[str, ...]]] = [
    (f"critique_{key}", typ, (key,))
    for key, typ in (
        ("id", pa.int64()),
        ("text", pa.string()),
        ("severity", pa.int64()),
        ("category", pa.string()),
        ("category_text", pa.string()),
        ("used_assistance_id", pa.int64()),
        ("edited", pa.bool_()),
        ("edit_distance", pa.int64()),
        ("review_valid", pa.bool_()),
        ("review_novel", pa.bool_()),
        ("closest_model_critique_id", pa.int64()),
        ("model_similarity", pa.float64()),
        ("quote_of", pa.string()),
        ("quote_start", pa.int64()),
        ("quote_end", pa.int64()),
    )
] + [
    (f"critique_{key}", typ, ("provenance", key))
    for key, typ in (
        ("typed_chars", pa.int64()),
        ("pasted_chars", pa.int64()),
        ("first_key_s", pa.float64()),
        ("typing_s", pa.float64()),
        ("edits_after_use", pa.int64()),
        ("pastes", pa.list_(_PASTE)),
    )
]
SCHEMA = pa.schema(
    [(name, typ) for name, typ, _ in _TASK_COLUMNS]
    + [("critique_number", pa.int64())]
    + [(name, typ) for name, typ, _ in _CRITIQUE_COLUMNS],
    metadata={"critiquelab": "flattened labeler critiques; see app/export/parquet.py"},
)


def _get(rec: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = rec
    for key in path:
        if value is None:
            return None
        value = value[key]
    return value


def _table(records: list[dict[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in SCHEMA.names}
    task_columns = [(columns[name], path) for name, _, path in _TASK_COLUMNS]
    critique_columns = [(columns[name], path) for name, _, path in _CRITIQUE_COLUMNS]
    numbers = columns["critique_number"]
    for rec in records:
        task_values = [_get(rec, path) for _, path in task_columns]
        critiques = rec["critiques"] or [None]
        for number, critique in enumerate(critiques, 1):
            for (col, _), value in zip(task_columns, task_values, strict=True):
                col.append(value)
            numbers.append(number if critique is not None else None)
            for col, path in critique_columns:
                col.append(None if critique is None else _get(critique, path))
    for name in _JSON_TEXT:
        columns[name] = [None if v is None else orjson.dumps(v).decode() for v in columns[name]]
    arrays = []
    for field in SCHEMA:
        if field.type == _TS:  # ISO 8601 strings, parsed by Arrow in C
            arrays.append(pa.array(columns[field.name], pa.string()).cast(_TS))
        elif field.name == "study":
            study = [None if v is None else orjson.dumps(v).decode() for v in columns["study"]]
            arrays.append(pa.array(study, pa.string()))
        else:
            arrays.append(pa.array(columns[field.name], field.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def write_parquet(lines: Iterable[bytes], path: Path) -> int:
    """Write the export's JSON lines as the flattened table; returns the number of tasks."""
    tasks = 0
    pending: list[dict[str, Any]] = []
    rows = 0
    with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
        for line in lines:
            rec = orjson.loads(line)
            pending.append(rec)
            rows += max(1, len(rec["critiques"]))
            tasks += 1
            if rows >= ROW_GROUP:
                writer.write_table(_table(pending))
                pending, rows = [], 0
        if pending or tasks == 0:
            writer.write_table(_table(pending))
    return tasks
