"""Reading an import file into validated records, or one error naming line and field."""

import io
import json
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from app.core.validation import json_problems
from app.corpus.records import NativeRecord, PaperRecord

Progress = Callable[[int, int], None]


class ImportFormat(StrEnum):
    native = "native"
    paper = "paper"


RECORD_TYPES: dict[ImportFormat, type[BaseModel]] = {
    ImportFormat.native: NativeRecord,
    ImportFormat.paper: PaperRecord,
}


class ImportFileError(Exception):
    """A bad import file; nothing from it is stored."""

    def __init__(self, filename: str, line: int | None, field: str | None, message: str) -> None:
        self.filename, self.line, self.field, self.message = filename, line, field, message
        where = (
            filename + (f", line {line}" if line else "") + (f", field {field}" if field else "")
        )
        super().__init__(f"{where}: {message}")


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys without a word; which one the author
    # meant is unknowable, so the file is refused.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def parse_records(
    source: Path | bytes,
    fmt: ImportFormat,
    max_text_chars: int,
    progress: Progress | None = None,
    display_name: str | None = None,
) -> list[tuple[int, BaseModel]]:
    """Validate every line of a file (or of an upload's bytes) first, so a bad line anywhere
    stores nothing."""
    name = display_name or (source.name if isinstance(source, Path) else "upload")
    record_type = RECORD_TYPES[fmt]
    lines = list(_read_lines(source, name))
    total = len(lines)
    records: list[tuple[int, BaseModel]] = []
    for done, (lineno, raw) in enumerate(lines, 1):
        try:
            document = json.loads(raw, object_pairs_hook=_refuse_duplicate_keys)
            problems = list(json_problems(document))
        except DuplicateKey as exc:
            raise ImportFileError(name, lineno, exc.key, f"duplicate key {exc.key!r}") from exc
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                name, lineno, None, f"malformed JSON: {exc.msg} (column {exc.colno})"
            ) from exc
        except RecursionError as exc:
            raise ImportFileError(name, lineno, None, "malformed JSON: nested too deeply") from exc
        except ValueError as exc:  # e.g. a number of more than 4,300 digits
            raise ImportFileError(name, lineno, None, f"malformed JSON: {exc}") from exc
        # What the database cannot store (NUL, lone surrogates, numbers beyond 32 bits,
        # nan/inf), named by line and field before anything is written.
        for field, problem in problems[:1]:
            raise ImportFileError(name, lineno, field or None, problem)
        try:
            record = record_type.model_validate_json(raw, strict=True)
        except RecursionError as exc:
            raise ImportFileError(name, lineno, None, "a record is nested too deeply") from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
            raise ImportFileError(
                name, lineno, _loc(err["loc"]) or None, err["msg"] + more
            ) from exc
        passage = record.passage if isinstance(record, NativeRecord) else record.data.passage  # type: ignore[attr-defined]
        field = "passage.text" if isinstance(record, NativeRecord) else "data.passage.text"
        if len(passage.text) > max_text_chars:
            raise ImportFileError(
                name,
                lineno,
                field,
                f"text of {len(passage.text)} characters is over the limit of {max_text_chars}",
            )
        records.append((lineno, record))
        if progress and (done % 50 == 0 or done == total):
            progress(done, total)
    if not records:
        raise ImportFileError(name, None, None, "the file holds no records")
    return records


def _read_lines(source: Path | bytes, name: str) -> Iterator[tuple[int, str]]:
    try:
        with source.open("rb") if isinstance(source, Path) else io.BytesIO(source) as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ImportFileError(
                        name, lineno, None, f"not UTF-8 text: {exc.reason} at byte {exc.start + 1}"
                    ) from exc
                if line.strip():
                    yield lineno, line
    except OSError as exc:
        raise ImportFileError(name, None, None, f"cannot read the file: {exc.strerror}") from exc
