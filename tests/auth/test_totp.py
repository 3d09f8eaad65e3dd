"""TOTP against the RFC 6238 test vectors, the clock window, replay refusal, and the sealed secret."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from assembly.auth import totp

RFC_SECRET = b"12345678901234567890"  # RFC 6238 Appendix B, SHA-1


@pytest.mark.parametrize(
    ("unix_time", "code"),
    [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
     (2000000000, "69279037"), (20000000000, "65353130")],
)
def test_rfc6238_vectors(unix_time, code):
    assert totp.totp(RFC_SECRET, unix_time, digits=8, digest=hashlib.sha1) == code


def test_rfc4226_hotp_vectors():
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [totp.hotp(RFC_SECRET, counter) for counter in range(10)] == expected


def test_a_code_is_accepted_one_step_either_side_and_never_twice():
    secret = totp.new_secret()
    now = datetime(2026, 11, 23, 8, 0, 15, tzinfo=UTC)
    step = totp.time_step(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.hotp(secret, step + offset), now) == step + offset
    assert totp.matching_step(secret, totp.hotp(secret, step + 2), now) is None
    assert totp.matching_step(secret, totp.hotp(secret, step - 2), now) is None
    current = totp.hotp(secret, step)
    assert totp.matching_step(secret, current, now, after_step=step) is None  # replay
    assert totp.matching_step(secret, current, now, after_step=step - 1) == step


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_never_match(code):
    assert totp.matching_step(totp.new_secret(), code, datetime.now(UTC)) is None


def test_secret_is_sealed_under_the_secret_key():
    secret = totp.new_secret()
    sealed = totp.seal(secret, secret_key="k" * 40)
    assert secret.hex() not in sealed and totp.secret_base32(secret) not in sealed
    assert totp.unseal(sealed, secret_key="k" * 40) == secret
    assert totp.unseal(sealed, secret_key="other" * 10) is None
    assert totp.unseal("v1:!!!", secret_key="k" * 40) is None
    assert totp.unseal("v9:" + sealed[3:], secret_key="k" * 40) is None


def test_base32_and_provisioning_uri_round_trip():
    secret = totp.new_secret()
    text = totp.secret_base32(secret)
    assert totp.secret_from_base32(text.lower()) == secret
    uri = totp.provisioning_uri(secret, account="demo-admin")
    assert uri.startswith("otpauth://totp/") and f"secret={text}" in uri and "period=30" in uri
