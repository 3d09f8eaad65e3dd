"""Security events: logins, failures, slow-downs, role and scope changes, card issue/reissue/revoke.

Each row has the shape of an audit-log entry (shared/spec/audit-log.md: `type`, `at`, `actor` plus the
fields of its type), so that the audit-log issue can move them into each estate's Merkle log without
loss: `as_audit_entry()` is that entry. The security-relevant ones (AUDITED below) are also appended
to the estate's audit log by `record` itself, in the same transaction (docs/audit-entries.md says
which, with which fields, into which estates' logs). Never a submitted secret — a failed login records who,
when, from where and why; nothing that was typed (not even the username, which may be a password
typed into the wrong field).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly.audit import store
from assembly.auth.models import Account, OwnerCard, SecurityEvent
from assembly.auth.sessions import account_estate_ids
from assembly.auth.throttle import ip_key
from assembly.config import get_settings
from assembly.models import utcnow
from assembly.permissions import AllEstates
from assembly.register.models import Estate

# Types (documented in docs/security.md). A reason code says why, in a word a program can match.
LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
LOGIN_THROTTLED = "login.throttled"  # a failure that started or lengthened a slow-down
LOGOUT = "session.logout"
LOGOUT_EVERYWHERE = "session.logout_everywhere"
CARD_ISSUED = "card.issued"
CARD_REISSUED = "card.reissued"
CARD_REVOKED = "card.revoked"
CARD_ACTIVATED = "card.activated"
CARD_PIN_CHANGED = "card.pin_changed"
ACCOUNT_CREATED = "account.created"
ACCOUNT_SCOPE_CHANGED = "account.scope_changed"
ACCOUNT_DISABLED = "account.disabled"
ACCOUNT_PASSWORD_CHANGED = "account.password_changed"
ACCOUNT_TOTP_ENABLED = "account.totp_enabled"

_FORBIDDEN_DETAIL_KEYS = {"password", "pin", "code", "activation_code", "totp", "token", "id_tail", "username"}


def record(
    session: Session,
    type: str,
    *,
    estate_id: int | None = None,
    actor_pseudonym: str | None = None,
    actor_role: str | None = None,
    subject: str | None = None,
    ip: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
    **details: object,
) -> SecurityEvent:
    leaked = _FORBIDDEN_DETAIL_KEYS & set(details)
    if leaked:  # a programming error: refuse loudly rather than store a secret
        raise ValueError(f"security events never hold submitted values: {sorted(leaked)}")
    event = SecurityEvent(
        estate_id=estate_id,
        type=type,
        at=at or utcnow(),
        actor_pseudonym=actor_pseudonym,
        actor_role=actor_role,
        subject=subject,
        ip=ip,
        reason=reason,
        details_json=json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    session.flush()
    if type in AUDITED:
        _append_to_audit_log(session, event, details)
    return event


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def as_audit_entry(event: SecurityEvent) -> dict:
    """The audit-log entry this event becomes: type, at (RFC 3339 UTC), actor, then its fields."""
    entry: dict = {
        "type": event.type,
        "at": rfc3339(event.at),
        "actor": {"id": event.actor_pseudonym, "role": event.actor_role},
    }
    if event.subject:
        entry["subject"] = event.subject
    if event.ip:
        entry["ip"] = event.ip
    if event.reason:
        entry["reason"] = event.reason
    for key, value in json.loads(event.details_json or "{}").items():
        entry.setdefault(key, value)
    return entry


# --- into the audit log (docs/audit-entries.md) -------------------------------------------------
#
# Which security events are audit entries, and the fields their entry carries besides type, at,
# actor and index. Not entries: owners' successful logins and every logout (what an owner does
# with their own card is their business, and the log can never be erased); the IP address (a
# keyed hash, `source`, stands for it); anything typed. Cards are named by their printed number.
AUDITED: dict[str, tuple[str, ...]] = {
    LOGIN_SUCCEEDED: ("subject", "method", "source"),  # staff only: owners' logins stay off the log
    LOGIN_FAILED: ("subject", "method", "reason", "source"),
    LOGIN_THROTTLED: ("subject", "reason", "failures", "delay_seconds", "source"),
    CARD_ISSUED: ("subject", "owner"),
    CARD_REISSUED: ("subject", "owner", "reason", "replaces"),
    CARD_REVOKED: ("subject", "owner", "reason"),
    CARD_ACTIVATED: ("subject",),
    CARD_PIN_CHANGED: ("subject",),
    ACCOUNT_CREATED: ("subject", "account_role", "estates"),
    ACCOUNT_SCOPE_CHANGED: ("subject", "account_role", "before", "after"),
    ACCOUNT_DISABLED: ("subject", "account_role"),
    ACCOUNT_PASSWORD_CHANGED: ("subject", "reason"),
    ACCOUNT_TOTP_ENABLED: ("subject",),
}
UNKNOWN_ACTOR = "unknown"  # a failed login's typist, an operator without a pseudonym


def audit_source(ip: str | None) -> str | None:
    """Where an attempt came from, for the log: a keyed hash of the address (IPv6 by /64), 16 hex
    digits. Equal sources show one origin trying many times; the address itself stays in the
    erasable security_event table, and without ASSEMBLY_ID_HASH_KEY the hash cannot be reversed."""
    if not ip:
        return None
    key = hmac.new(get_settings().id_hash_key.encode(), b"assembly/audit-source", hashlib.sha256).digest()
    return hmac.new(key, ip_key(ip).encode(), hashlib.sha256).hexdigest()[:16]


def _append_to_audit_log(session: Session, event: SecurityEvent, details: dict) -> None:
    """Append `event` to the audit log of every estate it concerns, in this transaction."""
    if event.type == LOGIN_SUCCEEDED and event.actor_role == "owner":
        return
    estate_ids: set[int] = {event.estate_id} if event.estate_id is not None else set()
    kind, _, number = (event.subject or "").partition(":")
    account = session.get(Account, int(number)) if kind == "account" and number.isdigit() else None
    if account is not None:
        covered = account_estate_ids(session, account)
        if isinstance(covered, AllEstates):  # the administrator: no estate role, no estate's log
            return
        estate_ids |= covered
    for name in ("estates", "before", "after"):  # an account's scope, old and new
        estate_ids |= {value for value in details.get(name) or () if isinstance(value, int)}
    if not estate_ids:
        return
    codes = dict(session.execute(select(Estate.id, Estate.code).where(Estate.id.in_(sorted(estate_ids)))).all())

    subject = event.subject
    card = session.get(OwnerCard, int(number)) if kind == "card" and number.isdigit() else None
    if account is not None:
        subject = f"account:{account.pseudonym}"
    elif card is not None:  # by the number printed on it, as cards.printed lists them
        subject = f"card:{card.number}"
    values: dict[str, object] = {
        "subject": subject,
        "method": details.get("method"),
        "reason": event.reason,
        "source": audit_source(event.ip),
        "failures": details.get("failures"),
        "delay_seconds": details.get("delay_seconds"),
        "owner": details.get("owner"),
        "account_role": details.get("role"),
        "estates": [codes.get(i, str(i)) for i in details.get("estates") or ()],
        "before": [codes.get(i, str(i)) for i in details.get("before") or ()],
        "after": [codes.get(i, str(i)) for i in details.get("after") or ()],
    }
    if event.type == CARD_REISSUED and card is not None and card.replaces_id:
        values["replaces"] = f"card:{session.get(OwnerCard, card.replaces_id).number}"
    fields = {name: values.get(name) for name in AUDITED[event.type] if values.get(name) is not None}
    role = str(event.actor_role or "anonymous")
    actor = store.Actor(str(event.actor_pseudonym or ("cli" if role == "operator" else UNKNOWN_ACTOR)), role)
    for estate_id in sorted(estate_ids):  # one order for every transaction: no lock cycles on PostgreSQL
        store.append(session, estate_id=estate_id, type=event.type, actor=actor, **fields)
