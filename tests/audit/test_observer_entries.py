"""Security events become audit entries in the same transaction (docs/audit-entries.md): which ones,
with which fields, into which estates' logs — and an export of such a log still verifies."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from assembly.audit import service, store
from assembly.audit.entries import entry_problems
from assembly.audit.models import AuditEntry
from assembly.audit.verify import verify_export
from assembly.auth import accounts, cards, events
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.permissions import Role


def _auth_kit():
    """The auth tests' builders (two estates, accounts, cards), loaded from their conftest by path."""
    name = "assembly_tests_auth_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "auth" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


kit = _auth_kit()

IP = "203.0.113.77"


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


def entries(session, estate) -> list[dict]:
    rows = session.scalars(select(AuditEntry.body).where(AuditEntry.estate_id == estate.id).order_by(AuditEntry.idx))
    return [json.loads(bytes(body)) for body in rows]


def of_type(session, estate, kind: str) -> list[dict]:
    return [entry for entry in entries(session, estate) if entry["type"] == kind]


@pytest.fixture
def own_engine(engine_copy):
    """A database of the test's own, its connections closed at the end (PostgreSQL has ~100 to share)."""
    yield engine_copy
    engine_copy.dispose()


@pytest.fixture
def world(session):
    return kit.build_world(session, extra_owners=3)


def test_card_issue_reissue_revoke_are_entries_naming_cards_by_number_and_nothing_personal(session, world):
    alpha = world.alpha.estate
    rc = kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-alpha")
    issuer = account_principal(session, rc)
    owner = world.alpha.owners[0].person
    first = cards.issue_card(session, person=owner, issued_by=issuer, ip=IP)
    second = cards.reissue_card(session, card=first.card, issued_by=issuer, reason="lost", ip=IP)
    cards.revoke_card(session, card=second.card, by=issuer, reason="moved_out", ip=IP)

    issued, = of_type(session, alpha, "card.issued")
    assert issued["actor"] == {"id": rc.pseudonym, "role": "residents_committee"}
    assert issued["subject"] == f"card:{first.card.number}" and issued["owner"] == owner.pseudonym
    reissued, = of_type(session, alpha, "card.reissued")
    assert (reissued["subject"], reissued["replaces"], reissued["reason"]) == (
        f"card:{second.card.number}", f"card:{first.card.number}", "lost")
    revoked, = of_type(session, alpha, "card.revoked")
    assert (revoked["subject"], revoked["reason"]) == (f"card:{second.card.number}", "moved_out")
    text = json.dumps(entries(session, alpha), ensure_ascii=False)
    for secret in (IP, owner.name, first.token, first.activation_code, second.token, second.activation_code):
        assert secret not in text
    assert of_type(session, world.beta.estate, "card.issued") == []  # nothing leaks into another estate's log


def test_staff_logins_and_failures_are_entries_with_a_keyed_source_and_nothing_typed(session, world):
    alpha = world.alpha.estate
    settings = get_settings()
    observer = kit.make_account(session, Role.OBSERVER, world, username="obs-alpha")
    now = kit.T0
    failed = accounts.check_password(session, settings=settings, username="obs-alpha", password="hunter2-typed",
                                     ip=IP, now=now)
    assert not failed.ok
    accounts.record_login(session, account=observer, ip=IP, now=now, method="password")
    accounts.check_password(session, settings=settings, username="nobody-at-all", password="x", ip=IP, now=now)

    failure, = of_type(session, alpha, "login.failed")
    assert failure == {
        "type": "login.failed", "index": failure["index"], "at": failure["at"],
        "actor": {"id": observer.pseudonym, "role": "observer"},
        "subject": f"account:{observer.pseudonym}", "method": "password", "reason": "bad_password",
        "source": events.audit_source(IP),
    }
    success, = of_type(session, alpha, "login.succeeded")
    assert success["method"] == "password" and success["source"] == failure["source"]
    assert len(success["source"]) == 16 and events.audit_source("203.0.113.78") != success["source"]
    text = json.dumps(entries(session, alpha))
    assert "hunter2" not in text and IP not in text and "nobody-at-all" not in text and "obs-alpha" not in text
    assert not any(entry_problems(entry) for entry in entries(session, alpha))


def test_slow_downs_are_entries(session, world):
    alpha = world.alpha.estate
    settings = get_settings()
    kit.make_account(session, Role.OBSERVER, world, username="obs-alpha")
    for _ in range(6):  # five free failures, then a delay
        accounts.check_password(session, settings=settings, username="obs-alpha", password="wrong-wrong-wrong",
                                ip="198.51.100.9", now=kit.T0)
    throttled, = of_type(session, alpha, "login.throttled")
    assert (throttled["reason"], throttled["failures"], throttled["delay_seconds"]) == ("account", 6, 30)


def test_owner_logins_stay_off_the_log_but_their_card_failures_do_not(session, world):
    alpha = world.alpha.estate
    rc = account_principal(session, kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-alpha"))
    issued = cards.issue_card(session, person=world.alpha.owners[0].person, issued_by=rc)
    cards.set_first_pin(session, card=issued.card, pin="480913", ip=IP, now=kit.T0)
    cards.record_login(session, card=issued.card, ip=IP, now=kit.T0, method="pin")
    cards.check_pin(session, card=issued.card, pin="000111", ip=IP, now=kit.T0)

    assert of_type(session, alpha, "login.succeeded") == []
    activated, = of_type(session, alpha, "card.activated")
    assert activated["actor"]["role"] == "owner" and activated["subject"] == f"card:{issued.card.number}"
    failure, = of_type(session, alpha, "login.failed")
    assert failure["actor"] == {"id": "unknown", "role": "owner"}  # whoever typed: not known
    assert (failure["subject"], failure["method"], failure["reason"]) == (f"card:{issued.card.number}", "card",
                                                                          "bad_pin")
    assert not _texts_holding(entries(session, alpha), "000111")


def _texts_holding(value, secret: str, *, key: str = "") -> list[str]:
    """Every string in the entries holding `secret`, except random identifiers (card numbers,
    pseudonyms, address hashes), which may contain any digits by chance (regression: a card
    numbered 000111486502 failed this test)."""
    if isinstance(value, dict):
        return [text for name, item in value.items() for text in _texts_holding(item, secret, key=name)]
    if isinstance(value, list):
        return [text for item in value for text in _texts_holding(item, secret, key=key)]
    if isinstance(value, str) and secret in value and (value == secret or key not in ("subject", "id", "source")):
        return [value]
    return []


def test_an_account_over_several_estates_is_logged_in_each_and_the_administrator_in_none(session, world):
    alpha, beta = world.alpha.estate, world.beta.estate
    both = kit.make_account(session, Role.OBSERVER, world, username="obs-both", estates=[alpha, beta])
    accounts.record_login(session, account=both, ip=IP, now=kit.T0, method="password")
    street = kit.make_account(session, Role.STREET_OFFICE, world, username="so-alpha")
    accounts.set_scope(session, by=None, account=both, estate_ids={alpha.id}, now=kit.T0)  # the operator
    admin = kit.make_account(session, Role.ADMIN, world, username="root-admin")
    accounts.record_login(session, account=admin, ip=IP, now=kit.T0, method="password+totp")

    for estate in (alpha, beta):
        created, = [e for e in of_type(session, estate, "account.created") if e["subject"] == f"account:{both.pseudonym}"]
        assert created["actor"] == {"id": "cli", "role": "operator"}
        assert (created["account_role"], created["estates"]) == ("observer", ["alpha", "beta"])
        login, = of_type(session, estate, "login.succeeded")
        assert login["actor"]["id"] == both.pseudonym
        scope, = of_type(session, estate, "account.scope_changed")  # in the estate it left, too
        assert (scope["before"], scope["after"]) == (["alpha", "beta"], ["alpha"])
        assert scope["actor"] == {"id": "cli", "role": "operator"}
    street_created = [e for e in of_type(session, alpha, "account.created") if e["account_role"] == "street_office"]
    assert len(street_created) == 1 and street_created[0]["estates"] == []  # its street office's estates: alpha
    assert of_type(session, beta, "account.created")[-1]["subject"] != f"account:{street.pseudonym}"
    assert all(e["actor"]["id"] != admin.pseudonym for estate in (alpha, beta) for e in entries(session, estate))


def test_a_security_event_and_its_entry_commit_or_roll_back_together(own_engine):
    engine_copy = own_engine
    with unit_of_work(engine_copy) as session:
        world = kit.build_world(session)
        alpha_id = world.alpha.estate.id
    before = None
    with unit_of_work(engine_copy) as session:
        before = store.size(session, estate_id=alpha_id)
    with pytest.raises(RuntimeError), unit_of_work(engine_copy) as session:
        events.record(session, events.CARD_REVOKED, estate_id=alpha_id, subject="card:1", actor_pseudonym="s1",
                      actor_role="residents_committee", reason="test")
        assert store.size(session, estate_id=alpha_id) == before + 1
        raise RuntimeError("the request failed after the event")
    with unit_of_work(engine_copy) as session:
        from assembly.auth.models import SecurityEvent

        assert store.size(session, estate_id=alpha_id) == before
        assert session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.CARD_REVOKED)).first() is None


def test_an_export_with_logins_and_card_events_verifies(own_engine, tmp_path):
    engine_copy = own_engine
    settings = get_settings()
    with unit_of_work(engine_copy) as session:
        world = kit.build_world(session, extra_owners=2)
        rc = kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-alpha")
        observer = kit.make_account(session, Role.OBSERVER, world, username="obs-alpha")
        issuer = account_principal(session, rc)
        issued = cards.issue_card(session, person=world.alpha.owners[1].person, issued_by=issuer, ip=IP)
        cards.reissue_card(session, card=issued.card, issued_by=issuer, ip=IP)
        accounts.check_password(session, settings=settings, username="obs-alpha", password="nope-nope-nope", ip=IP,
                                now=kit.T0)
        accounts.record_login(session, account=observer, ip=IP, now=kit.T0, method="password")
        estate = world.alpha.estate
        session.expunge_all()
    with unit_of_work(engine_copy) as session:
        count = service.export(session, settings=settings, estate=estate, out=tmp_path / "export")
    report = verify_export(tmp_path / "export")
    assert report.ok, report.render_text("en")
    kinds = [json.loads(line)["type"] for line in (tmp_path / "export" / "entries.jsonl").read_text().splitlines()]
    assert count == len(kinds) >= 7
    assert {"register.version", "account.created", "card.issued", "card.reissued", "login.failed",
            "login.succeeded"} <= set(kinds)
