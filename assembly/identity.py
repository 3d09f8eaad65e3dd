"""Identity numbers and contact details: validated, keyed-hashed, masked — never stored in clear.

Identity numbers (居民身份证 or other documents) only ever exist as HMAC-SHA256 under
ASSEMBLY_ID_HASH_KEY: the same owner matches across units and imports, a leaked database does
not reveal the numbers. The last four characters, which a card activation asks for, get a
separate keyed hash bound to the full one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from functools import lru_cache
from operator import mul

_MAINLAND = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9()（）-]{5,30}$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_PHONE = re.compile(r"^\+?[\d -]{6,20}$")
# 统一社会信用代码 (GB 32100-2015): companies own units too; 17 of its 18 characters are often digits.
_USCC_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$", re.ASCII)


class IdentityError(ValueError):
    """An identity number or phone that cannot be right; the message says what is expected."""


def mainland_check_character(first17: str) -> str:
    """The GB 11643-1999 check character of a resident identity number."""
    if len(first17) != 17:
        raise ValueError("17 digits expected")
    return _CHECK[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


def normalize_id_number(raw: str) -> str:
    """Upper-case, no spaces; an 18-character mainland number must carry a valid check character."""
    # NFKC: full-width digits and letters (１１０…, Ｘ) are the same number as their ASCII forms.
    number = "".join(unicodedata.normalize("NFKC", str(raw)).split()).upper()
    if not number:
        raise IdentityError("证件号码为空 / identity number is empty")
    if len(number) == 18 and number[:17].isdigit():
        if _MAINLAND.match(number) and mainland_check_character(number[:17]) == number[17]:
            return number
        if uscc_valid(number):
            return number
        raise IdentityError("身份证号码校验位不符 / resident ID check character does not match")
    if number.isdigit() and len(number) in (16, 17, 19):
        # One digit short or long of a resident ID: a typo, not another kind of document.
        raise IdentityError(
            f"{len(number)} 位数字：居民身份证号码应为 18 位 / {len(number)} digits: a resident ID has 18"
        )
    if not _OTHER_DOCUMENT.match(number):
        raise IdentityError(
            "证件号码格式不对：18 位身份证号码或 5-30 位字母数字的其他证件号 / "
            "expected an 18-character resident ID or a 5-30 character document number"
        )
    return number


def uscc_valid(code: str) -> bool:
    """Whether `code` is a unified social credit code with a valid check character (GB 32100-2015)."""
    if not _USCC.match(code):
        return False
    total = sum(_USCC_CHARACTERS.index(char) * weight for char, weight in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARACTERS[(31 - total % 31) % 31] == code[17]


@lru_cache(maxsize=4)
def _keyed(key: str) -> hmac.HMAC:
    # The keyed inner/outer state, computed once per key and copied per hash (an import hashes
    # every owner: copying is about twice as fast as keying anew).
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def _mac(key: str, message: str) -> str:
    mac = _keyed(key).copy()
    mac.update(message.encode())
    return mac.hexdigest()


def id_hash(key: str, number: str) -> str:
    return _mac(key, f"id|{number}")


def id_tail_hash(key: str, number: str, *, full: str | None = None) -> str:
    """Keyed hash of the last four characters, bound to the whole number's hash (`full`, if known)."""
    full = full or id_hash(key, number)
    return _mac(key, f"tail|{full}|{number[-4:]}")


def normalize_phone(raw: str | None) -> str | None:
    if raw is None or not str(raw).strip():
        return None
    phone = str(raw).strip()
    if not _PHONE.match(phone):
        raise IdentityError("电话号码格式不对 / phone number is not valid")
    return re.sub(r"[ -]", "", phone)


def mask_name(name: str) -> str:
    """张*明: first and last character kept; two-character names keep the first (张*)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
