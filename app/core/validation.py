"""The one place where hostile values are refused, used by every form and API schema.

PostgreSQL refuses what Python accepts: integers beyond 32 bits (every id and count column
is `integer`), NUL characters in text, and strings that are not valid Unicode (a lone
UTF-16 surrogate from a JSON "\\ud800" escape). Floats may be nan, inf or so large that
arithmetic on them overflows. Each must be a 4xx at the edge, never a 500 from the database
or, worse, a stored value that breaks its own page. The types below say so in schemas; the
edge guard (app/core/edge.py) applies the same checks to every route by default.
"""

import math
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from app.core.settings import get_settings

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "must not contain NUL (\\x00) characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone UTF-16 surrogate)"
    return None


def number_problem(value: Any) -> str | None:
    """Why a JSON number cannot be used here, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT32_MIN <= value <= INT32_MAX:
        return f"must be between {INT32_MIN} and {INT32_MAX}"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None


def json_problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field, problem) for each value in a parsed JSON document that cannot be stored;
    fields are dotted paths, e.g. questions.0.answers.1.text."""
    if isinstance(value, str):
        if problem := text_problem(value):
            yield path, problem
    elif isinstance(value, dict):
        for k, v in value.items():
            if problem := text_problem(k):
                yield path, f"a key {problem}"
            yield from json_problems(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from json_problems(v, f"{path}.{i}" if path else str(i))
    elif problem := number_problem(value):
        yield path, problem


def _clean(value: str) -> str:
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _limit(setting: str) -> AfterValidator:
    """At most get_settings().<setting> characters, read when a value is checked."""

    def check(value: str) -> str:
        limit = int(getattr(get_settings(), setting))
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters (got {len(value)})")
        return value

    return AfterValidator(check)


SafeStr = Annotated[str, AfterValidator(_clean)]
NameStr = Annotated[str, AfterValidator(_clean), _limit("max_name_chars")]
CritiqueText = Annotated[str, AfterValidator(_clean), _limit("max_critique_chars")]
AnswerText = Annotated[str, AfterValidator(_clean), _limit("max_answer_chars")]
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
DbId = Annotated[int, Field(ge=1, le=INT32_MAX)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
