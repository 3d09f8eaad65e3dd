"""Random tokens and what is kept of them: card tokens, session ids, signed session cookies, CSRF.

High-entropy values are random and prefixed; the database keeps only their SHA-256. The session
cookie is a JWT (HS256 only, `aud`, `exp`, `iat`, `sid` required) naming a server-side session row.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import jwt

CARD_TOKEN_PREFIX = "ac_"
CARD_TOKEN_BYTES = 20  # 160 bits
CARD_TOKEN_RE = re.compile(r"^ac_[A-Za-z0-9_-]{22,64}$")
SESSION_ID_BYTES = 32
JWT_ALGORITHM = "HS256"
JWT_AUDIENCE = "assembly:session"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_card_token() -> str:
    return CARD_TOKEN_PREFIX + secrets.token_urlsafe(CARD_TOKEN_BYTES)


def looks_like_card_token(value: str) -> bool:
    return bool(CARD_TOKEN_RE.fullmatch(value or ""))


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def _derived(secret_key: str, purpose: str) -> bytes:
    """One key per purpose from ASSEMBLY_SECRET_KEY (a token of one kind never passes for another)."""
    return hmac.new(secret_key.encode(), f"assembly/{purpose}".encode(), hashlib.sha256).digest()


def encode_session_token(sid: str, *, secret_key: str, issued_at: datetime, expires_at: datetime) -> str:
    claims = {"sid": sid, "aud": JWT_AUDIENCE, "iat": int(issued_at.timestamp()), "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, _derived(secret_key, "session-jwt"), algorithm=JWT_ALGORITHM)


def decode_session_token(token: str, *, secret_key: str, now: datetime) -> str | None:
    """The session id a valid token names; None for anything forged, expired, or malformed."""
    if not token or len(token) > 2048:
        return None
    try:
        claims = jwt.decode(
            token,
            _derived(secret_key, "session-jwt"),
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            options={"require": ["exp", "iat", "aud", "sid"], "verify_iat": False, "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    sid = claims.get("sid")
    expires = claims.get("exp")
    # `exp` is checked against the injected clock (tests move time; no sleeping).
    if not isinstance(sid, str) or not isinstance(expires, int) or expires <= now.timestamp():
        return None
    return sid


def csrf_for_session(sid: str, *, secret_key: str) -> str:
    return hmac.new(_derived(secret_key, "csrf"), f"session|{sid}".encode(), hashlib.sha256).hexdigest()


def csrf_for_anonymous(browser_nonce: str, *, secret_key: str) -> str:
    return hmac.new(_derived(secret_key, "csrf"), f"anonymous|{browser_nonce}".encode(), hashlib.sha256).hexdigest()


def subject_key(secret_key: str, value: str) -> str:
    """A keyed hash for throttling by something typed (a username): the table never holds the text."""
    return hmac.new(_derived(secret_key, "throttle"), value.encode(), hashlib.sha256).hexdigest()[:40]
