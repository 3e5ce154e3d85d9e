"""The export on PostgreSQL: the server builds every JSON line, read by a streaming cursor.

One ordered statement over submitted tasks; each task's critiques, assistance, review and
integrity (provenance, check, exclusion) come from index lookups beside it (LATERAL), as `array_to_json(array_agg(...))` (json_agg
puts a newline between elements). A record is `row_to_json` of a row whose
columns are named and ordered as ExportRecord's fields (cheaper than `json_build_object`).
A server-side cursor hands them over 2,000 at a time, in task order, so memory stays flat
and Python does next to no work per line.
Timestamps are written by PostgreSQL in UTC (the transaction's TimeZone), in the ISO 8601
form orjson writes.

Floats with no fractional part come out as JSON integers (`1`, not `1.0`): both are the
JSON Schema's `number`, and JSON readers give the same value.
"""

from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.export.records import SCHEMA_VERSION
from app.studies.export import STUDY_LATERAL

# {where} is the task filter; the labeler pseudonyms come in as two parallel arrays.
_RECORDS = """
SELECT convert_to(row_to_json(rec)::text, 'UTF8') FROM (
SELECT
    '{version}' AS schema_version,
    t.id AS task_id,
    t.experiment_id,
    l.name AS labeler,
    p.id AS passage_id,
    p.title AS passage_title,
    p.text AS passage_text,
    q.id AS question_id,
    q.text AS question_text,
    a.id AS answer_id,
    a.text AS answer_text,
    a.source AS answer_source,
    a.temperature AS answer_temperature,
    a.model_name AS answer_model_name,
    c.source || CASE WHEN c.assist THEN '/assist' ELSE '/no_assist' END AS condition,
    c.assist,
    COALESCE(shown.items, '[]'::json) AS assistance,
    s.critiqueability_score,
    COALESCE(lc.items, '[]'::json) AS critiques,
    r.value AS rating,
    (SELECT row_to_json(tm) FROM (SELECT
        t.assigned_at,
        t.opened_at,
        t.first_edit_at,
        t.passage_revealed_at,
        t.submitted_at,
        EXTRACT(EPOCH FROM t.submitted_at - COALESCE(t.opened_at, t.assigned_at))::float8 AS duration_s,
        t.active_time_s) tm) AS timing,
    COALESCE(ic.items, '[]'::json) AS intended_critiques,
    CASE WHEN rv.id IS NULL THEN NULL ELSE json_build_object(
        'review_id', rv.id,
        'submitted_at', rv.submitted_at,
        'reviewer_is_author', rv.reviewer_id IS NOT DISTINCT FROM a.author_id,
        'author_permission', rv.author_permission,
        'covered_intended_ids', COALESCE(cov.ids, '[]'::json)
    ) END AS review,
    json_build_object(
        'provenance', CASE WHEN tp.task_id IS NULL THEN NULL ELSE json_build_object(
            'away_s', tp.away_s, 'departures', tp.departures) END,
        'checked', ti.task_id IS NOT NULL,
        'flags', ti.flags,
        'evidence', ti.evidence,
        'excluded', ex.reason IS NOT NULL,
        'exclusion', CASE WHEN ex.reason IS NULL THEN NULL ELSE json_build_object(
            'scope', ex.scope, 'reason', ex.reason, 'excluded_at', ex.created_at) END
    ) AS integrity
    , st.study
FROM tasks t
JOIN conditions c ON c.id = t.condition_id
JOIN answers a ON a.id = t.answer_id
JOIN questions q ON q.id = t.question_id
JOIN passages p ON p.id = t.passage_id
JOIN ratings r ON r.task_id = t.id
LEFT JOIN unnest(%(labeler_ids)s::int[], %(labeler_names)s::text[]) AS l(id, name)
    ON l.id = t.labeler_id
LEFT JOIN assistance_sets s ON s.id = t.assistance_set_id
LEFT JOIN task_provenance tp ON tp.task_id = t.id
LEFT JOIN task_integrity ti ON ti.task_id = t.id
LEFT JOIN LATERAL (
    SELECT e.reason, e.created_at, CASE WHEN e.task_id IS NULL THEN 'labeler' ELSE 'task' END AS scope
    FROM integrity_exclusions e
    WHERE e.experiment_id = t.experiment_id AND e.lifted_at IS NULL
        AND (e.task_id = t.id OR e.labeler_id = t.labeler_id)
    ORDER BY e.id LIMIT 1
) ex ON true
LEFT JOIN intended_critique_reviews rv
    ON rv.experiment_id = t.experiment_id AND rv.answer_id = a.id
    AND rv.status = 'submitted' AND a.source = 'human_misleading'
LEFT JOIN LATERAL (
    SELECT array_to_json(array_agg(o ORDER BY x.position)) AS items
    FROM labeler_critiques x
    LEFT JOIN (
        review_judgements j JOIN intended_critique_reviews jr
            ON jr.id = j.review_id AND jr.status = 'submitted'
    ) ON j.labeler_critique_id = x.id
    CROSS JOIN LATERAL (SELECT
        x.id,
        x.text,
        x.severity,
        x.category,
        x.category_text,
        x.assistance_critique_id AS used_assistance_id,
        x.edited,
        x.edit_distance,
        j.valid AS review_valid,
        j.novel AS review_novel,
        tp.critiques -> x.id::text AS provenance,
        (ti.similarity -> x.id::text ->> 'model_critique_id')::int AS closest_model_critique_id,
        (ti.similarity -> x.id::text ->> 'similarity')::float8 AS model_similarity,
        x.quote_of,
        x.quote_start,
        x.quote_end) o
    WHERE x.task_id = t.id
) lc ON true
LEFT JOIN LATERAL (
    SELECT array_to_json(array_agg(json_build_object(
        'id', y.id,
        'text', y.text,
        'temperature', y.temperature,
        'helpfulness_score', y.helpfulness_score,
        'score_missing_reason', y.score_missing_reason,
        'rank', y.rank,
        'model_name', y.model_name,
        'prompt_format', y.prompt_format
    ) ORDER BY y.rank)) AS items
    FROM assistance_critiques y
    WHERE t.assistance_set_id IS NOT NULL AND y.assistance_set_id = t.assistance_set_id
) shown ON true
LEFT JOIN LATERAL (
    SELECT array_to_json(array_agg(json_build_object(
        'id', z.id,
        'position', z.position,
        'text', z.text,
        'severity', z.severity,
        'category', z.category,
        'category_text', z.category_text
    ) ORDER BY z.position)) AS items
    FROM intended_critiques z
    WHERE a.source = 'human_misleading' AND z.answer_id = a.id
) ic ON true
LEFT JOIN LATERAL (
    SELECT array_to_json(array_agg(v.intended_critique_id ORDER BY v.intended_critique_id)) AS ids
    FROM review_coverages v
    WHERE rv.id IS NOT NULL AND v.task_id = t.id
) cov ON true
{study}
WHERE t.status = 'submitted' {where}
ORDER BY t.id
) rec
ORDER BY rec.task_id
""".replace("{version}", SCHEMA_VERSION).replace("{study}", STUDY_LATERAL)


def record_chunks(
    session: Session, names: dict[int, str], experiment_id: int | None, batch: int = 2000
) -> Iterator[bytes]:
    """Chunks of whole JSON lines (each chunk ends with a newline), in task order."""
    where = "AND t.experiment_id = %(experiment_id)s" if experiment_id is not None else ""
    params = {
        "labeler_ids": list(names),
        "labeler_names": list(names.values()),
        "experiment_id": experiment_id,
    }
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    with dbapi.cursor() as cur:
        # JIT compiling this statement costs more than it saves; a parallel plan sorts on
        # disk before its first row, where the plain index-ordered plan streams at once.
        for setting in ("TimeZone = 'UTC'", "jit = off", "max_parallel_workers_per_gather = 0"):
            cur.execute(f"SET LOCAL {setting}")
    # A server-side cursor in binary: each line arrives as the bytes of its UTF-8 text, with
    # no decoding or escaping. (COPY TO STDOUT was no faster, and a COPY abandoned halfway
    # leaves the connection unusable until it is read to the end.)
    with dbapi.cursor(name="critiquelab_export", binary=True) as cur:
        cur.itersize = batch
        cur.execute(_RECORDS.replace("{where}", where), params)
        while rows := cur.fetchmany(batch):
            yield b"\n".join([r[0] for r in rows]) + b"\n"
