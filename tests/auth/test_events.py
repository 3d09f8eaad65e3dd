"""Security events are shaped like audit-log entries and never hold a submitted secret."""

from __future__ import annotations

import json
import re

import pytest

from assembly.auth import events


def test_an_event_becomes_an_audit_entry_without_loss(session, kit, world):
    event = events.record(
        session, events.LOGIN_FAILED, estate_id=world.alpha.estate.id, actor_pseudonym="s0123", actor_role="observer",
        subject="account:7", ip="203.0.113.5", reason="bad_password", at=kit.T0, method="password",
    )
    entry = events.as_audit_entry(event)
    assert entry == {
        "type": "login.failed",
        "at": "2026-11-23T08:00:00.000000Z",
        "actor": {"id": "s0123", "role": "observer"},
        "subject": "account:7",
        "ip": "203.0.113.5",
        "reason": "bad_password",
        "method": "password",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["at"])  # RFC 3339, UTC
    json.dumps(entry, ensure_ascii=False, sort_keys=True)  # plain JSON: canonicalisable as is


@pytest.mark.parametrize("key", ["password", "pin", "activation_code", "totp", "token", "id_tail", "username"])
def test_a_secret_cannot_even_be_passed_in(session, key):
    with pytest.raises(ValueError):
        events.record(session, events.LOGIN_FAILED, **{key: "typed"})
