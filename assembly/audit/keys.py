"""The platform's log signing key: one Ed25519 seed, one signer name per estate log (its origin).

The private key comes from ASSEMBLY_LOG_SIGNING_KEY (production refuses to start without it)
or, in development, from var/log-signing.key, generated on first use. Only verifier keys enter
the database (audit_key), so that exports can list every key that ever signed.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from assembly.audit.note import ED25519, Ed25519Signer, NoteError, generate_key, new_signer, parse_signer_key
from assembly.config import Settings
from assembly.errors import ConfigurationError

DEV_KEY_NAME = "assembly-dev"


def seed_from_key_text(skey: str) -> bytes:
    """The 32-byte seed of a `PRIVATE+KEY+name+hexid+base64(0x01 || seed)` key text, checked."""
    try:
        new_signer(skey)  # checks the key id against the key
        return parse_signer_key(skey, ED25519)[2]
    except NoteError as error:
        raise ConfigurationError(
            f"日志签名密钥无效 / the log signing key is not valid: {error}", code="bad_log_key"
        ) from None


def _dev_key(var_dir: Path) -> str:
    path = var_dir / "log-signing.key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        skey, _vkey = generate_key(DEV_KEY_NAME)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(skey + "\n")
    return path.read_text(encoding="ascii").strip()


@lru_cache(maxsize=8)
def _seed(key_text: str) -> bytes:
    return seed_from_key_text(key_text)


def platform_seed(settings: Settings) -> bytes:
    if settings.log_signing_key:
        return _seed(settings.log_signing_key)
    if settings.is_production:
        raise ConfigurationError(
            "生产环境必须设置 ASSEMBLY_LOG_SIGNING_KEY（用 assembly audit keygen 生成）/ "
            "ASSEMBLY_LOG_SIGNING_KEY is required in production (make one with `assembly audit keygen`)",
            code="missing_log_key",
        )
    return _seed(_dev_key(settings.var_dir))


def log_signer(settings: Settings, origin: str) -> Ed25519Signer:
    """The signer of one estate's checkpoints: the platform key under the log's origin name."""
    return Ed25519Signer(origin, platform_seed(settings))
