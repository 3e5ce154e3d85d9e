"""Idempotency-Key for writes a client may retry (submit, add a critique).

The first request with a key runs and its response is stored in the same transaction as
its writes; a retry with the same key (same user, same method and path) gets that stored
response and writes nothing. The caller locks the object first (get_for_update), so two
copies of one request arriving together run one after the other and the second replays.
A request that failed stored nothing, so its retry runs again. The same key with a
different body is refused (409): it is a client bug, not a retry.
"""

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict
from app.core.settings import get_settings
from app.models import IdempotencyRecord

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string per logical request (e.g. a UUID); retries reuse it.",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"


def run_once(
    session: Session,
    request: Request,
    user_id: int,
    key: str | None,
    body: BaseModel | None,
    status_code: int,
    run: Callable[[], Any],
) -> JSONResponse:
    """run()'s result as JSON, or the stored response of the first request with this key."""
    if key is None:
        return JSONResponse(jsonable_encoder(run()), status_code=status_code)
    route = f"{request.method} {request.url.path}"
    digest = hashlib.sha256(body.model_dump_json().encode() if body else b"").hexdigest()
    expired = datetime.now(UTC) - timedelta(seconds=get_settings().idempotency_ttl_s)
    params = {"user_id": user_id, "route": route, "key": key}
    conn = session.connection()
    stored = conn.execute(_FIND, params).first()
    if stored is not None and stored.created_at < expired:
        # An expired key is free again: forget its record, run as a first request.
        conn.execute(_FORGET, {"id": stored.id})
        stored = None
    if stored is not None:
        if stored.request_hash != digest:
            raise Conflict(
                "this Idempotency-Key was already used with a different request",
                field="Idempotency-Key",
            )
        return JSONResponse(
            stored.response, status_code=stored.status_code, headers={REPLAYED_HEADER: "true"}
        )
    response = jsonable_encoder(run())
    record = {"request_hash": digest, "status_code": status_code, "response": response}
    session.connection().execute(_STORE, params | record)
    return JSONResponse(response, status_code=status_code)


# Core statements built once: submit, on the labeling loop's hot path, runs them (no
# record objects to load or flush).
_R = IdempotencyRecord
_FIND = select(_R.id, _R.created_at, _R.request_hash, _R.status_code, _R.response).where(
    _R.user_id == bindparam("user_id"), _R.route == bindparam("route"), _R.key == bindparam("key")
)
_FORGET = delete(_R).where(_R.id == bindparam("id"))
_STORE = insert(_R)
