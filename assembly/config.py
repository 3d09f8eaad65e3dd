"""Settings from the environment (prefix ASSEMBLY_); secrets generated in dev, refused in production."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from assembly.errors import ConfigurationError

# Values that must never sign anything in production (copied from docs or examples).
_DEFAULT_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "default"}
_SECRET_NAMES = ("secret_key", "id_hash_key")
_MIN_SECRET_LENGTH = 32
_MIN_DISTINCT = 10  # 32 random hex digits show 14 different ones on average, fewer than 10 about once in 10^4
_MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class Settings(BaseSettings):
    """All configuration. Nothing else reads os.environ for settings."""

    model_config = SettingsConfigDict(env_prefix="ASSEMBLY_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str | None = None
    # How long a statement waits for a lock before the request answers 503 (PostgreSQL lock_timeout,
    # SQLite busy timeout and this process's write gate), and how long one statement may run.
    db_lock_timeout_ms: int = Field(default=5_000, ge=100, le=600_000)
    db_statement_timeout_ms: int = Field(default=30_000, ge=1_000, le=3_600_000)
    # Server processes (`assembly serve`); more than one only on PostgreSQL (docs/operators.md).
    workers: int = Field(default=1, ge=1, le=64)
    # How often the job runner runs its round (closes, finalisations, checkpoints; assembly.jobs).
    jobs_interval_seconds: float = Field(default=60, ge=0.2, le=3600)
    site_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Signs session tokens (HS256) and CSRF tokens.
    secret_key: str | None = None
    # Keys the hashes of identity numbers (HMAC-SHA256): a leaked database does not reveal them.
    id_hash_key: str | None = None
    # The platform's Ed25519 log signing key, C2SP note form `PRIVATE+KEY+name+id+base64`
    # (`assembly audit keygen` makes one). Development generates var/log-signing.key.
    log_signing_key: str | None = None
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=7 * 24)
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # a register file (assembly register import)
    # Request bodies, refused with 413 before they are read (assembly.web.bodies): a JSON (or any
    # other) body; a form; a multipart form with files, in all (each file: at most 5 MB, checked too).
    body_max_json_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    body_max_form_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    body_max_upload_bytes: int = Field(default=32 * 1024 * 1024, ge=1024 * 1024)
    # The message gateway owner notices are POSTed to (assembly.notify.gateway); none: shown on the page only.
    sms_gateway_url: str | None = None
    sms_gateway_secret: str | None = None  # signs each POST (HMAC-SHA256); required with the URL
    # Addresses or networks of the reverse proxies whose X-Forwarded-For/-Proto are believed
    # ("127.0.0.1", "10.0.0.0/8, ::1"); empty: the headers are ignored and the peer's address is used.
    trusted_proxies: str = ""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'assembly.sqlite3').as_posix()}"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]


def _load_or_create_dev_secrets(var_dir: Path) -> dict[str, str]:
    """Random per-checkout secrets for development, kept in var/secrets.json (mode 0600)."""
    path = var_dir / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    else:
        stored = {}
    changed = False
    for name in _SECRET_NAMES:
        if not stored.get(name):
            stored[name] = secrets.token_urlsafe(48)
            changed = True
    if changed:
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(stored, handle)
    return stored


def looks_patterned(value: str) -> bool:
    """True for a secret a person made up rather than a random generator: few different characters
    (32 × `a`), a repeated block (`changemechangeme…`, `0123456789` × 4) or mostly runs
    (`abcdefgh…`, `12345678…`)."""
    if len(set(value)) < _MIN_DISTINCT:
        return True
    if any(value == (value[:period] * (len(value) // period + 1))[:len(value)]
           for period in range(1, len(value) // 2 + 1)):
        return True
    steps = [ord(b) - ord(a) for a, b in zip(value, value[1:], strict=False)]
    return sum(step in (-1, 0, 1) for step in steps) * 2 > len(steps)


def _weak_secret(name: str) -> ConfigurationError:
    return ConfigurationError(
        f"生产环境必须把 ASSEMBLY_{name.upper()} 设为至少 {_MIN_SECRET_LENGTH} 个随机字符（不能是示例值、重复或有规律的字符），"
        f"可用 {_MAKE_ONE} 生成 / ASSEMBLY_{name.upper()} must be set to a random value of at least "
        f"{_MIN_SECRET_LENGTH} characters in production (not an example, repeated or patterned): make one with {_MAKE_ONE}",
        code="missing_secret",
    )


def _strong(value: str | None) -> bool:
    value = value or ""
    return (value.strip().lower() not in _DEFAULT_SECRETS and len(value) >= _MIN_SECRET_LENGTH
            and not looks_patterned(value))


def _check_trusted_proxies(settings: Settings) -> None:
    for proxy in settings.trusted_proxy_list:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"ASSEMBLY_TRUSTED_PROXIES 只能列出反向代理的 IP 地址或网段（逗号分隔），“{proxy[:40]}”不是 / "
                f"ASSEMBLY_TRUSTED_PROXIES lists the reverse proxies' IP addresses or networks, comma-separated: "
                f"'{proxy[:40]}' is neither",
                code="trusted_proxies",
            ) from None


def check_secrets(settings: Settings) -> Settings:
    """Production refuses missing, default, short or patterned secrets, one key used for both
    purposes and a site URL without https; elsewhere the secrets are generated."""
    _check_trusted_proxies(settings)
    if settings.is_production:
        for name in _SECRET_NAMES:
            if not _strong(getattr(settings, name)):
                raise _weak_secret(name)
        if settings.secret_key == settings.id_hash_key:
            raise ConfigurationError(
                "ASSEMBLY_SECRET_KEY 与 ASSEMBLY_ID_HASH_KEY 不能相同，请各自生成一个随机值 / ASSEMBLY_SECRET_KEY and "
                f"ASSEMBLY_ID_HASH_KEY must differ: make each with {_MAKE_ONE}",
                code="same_secret",
            )
        if not settings.site_url.startswith("https://"):
            raise ConfigurationError(
                "生产环境的 ASSEMBLY_SITE_URL 必须以 https:// 开头（安全 Cookie 与 HSTS 依赖它），例如 "
                "https://assembly.example.cn / ASSEMBLY_SITE_URL must start with https:// in production "
                "(Secure cookies and HSTS depend on it), e.g. https://assembly.example.cn",
                code="site_url_not_https",
            )
        if settings.sms_gateway_url and (not settings.sms_gateway_url.startswith("https://")
                                         or not _strong(settings.sms_gateway_secret)):
            raise ConfigurationError(
                "生产环境的短信网关必须使用 https，并设置 ASSEMBLY_SMS_GATEWAY_SECRET（至少 32 个随机字符）"
                " / the message gateway needs an https URL and ASSEMBLY_SMS_GATEWAY_SECRET in production",
                code="gateway_config",
            )
        if not settings.database_url:
            raise ConfigurationError(
                "生产环境必须设置 ASSEMBLY_DATABASE_URL / ASSEMBLY_DATABASE_URL is required in production",
                code="missing_database_url",
            )
        return settings
    missing = [name for name in _SECRET_NAMES if not getattr(settings, name)]
    if missing:
        generated = _load_or_create_dev_secrets(settings.var_dir)
        settings = settings.model_copy(update={name: generated[name] for name in missing})
    return settings


def refuse_demo_in_production(settings: Settings, *, demo_if_empty: bool) -> None:
    """`serve --demo-if-empty` loads a made-up estate with known logins: never in production."""
    if demo_if_empty and settings.is_production:
        raise ConfigurationError(
            "生产环境不能使用 --demo-if-empty（示范小区只用于试用），请去掉该选项 / --demo-if-empty loads the demo "
            "estate and is refused in production: start with `assembly serve` without it",
            code="demo_in_production",
        )


@lru_cache
def get_settings() -> Settings:
    return check_secrets(Settings())
