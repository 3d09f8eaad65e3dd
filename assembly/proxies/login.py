"""A proxy's login 代理人登录: a card-like code issued once the committee confirmed the signed
authorisation, with the last four characters of the proxy's identity number.

The code is 16 characters in four groups (`HHHH-SSSS-SSSS-SSSS`, an alphabet without 0/O, 1/I/L):
the first group finds the login (stored as is, unique), the other twelve (about 59 bits) are the
secret, stored only as argon2id. It is shown once, to the committee person who hands it over; a
reissue replaces it (the old one stops working at once, with the proxy's sessions). Wrong attempts
slow down per login and per IP address (assembly.auth.throttle) and are security events.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly import identity
from assembly.auth import events, hashing, throttle
from assembly.auth.errors import BadCredentials, Throttled
from assembly.errors import AssemblyError, Conflict
from assembly.permissions import Action, Principal, check
from assembly.proxies import standing
from assembly.proxies.models import ProxyLogin
from assembly.voting import meetings
from assembly.voting.models import Meeting

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
HANDLE_LEN, SECRET_LEN = 4, 12
CODE_RE = re.compile(f"^[{ALPHABET}]{{{HANDLE_LEN + SECRET_LEN}}}$")
TAIL_RE = re.compile(r"^[0-9A-Z]{4}$")
BAD_LOGIN = "登录码或身份证号后四位不正确 / wrong code or identity-number ending"


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", raw or "")).upper()


def _new_handle(session: Session) -> str:
    for _ in range(50):
        handle = "".join(secrets.choice(ALPHABET) for _ in range(HANDLE_LEN))
        if session.scalars(select(ProxyLogin.id).where(ProxyLogin.handle == handle)).first() is None:
            return handle
    raise Conflict("无法生成登录码，请重试 / could not pick a code, try again", code="proxy_code")


def issue_code(session: Session, *, meeting: Meeting, login: ProxyLogin, principal: Principal, now: datetime) -> str:
    """A new code for the proxy (the first, or a reissue revoking the old one): returned once."""
    check(principal, Action.PROXY_CONFIRM, estate_id=meeting.estate_id)
    if not standing.in_force(session, login=login):
        raise Conflict("该代理人没有已确认且有效的授权委托 / no confirmed authorisation names this proxy",
                       code="proxy_not_confirmed")
    handle = _new_handle(session)
    secret = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LEN))
    reissue = login.code_hash is not None
    login.handle, login.code_hash = handle, hashing.hash_secret(secret)
    login.code_serial += 1
    login.code_issued_at = now
    session.flush()
    if reissue:
        standing.end_sessions(session, login=login, now=now, reason="proxy_code_reissued")
        throttle.clear(session, throttle.CARD, _key(login))
    standing.log_entry(session, meeting, "proxy.code_issued", meetings.actor_of(principal), now, proxy=login.pseudonym,
                   serial=login.code_serial)
    return handle + secret


@dataclass(frozen=True)
class Attempt:
    login: ProxyLogin | None
    error: AssemblyError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _key(login: ProxyLogin) -> str:
    return f"proxy-{login.id}"  # the card policy, keyed apart from cards (whose keys are plain ids)


def _subject(login: ProxyLogin) -> str:
    return f"proxy:{login.pseudonym}"


def _fail(session: Session, login: ProxyLogin | None, *, ip: str | None, now: datetime, reason: str) -> Attempt:
    keys = [(throttle.IP, throttle.ip_key(ip))] + ([(throttle.CARD, _key(login))] if login else [])
    delay = 0
    estate_id = login.estate_id if login else None
    for kind, key in keys:
        count, seconds = throttle.register_failure(session, kind, key, now=now)
        if seconds:
            subject = _subject(login) if login and kind == throttle.CARD else None
            events.record(session, events.LOGIN_THROTTLED, estate_id=estate_id, subject=subject, ip=ip, reason=kind,
                          at=now, failures=count, delay_seconds=seconds, actor_role="proxy")
        delay = max(delay, seconds)
    events.record(session, events.LOGIN_FAILED, estate_id=estate_id, subject=_subject(login) if login else None,
                  ip=ip, reason=reason, at=now, method="proxy_code", actor_role="proxy")
    message = throttle.with_wait(BAD_LOGIN, delay) if delay else BAD_LOGIN
    return Attempt(login, BadCredentials(message, code=reason))


def check_login(session: Session, *, id_key: str, code: str, id_tail: str, ip: str | None, now: datetime) -> Attempt:
    """The code and the identity number's last four characters; the answer never says which was wrong."""
    code = normalize_code(code)
    tail = re.sub(r"\s", "", unicodedata.normalize("NFKC", id_tail or "")).upper()
    login = session.scalars(select(ProxyLogin).where(ProxyLogin.handle == code[:HANDLE_LEN])).first() \
        if CODE_RE.fullmatch(code) else None
    keys = [(throttle.IP, throttle.ip_key(ip))] + ([(throttle.CARD, _key(login))] if login else [])
    wait = max(throttle.wait_seconds(session, kind, key, now=now) for kind, key in keys)
    if wait:
        return Attempt(login, Throttled(throttle.wait_message(wait), retry_after=wait))
    if login is None or login.code_hash is None:
        hashing.spend_dummy_verification()
        return _fail(session, None, ip=ip, now=now, reason="bad_proxy_code")
    code_ok = hashing.verify_secret(login.code_hash, code[HANDLE_LEN:])
    expected = identity.id_tail_hash(id_key, tail, full=login.id_hash) if TAIL_RE.fullmatch(tail) else ""
    if not (code_ok and expected and secrets.compare_digest(expected, login.tail_hash)):
        return _fail(session, login, ip=ip, now=now, reason="bad_proxy_code")
    if not standing.in_force(session, login=login):
        return Attempt(login, Conflict("您代理的授权委托已全部撤回 / no authorisation is in force for you any more",
                                       code="proxy_not_active"))
    throttle.clear(session, throttle.CARD, _key(login))
    login.last_login_at = now
    events.record(session, events.LOGIN_SUCCEEDED, estate_id=login.estate_id, subject=_subject(login), ip=ip, at=now,
                  method="proxy_code", actor_pseudonym=login.pseudonym, actor_role="proxy")
    session.flush()
    return Attempt(login)


def code_matches(login: ProxyLogin, code: str) -> bool:
    """Whether `code` is the login's current code (to print the slip the committee was just shown)."""
    code = normalize_code(code)
    if not CODE_RE.fullmatch(code) or login.handle is None or code[:HANDLE_LEN] != login.handle:
        hashing.spend_dummy_verification()
        return False
    return hashing.verify_secret(login.code_hash, code[HANDLE_LEN:])
