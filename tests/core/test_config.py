"""Settings: secrets generated for development, refused when missing or default in production."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from assembly import config
from assembly.cli import app
from assembly.config import Settings, check_secrets
from assembly.errors import ConfigurationError

STRONG = "Jx3vQ9_tR7mKp2LwZ8nYb4HcF6dGs1Ae"  # made once with secrets.token_urlsafe(24)
OTHER = "u0Wq8rXz5NkT3yVb_9mLc2PfH7jDs4Ga6EoR"
SITE = "https://assembly.example.cn"


def _production(tmp_path, **update) -> Settings:
    values = {"env": "production", "var_dir": tmp_path, "secret_key": STRONG, "id_hash_key": OTHER,
              "database_url": "postgresql://x/y", "site_url": SITE} | update
    return Settings(**values)


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
    with pytest.raises(ConfigurationError) as raised:
        check_secrets(_production(tmp_path, secret_key=secret))
    assert "ASSEMBLY_SECRET_KEY" in raised.value.message
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize("secret", ["a" * 32, "changeme" * 5, "changemechangemechangemechangeme!", "0123456789" * 4,
                                    "abcdefghijklmnopqrstuvwxyz0123456789", "s" * 48, "ab" * 24, "Qw3rTy" * 6])
@pytest.mark.parametrize("name", ["secret_key", "id_hash_key"])
def test_production_refuses_low_entropy_or_patterned_secrets(tmp_path, secret, name):
    """Issue #22: 32 × `a` and `changemechangeme…` were accepted as production keys."""
    with pytest.raises(ConfigurationError) as raised:
        check_secrets(_production(tmp_path, **{name: secret}))
    assert raised.value.code == "missing_secret" and f"ASSEMBLY_{name.upper()}" in raised.value.message
    assert "token_urlsafe" in raised.value.message  # it says how to make a good one


def test_production_refuses_the_same_key_for_both_purposes(tmp_path):
    with pytest.raises(ConfigurationError) as raised:
        check_secrets(_production(tmp_path, id_hash_key=STRONG))
    assert raised.value.code == "same_secret" and "ASSEMBLY_ID_HASH_KEY" in raised.value.message


@pytest.mark.parametrize("site_url", ["http://assembly.example.cn", "http://127.0.0.1:8000", "assembly.example.cn"])
def test_production_refuses_a_site_url_without_https(tmp_path, site_url):
    with pytest.raises(ConfigurationError) as raised:
        check_secrets(_production(tmp_path, site_url=site_url))
    assert raised.value.code == "site_url_not_https" and "ASSEMBLY_SITE_URL" in raised.value.message


def test_production_refuses_a_patterned_gateway_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="SMS_GATEWAY_SECRET"):
        check_secrets(_production(tmp_path, sms_gateway_url="https://sms.example.cn", sms_gateway_secret="x" * 40))


def test_production_requires_a_database_url(tmp_path):
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        check_secrets(_production(tmp_path, database_url=None))


def test_production_accepts_strong_secrets(tmp_path):
    assert check_secrets(_production(tmp_path)).secret_key == STRONG
    hex_keys = _production(tmp_path, secret_key="9f2c4e81b07d3a56e1c8f49a2b7d60e3", id_hash_key=OTHER)
    assert check_secrets(hex_keys).secret_key.startswith("9f2c")  # `openssl rand -hex 16` passes


def test_serve_refuses_the_demo_in_production(monkeypatch, tmp_path):
    """Issue #22: `assembly serve --demo-if-empty` loaded the demo estate in production."""
    for name, value in {"ENV": "production", "SECRET_KEY": STRONG, "ID_HASH_KEY": OTHER, "SITE_URL": SITE,
                        "DATABASE_URL": "sqlite:///" + str(tmp_path / "never.sqlite3")}.items():
        monkeypatch.setenv(f"ASSEMBLY_{name}", value)
    config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--demo-if-empty"])
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
    assert result.exit_code == 1 and "--demo-if-empty" in result.output
    assert not (tmp_path / "never.sqlite3").exists()  # refused before migrating or serving anything


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSEMBLY_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.sqlite3"))
    monkeypatch.setenv("ASSEMBLY_PORT", "9123")
    settings = Settings()
    assert settings.resolved_database_url.endswith("x.sqlite3")
    assert settings.port == 9123


def test_default_database_is_sqlite_under_var(tmp_path):
    settings = Settings(var_dir=tmp_path, database_url=None)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/assembly.sqlite3"


@pytest.mark.parametrize("proxies", ["*", "proxy.local", "127.0.0.1, 10.0.0.0/33"])
def test_trusted_proxies_are_addresses_or_networks(tmp_path, proxies):
    with pytest.raises(ConfigurationError) as raised:
        check_secrets(Settings(env="development", var_dir=tmp_path, trusted_proxies=proxies))
    assert raised.value.code == "trusted_proxies" and "ASSEMBLY_TRUSTED_PROXIES" in raised.value.message
    assert check_secrets(Settings(env="development", var_dir=tmp_path, trusted_proxies="127.0.0.1, fd00::/8"))
