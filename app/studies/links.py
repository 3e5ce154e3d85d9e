"""Study links and participant ids.

A study link is `/join/{study_id}?expires=TS&sig=HMAC`: the signature covers the study and
the expiry under CRITIQUELAB_SECRET_KEY, so a changed id or expiry is refused, and the
study row's own expiry still decides. The recruitment platform appends its parameters
(PROLIFIC_PID, STUDY_ID, SESSION_ID, or the names configured for the platform).

A participant id is stored only as an HMAC under the same secret, with the platform's name,
so the same id always finds the same account and the database alone cannot be read back to
platform ids."""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from app.core.settings import get_settings


@dataclass(frozen=True)
class Platform:
    participant: str
    study: str | None
    session: str | None


# Presets for the admin's form; any names may be given instead.
PLATFORMS = {
    "prolific": Platform("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    "mturk": Platform("workerId", "hitId", "assignmentId"),
    "custom": Platform("participant", None, None),
}


def _mac(label: str, message: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{label}\x00{message}".encode(), hashlib.sha256).hexdigest()


def signature(study_id: int, expires: int) -> str:
    return _mac("study-link", f"{study_id}:{expires}")[:32]


def link_path(study_id: int, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "sig": signature(study_id, expires)})
    return f"/join/{study_id}?{query}"


def signed(study_id: int, expires: int, sig: str) -> bool:
    return hmac.compare_digest(signature(study_id, expires), sig)


def participant_hash(platform: str, participant_id: str) -> str:
    return _mac("participant", f"{platform}:{participant_id}")
