import pytest
from pydantic import ValidationError

from app.core.settings import Settings


def test_placeholder_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="CRITIQUELAB_SECRET_KEY"):
        Settings(environment="production", secret_key="change-me", export_salt="x" * 16)


def test_placeholder_secret_is_allowed_in_development() -> None:
    assert Settings(environment="development", secret_key="change-me").secret_key == "change-me"


@pytest.mark.parametrize("url", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_postgres_urls_are_normalised_to_psycopg(url: str) -> None:
    s = Settings(database_url=url)
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert not s.is_sqlite


def test_settings_read_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITIQUELAB_MODEL_URL", "http://gpu:8000/v1")
    monkeypatch.setenv("CRITIQUELAB_MODEL_NAME", "critic")
    s = Settings()
    assert (s.model_url, s.model_name) == ("http://gpu:8000/v1", "critic")
