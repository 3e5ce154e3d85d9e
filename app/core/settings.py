"""Typed settings, read from CRITIQUELAB_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRITIQUELAB_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'critiquelab.sqlite3'}"
    secret_key: str = PLACEHOLDER_SECRET
    # Keys the hash that pseudonymises labeler ids in exports; separate from the session key
    # so rotating sessions does not change published pseudonyms.
    export_salt: str = PLACEHOLDER_SECRET

    model_url: str = "http://127.0.0.1:8001/v1"
    model_name: str = "smollm2-135m-instruct"
    prompt_format: Literal["paper", "chat"] = "chat"
    model_timeout_s: float = Field(default=300.0, gt=0)
    model_retries: int = Field(default=2, ge=0)
    # Longest critique the model may write (tokens); the paper's critiques are a sentence or two.
    critique_max_tokens: int = Field(default=96, ge=1)
    # While the model backend is unreachable the worker counts no attempts: it probes the
    # backend's health, first after model_probe_first_s, doubling up to model_probe_max_s.
    model_probe_first_s: float = Field(default=1.0, gt=0)
    model_probe_max_s: float = Field(default=30.0, gt=0)
    # Timeout of one health probe (worker, admin page, the app's /health).
    model_health_timeout_s: float = Field(default=3.0, gt=0)
    # A running job's lease: its worker renews it every job_heartbeat_s; a job whose lease
    # ran out (its worker died) is taken by another worker, with no attempt counted.
    job_lease_s: float = Field(default=30.0, gt=0)
    job_heartbeat_s: float = Field(default=10.0, gt=0)
    # A file the worker touches at every poll and lease renewal, for a container healthcheck
    # (docker-compose.yml); none by default.
    worker_heartbeat_file: Path | None = None

    # Sessions (docs/security.md): a session ends session_max_age_s after login (absolute)
    # or session_idle_timeout_s after its last request, whichever comes first.
    session_max_age_s: int = Field(default=14 * 24 * 3600, ge=60)
    session_idle_timeout_s: int = Field(default=12 * 3600, ge=60)
    # The site's address as users see it (e.g. https://critiquelab.example.org); https here
    # makes cookies Secure.
    public_url: str | None = None
    # None: Secure cookies (and HSTS) when environment is production or public_url is https.
    secure_cookies: bool | None = None
    # API tokens expire this many days after they are made, unless told otherwise.
    api_token_days: int = Field(default=90, ge=1, le=3650)
    # Login throttling, per username and per client address: after login_slow_after failures
    # in login_window_s each further try waits 2^(n - slow_after) s (up to a minute); at
    # login_max_failures the key is locked for login_lockout_s. A successful login resets it.
    login_window_s: int = Field(default=300, ge=1)
    login_slow_after: int = Field(default=5, ge=1)
    login_max_failures: int = Field(default=10, ge=1)
    login_lockout_s: int = Field(default=300, ge=1)
    # Passages longer than this are rejected at import (characters, ~12k tokens).
    max_text_chars: int = Field(default=50_000, ge=1)
    # Limits on what one request may carry (docs/security.md). Bodies over a limit get 413
    # before they are read whole; fields over one get 422 before the database sees them.
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)  # JSON and form bodies
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)  # multipart (imports)
    max_critiques_per_task: int = Field(default=100, ge=1)
    max_critique_chars: int = Field(default=5_000, ge=1)
    max_answer_chars: int = Field(default=20_000, ge=1)  # answers and writing drafts
    max_name_chars: int = Field(default=200, ge=1)  # experiment names, reasons, short texts
    # How long a write's Idempotency-Key is remembered (a retry after that runs again).
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    severity_labels: tuple[str, str, str, str] = ("minor", "moderate", "major", "critical")

    # Study integrity flags (issue 21, docs/privacy.md). A task is flagged when its critiques
    # are mostly pasted (share of pasted characters, and at least this many pasted); in a
    # no-assist task, when a critique is a near copy of one of the answer's model critiques
    # (similarity 0-1, app/integrity/similarity.py) or the page was away (hidden or unfocused)
    # this long; and when typing runs faster than people type (characters per second of
    # typing time, over at least this many typed characters).
    integrity_pasted_share: float = Field(default=0.5, gt=0, le=1)
    integrity_pasted_min_chars: int = Field(default=40, ge=0)
    integrity_near_copy_similarity: float = Field(default=0.8, gt=0, le=1)
    integrity_away_s: float = Field(default=120.0, gt=0)
    integrity_max_chars_per_s: float = Field(default=15.0, gt=0)
    integrity_typing_min_chars: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        if self.environment != "development" and PLACEHOLDER_SECRET in (
            self.secret_key,
            self.export_salt,
        ):
            raise ValueError(
                "CRITIQUELAB_SECRET_KEY and CRITIQUELAB_EXPORT_SALT must be set outside "
                "development (they are still the placeholder)"
            )
        return self

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        public = (self.public_url or "").lower()
        return self.environment == "production" or public.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _normalise_database_url(self) -> "Settings":
        # Accept the common postgres:// and postgresql:// spellings; we drive psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if self.database_url.startswith(prefix):
                self.database_url = "postgresql+psycopg://" + self.database_url[len(prefix) :]
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
