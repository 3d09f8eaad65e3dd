"""argon2id with explicit parameters, the dummy-hash defence, and the rules for passwords and PINs."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from assembly.auth import hashing


@pytest.mark.real_argon2
def test_hashes_are_argon2id_with_the_documented_parameters():
    stored = hashing.hash_secret("s3cret-enough-1")
    params = extract_parameters(stored)
    assert stored.startswith("$argon2id$v=19$")
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (Type.ID, 3, 65536, 4)
    assert (params.hash_len, params.salt_len) == (32, 16)
    assert not hashing.needs_rehash(stored)


def test_same_secret_hashes_differently_and_verifies():
    one, two = hashing.hash_secret("480913"), hashing.hash_secret("480913")
    assert one != two  # random salt
    assert hashing.verify_secret(one, "480913") and hashing.verify_secret(two, "480913")
    assert not hashing.verify_secret(one, "480914")


@pytest.mark.real_argon2
def test_weaker_or_foreign_hashes_are_upgraded_or_refused():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID).hash("pw-pw-pw-pw-1")
    assert hashing.verify_secret(weak, "pw-pw-pw-pw-1")  # still accepted at login ...
    assert hashing.needs_rehash(weak)  # ... and upgraded then
    assert not hashing.verify_secret("$2b$12$not-an-argon2-hash", "x")
    assert hashing.needs_rehash("garbage")


def test_missing_hash_never_verifies_even_for_the_dummy_password():
    assert not hashing.verify_secret(None, "not-a-password")
    assert not hashing.verify_secret(None, "")
    hashing.spend_dummy_verification()  # costs a verification, answers nothing


@pytest.mark.parametrize(
    ("pin", "accepted"),
    [
        ("480913", True),
        ("73519024", True),
        ("123456", False),  # ascending
        ("654321", False),  # descending
        ("890123", False),  # ascending, wrapping
        ("000000", False),
        ("111111", False),
        ("121212", False),  # repeated pair
        ("123123", False),  # repeated triple
        ("112211", False),  # two digits only
        ("520520", False),  # common
        ("131420", False),  # common ("一生一世爱你")
        ("02413", False),  # too short
        ("1234567890123", False),  # too long
        ("48a913", False),
        ("", False),
    ],
)
def test_pin_rules(pin, accepted):
    assert (hashing.pin_problem(pin) is None) is accepted


def test_full_width_digits_and_spaces_are_read_as_digits():
    assert hashing.normalize_digits("４８０９ １３") == "480913"
    assert hashing.normalize_digits("1234-5678") == "12345678"


@pytest.mark.parametrize(
    ("password", "accepted"),
    [("correct-horse-battery", True), ("short", False), ("aaaaaaaaaaaaaaaa", False),
     ("zhang.wei-password-1", False), ("x" * 201, False)],
)
def test_password_rules(password, accepted):
    assert (hashing.password_problem(password, username="zhang.wei") is None) is accepted


def test_generated_secrets_have_the_promised_shape():
    password = hashing.generate_password()
    assert len(password) == 19 and password.count("-") == 3
    assert hashing.password_problem(password) is None
    assert len({hashing.generate_password() for _ in range(50)}) == 50
    code = hashing.generate_activation_code()
    assert len(code) == 8 and code.isdigit()
