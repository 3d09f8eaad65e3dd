"""Settings: secrets generated for development, refused when missing or default in production."""

from __future__ import annotations

import json
import stat

import pytest

from assembly.config import Settings, check_secrets
from assembly.errors import ConfigurationError

STRONG = "s" * 48


def test_development_generates_and_keeps_random_secrets(tmp_path):
    first = check_secrets(Settings(env="development", var_dir=tmp_path, secret_key=None, id_hash_key=None))
    second = check_secrets(Settings(env="development", var_dir=tmp_path, secret_key=None, id_hash_key=None))
    assert first.secret_key and len(first.secret_key) >= 32
    assert first.secret_key != first.id_hash_key
    assert (first.secret_key, first.id_hash_key) == (second.secret_key, second.id_hash_key)
    stored = tmp_path / "secrets.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text())["secret_key"] == first.secret_key


def test_different_checkouts_get_different_secrets(tmp_path):
    one = check_secrets(Settings(env="development", var_dir=tmp_path / "a", secret_key=None, id_hash_key=None))
    two = check_secrets(Settings(env="development", var_dir=tmp_path / "b", secret_key=None, id_hash_key=None))
    assert one.secret_key != two.secret_key


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-random-1234"])
def test_production_refuses_missing_default_or_short_secret(tmp_path, secret):
    settings = Settings(
        env="production", var_dir=tmp_path, secret_key=secret, id_hash_key=STRONG, database_url="postgresql://x/y"
    )
    with pytest.raises(ConfigurationError) as raised:
        check_secrets(settings)
    assert "ASSEMBLY_SECRET_KEY" in raised.value.message
    assert not (tmp_path / "secrets.json").exists()


def test_production_requires_a_database_url(tmp_path):
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        check_secrets(Settings(env="production", var_dir=tmp_path, secret_key=STRONG, id_hash_key=STRONG))


def test_production_accepts_strong_secrets(tmp_path):
    settings = Settings(
        env="production", var_dir=tmp_path, secret_key=STRONG, id_hash_key="h" * 40, database_url="postgresql://x/y"
    )
    assert check_secrets(settings).secret_key == STRONG


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSEMBLY_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.sqlite3"))
    monkeypatch.setenv("ASSEMBLY_PORT", "9123")
    settings = Settings()
    assert settings.resolved_database_url.endswith("x.sqlite3")
    assert settings.port == 9123


def test_default_database_is_sqlite_under_var(tmp_path):
    settings = Settings(var_dir=tmp_path, database_url=None)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/assembly.sqlite3"
