"""`critiquelab analyze --input FILE`: the analysis of an export file, and when a record in
it is not what the analysis reads (a hand-edited or corrupted file), an error that names the
file, the line and the field instead of a traceback.

The records are not checked one by one on the way in (that would cost the 1M-record
analysis seconds); only when the analysis fails is the file read again and each record
checked against the export record's model, to find the first one at fault.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.analysis.report import DEFAULT_SAMPLES, DEFAULT_SEED, analyze, read_export
from app.core.errors import AppError
from app.export.records import ExportRecord

# What reading a malformed record's value raises inside the analysis.
_BAD_VALUE = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def analyze_file(
    path: Path,
    experiment: int | None = None,
    seed: int = DEFAULT_SEED,
    samples: int = DEFAULT_SAMPLES,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    records = (
        r for r in read_export(path) if experiment is None or r["experiment_id"] == experiment
    )
    try:
        return analyze(records, seed, samples, progress)
    except _BAD_VALUE as exc:
        raise first_bad_record(path) or AppError(
            f"{path}: the analysis cannot read this export ({exc.__class__.__name__}: {exc})",
            field="file",
        ) from exc


def first_bad_record(path: Path) -> AppError | None:
    """The first line whose record is not a valid export record, as file:line and field."""
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                ExportRecord.model_validate_json(line, strict=True)
            except ValidationError as exc:
                error = exc.errors(include_url=False)[0]
                field = ".".join(str(part) for part in error["loc"]) or "record"
                return AppError(f"{path}:{lineno}: field {field!r}: {error['msg']}", field=field)
    return None
