"""Security events: logins, failures, slow-downs, role and scope changes, card issue/reissue/revoke.

Each row has the shape of an audit-log entry (shared/spec/audit-log.md: `type`, `at`, `actor` plus the
fields of its type), so that the audit-log issue can move them into each estate's Merkle log without
loss: `as_audit_entry()` is that entry. Never a submitted secret — a failed login records who,
when, from where and why; nothing that was typed (not even the username, which may be a password
typed into the wrong field).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session

from assembly.auth.models import SecurityEvent
from assembly.models import utcnow

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
