"""TOTP second factor (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 30-second steps, 6 digits.

The shared secret must be read back to check a code, so it is stored encrypted (AES-GCM under a key
derived from ASSEMBLY_SECRET_KEY): a copy of the database alone does not let anyone make codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
from datetime import datetime
from urllib.parse import quote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # accept the previous and the next step: phone clocks drift
ISSUER = "业主共同决策平台"


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226 §5.3: dynamic truncation of HMAC(secret, counter)."""
    mac = hmac.new(secret, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    code = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 10**digits:0{digits}d}"


def time_step(at: datetime | float) -> int:
    seconds = at.timestamp() if isinstance(at, datetime) else at
    return int(seconds // STEP_SECONDS)


def totp(secret: bytes, at: datetime | float, *, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    return hotp(secret, time_step(at), digits=digits, digest=digest)


def matching_step(secret: bytes, code: str, at: datetime, *, after_step: int | None = None) -> int | None:
    """The time step whose code is `code` (within the window), if later than `after_step` (no replay)."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = time_step(at)
    found = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        if hmac.compare_digest(hotp(secret, step), code) and (after_step is None or step > after_step):
            found = step
    return found


def new_secret() -> bytes:
    return secrets.token_bytes(20)  # 160 bits, RFC 4226 §4 recommendation


def secret_base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def secret_from_base32(text: str) -> bytes:
    text = text.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def provisioning_uri(secret: bytes, *, account: str, issuer: str = ISSUER) -> str:
    """otpauth:// URI for authenticator apps (Google Authenticator key URI format)."""
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?secret={secret_base32(secret)}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP_SECONDS}"


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"assembly/totp-secret/v1", hashlib.sha256).digest()


def seal(secret: bytes, *, secret_key: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, secret, b"totp")
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(stored: str, *, secret_key: str) -> bytes | None:
    """The secret, or None when it cannot be opened (other key, damaged value)."""
    try:
        version, payload = stored.split(":", 1)
        raw = base64.urlsafe_b64decode(payload)
        if version != "v1" or len(raw) < 13:
            return None
        return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], b"totp")
    except (ValueError, InvalidTag):
        return None
