"""The session token: HS256 only, `aud`/`exp`/`iat`/`sid` required, and nothing forged gets through."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from assembly.auth import tokens

KEY = "k" * 48
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _token(**overrides):
    return tokens.encode_session_token("sid-1", secret_key=KEY, issued_at=NOW, expires_at=NOW + timedelta(hours=1),
                                       **overrides)


def _derived_key():
    return tokens._derived(KEY, "session-jwt")


def test_a_valid_token_names_its_session():
    assert tokens.decode_session_token(_token(), secret_key=KEY, now=NOW) == "sid-1"


def test_expired_token_is_refused_by_the_injected_clock():
    token = _token()
    assert tokens.decode_session_token(token, secret_key=KEY, now=NOW + timedelta(minutes=59)) == "sid-1"
    assert tokens.decode_session_token(token, secret_key=KEY, now=NOW + timedelta(hours=1)) is None


def test_tampered_payload_is_refused():
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sid"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert tokens.decode_session_token(f"{header}.{forged}.{signature}", secret_key=KEY, now=NOW) is None


def test_alg_none_is_refused():
    claims = {"sid": "sid-1", "aud": tokens.JWT_AUDIENCE, "iat": int(NOW.timestamp()),
              "exp": int((NOW + timedelta(hours=1)).timestamp())}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert tokens.decode_session_token(unsigned, secret_key=KEY, now=NOW) is None
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = _token().split(".")[1]
    assert tokens.decode_session_token(f"{header}.{body}.", secret_key=KEY, now=NOW) is None


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_other_algorithms_are_refused_even_with_the_right_key():
    claims = {"sid": "sid-1", "aud": tokens.JWT_AUDIENCE, "iat": int(NOW.timestamp()),
              "exp": int((NOW + timedelta(hours=1)).timestamp())}
    assert tokens.decode_session_token(jwt.encode(claims, _derived_key(), algorithm="HS512"), secret_key=KEY,
                                       now=NOW) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"aud": None},
        {"sid": None},
        {"exp": None},
        {"iat": None},
        {"sid": 42},
        {"exp": "tomorrow"},
    ],
)
def test_wrong_or_missing_claims_are_refused(claims):
    base = {"sid": "sid-1", "aud": tokens.JWT_AUDIENCE, "iat": int(NOW.timestamp()),
            "exp": int((NOW + timedelta(hours=1)).timestamp())}
    for name, value in claims.items():
        if value is None:
            base.pop(name)
        else:
            base[name] = value
    assert tokens.decode_session_token(jwt.encode(base, _derived_key(), algorithm="HS256"), secret_key=KEY,
                                       now=NOW) is None


@pytest.mark.parametrize("garbage", ["", "x", "a.b.c", "." * 3000, "eyJ.eyJ.sig", "\u202e"])
def test_garbage_is_refused_quietly(garbage):
    assert tokens.decode_session_token(garbage, secret_key=KEY, now=NOW) is None


def test_a_token_signed_with_another_secret_key_is_refused():
    assert tokens.decode_session_token(_token(), secret_key="other" * 10, now=NOW) is None


def test_csrf_tokens_are_bound_to_their_session_or_browser():
    one = tokens.csrf_for_session("sid-1", secret_key=KEY)
    assert one == tokens.csrf_for_session("sid-1", secret_key=KEY)
    assert one != tokens.csrf_for_session("sid-2", secret_key=KEY)
    assert one != tokens.csrf_for_anonymous("sid-1", secret_key=KEY)  # different purposes never collide


def test_card_tokens_are_prefixed_long_and_random():
    made = {tokens.new_card_token() for _ in range(100)}
    assert len(made) == 100
    for token in made:
        assert token.startswith("ac_") and tokens.looks_like_card_token(token)
        assert len(base64.urlsafe_b64decode(token[3:] + "=")) * 8 >= 128
    assert not tokens.looks_like_card_token("ac_short")
    assert not tokens.looks_like_card_token("xx_" + "a" * 27)
    assert not tokens.looks_like_card_token("ac_" + "a" * 27 + "/../")
