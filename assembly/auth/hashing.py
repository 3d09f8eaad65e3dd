"""Hashing and checking low-entropy secrets (passwords, PINs, activation codes) with argon2id.

Parameters are explicit (RFC 9106 §4, second recommended option: t=3, 64 MiB, p=4), so a library
upgrade never changes them silently; hashes made with other parameters are upgraded at next login.
Unknown users still cost one full verification (the dummy hash), so timing does not tell whether
a username exists.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import lru_cache
from itertools import pairwise

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 4
HASH_LEN = 32
SALT_LEN = 16

HASHER = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    type=Type.ID,
)


def hash_secret(secret: str) -> str:
    return HASHER.hash(secret)


def verify_secret(stored: str | None, secret: str) -> bool:
    """True when `secret` matches; a missing stored hash still costs one verification."""
    try:
        return HASHER.verify(stored or _dummy_hash(), secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@lru_cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(24))


def spend_dummy_verification() -> None:
    """What a real check costs, for a user who does not exist."""
    verify_secret(None, "not-a-password")


# --- passwords -------------------------------------------------------------------------------------

PASSWORD_MIN = 12
PASSWORD_MAX = 200
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed by hand


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why a new password is refused, in Chinese first; None when it is acceptable."""
    if len(password) < PASSWORD_MIN:
        return f"密码至少 {PASSWORD_MIN} 个字符 / at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"密码最多 {PASSWORD_MAX} 个字符 / at most {PASSWORD_MAX} characters"
    if len(set(password)) < 4:
        return "密码过于简单 / too simple"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名 / must not contain the username"
    return None


def generate_password() -> str:
    """A random password of 16 characters in groups of four (about 79 bits)."""
    chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


# --- PINs and activation codes ---------------------------------------------------------------------

PIN_MIN, PIN_MAX = 6, 12
# Common PINs beyond the patterns below (leaked-PIN studies of Chinese users; dates of love, luck).
COMMON_PINS = frozenset(
    {
        "123123", "112233", "121212", "123321", "520520", "521521", "131420", "520131", "147258",
        "159753", "147369", "789456", "456789", "654123", "102030", "112358", "251314", "741852",
        "963852", "123654", "321321", "111222", "888999", "666888", "168168", "518518", "201314",
        "100200", "110110", "119119", "120120", "123789", "135790", "246810", "778899", "147852",
    }
)


def _is_run(digits: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(digits)}
    return steps in ({1}, {9})


def pin_problem(pin: str) -> str | None:
    """Why a new PIN is refused; None when it is acceptable (6-12 digits, not guessable)."""
    if not re.fullmatch(r"\d+", pin or ""):
        return "PIN 只能是数字 / digits only"
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        return f"PIN 须为 {PIN_MIN}–{PIN_MAX} 位数字 / {PIN_MIN} to {PIN_MAX} digits"
    if len(set(pin)) == 1:
        return "PIN 不能全是同一个数字 / not one digit repeated"
    if _is_run(pin):
        return "PIN 不能是连续的数字（如 123456、654321） / not a run of digits"
    for size in (1, 2, 3):
        if len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size):
            return "PIN 不能是重复的数字组合（如 121212） / not a repeated pattern"
    if len(set(pin)) <= 2:
        return "PIN 至少要用三个不同的数字 / use at least three different digits"
    if pin in COMMON_PINS or pin[::-1] in COMMON_PINS:
        return "这个 PIN 太常见，容易被猜到 / too common"
    return None


ACTIVATION_DIGITS = 8


def generate_activation_code() -> str:
    return f"{secrets.randbelow(10**ACTIVATION_DIGITS):0{ACTIVATION_DIGITS}d}"


def normalize_digits(raw: str) -> str:
    """Digits as typed on a phone: full-width digits and spaces/dashes tolerated."""
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", raw or ""))
