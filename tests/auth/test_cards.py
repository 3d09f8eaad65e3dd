"""Owner cards: who issues them, activation with the sealed slip, PINs, slow-downs, reissue and revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly import identity
from assembly.auth import cards, events, sessions, throttle, tokens
from assembly.auth.errors import CardNotFound, CardRevoked
from assembly.auth.models import OwnerCard, SecurityEvent
from assembly.errors import Conflict, Forbidden, InvalidInput
from assembly.permissions import Role


def _activate(session, settings, card, code, tail, *, ip="10.0.0.1", now):
    return cards.check_activation(session, settings=settings, card=card, activation_code=code, id_tail=tail, ip=ip,
                                  now=now)


def test_issued_card_keeps_only_hashes_and_returns_the_secrets_once(session, kit, world, issuer, settings):
    owner = world.alpha.owners[0]
    issued = kit.issue(session, owner, issuer)
    card = issued.card
    assert issued.token.startswith("ac_") and card.token_hash == tokens.sha256_hex(issued.token)
    assert issued.activation_code not in card.activation_hash and card.activation_hash.startswith("$argon2id$")
    assert len(card.number) == 12 and card.number.isdigit() and card.number[:4] == f"{world.alpha.estate.id:04d}"
    assert cards.luhn_digit(card.number[:-1]) == card.number[-1]
    assert issued.url("https://assembly.example/") == f"https://assembly.example/c/{issued.token}"
    assert cards.card_by_token(session, issued.token).id == card.id
    event = session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.CARD_ISSUED)).one()
    assert issued.token not in event.details_json and issued.activation_code not in event.details_json
    assert event.estate_id == world.alpha.estate.id and event.actor_role == "residents_committee"


@pytest.mark.parametrize("role", [Role.STREET_OFFICE, Role.RESIDENTS_COMMITTEE])
def test_district_staff_issue_cards(session, kit, world, role):
    staff = kit.make_account(session, role, world, username="issuer-x")
    assert kit.issue(session, world.alpha.owners[1], staff).card.person_id == world.alpha.owners[1].person.id


@pytest.mark.parametrize(
    "role", [Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, Role.COMMITTEE_STAFF, Role.OBSERVER, Role.ADMIN]
)
def test_never_the_committee_nor_anyone_else(session, kit, world, role):
    staff = kit.make_account(session, role, world, username="not-issuer")
    with pytest.raises(Forbidden):
        kit.issue(session, world.alpha.owners[0], staff)


def test_not_for_another_estate(session, kit, world, issuer):
    with pytest.raises(Forbidden) as refused:
        kit.issue(session, world.beta.owners[0], issuer)
    assert refused.value.code == "estate_forbidden"


def test_one_card_in_force_per_owner(session, kit, world, issuer):
    kit.issue(session, world.alpha.owners[0], issuer)
    with pytest.raises(Conflict) as refused:
        kit.issue(session, world.alpha.owners[0], issuer)
    assert refused.value.code == "card_exists"


def test_only_owners_of_record_get_cards(session, kit, world, issuer):
    from assembly.register.models import Person

    stranger = Person(estate_id=world.alpha.estate.id, pseudonym="pstranger", name="路人甲", id_hash="0" * 64,
                      id_tail_hash="0" * 64)
    session.add(stranger)
    session.flush()
    with pytest.raises(InvalidInput) as refused:
        cards.issue_card(session, person=stranger, issued_by=kit.principal(session, issuer), now=kit.T0)
    assert refused.value.code == "not_owner_of_record"


def test_tail_check_matches_the_register_hash(world, settings):
    owner = world.alpha.owners[0]
    assert owner.person.id_tail_hash == identity.id_tail_hash(settings.id_hash_key, owner.number)
    assert cards.tail_matches(owner.person, owner.tail, id_key=settings.id_hash_key)
    assert not cards.tail_matches(owner.person, "0000", id_key=settings.id_hash_key)


def test_activation_happy_path_then_pin(session, kit, world, issuer, settings):
    owner = world.alpha.owners[0]
    assert owner.tail.endswith("X")  # the builder makes this owner's ID end in X
    issued = kit.issue(session, owner, issuer)
    card = issued.card
    # spaces, a full-width digit and a lower-case x are what people type on phones
    code = f"{issued.activation_code[:4]} {issued.activation_code[4:]}".replace("1", "１")
    assert _activate(session, settings, card, code, owner.tail.lower(), now=kit.T0).ok
    assert card.activated_at is None  # activation completes only with a PIN
    weak = cards.set_first_pin(session, card=card, pin="123456", ip=None, now=kit.T0)
    assert weak.error.code == "weak_pin" and card.activation_hash is not None
    assert cards.set_first_pin(session, card=card, pin="480913", ip=None, now=kit.T0).ok
    assert card.activated_at == kit.T0 and card.activation_hash is None and card.pin_hash.startswith("$argon2id$")
    again = _activate(session, settings, card, issued.activation_code, owner.tail, now=kit.T0)
    assert again.error.code == "card_activated"  # the activation code is spent
    assert cards.check_pin(session, card=card, pin="480913", ip=None, now=kit.T0).ok
    assert session.scalars(select(SecurityEvent.type).where(SecurityEvent.type == events.CARD_ACTIVATED)).one()


@pytest.mark.parametrize(
    ("code", "tail"),
    [("wrong", "right"), ("right", "0000"), ("wrong", "0000"), ("", ""), ("right", "12"), ("right", "ABCDE"),
     ("1" * 200, "right"), ("right", "\u0000\u0000\u0000\u0000"), ("DROP TABLE", "'; --")],
)
def test_every_wrong_activation_is_refused_alike(session, kit, world, issuer, settings, code, tail):
    owner = world.alpha.owners[0]
    issued = kit.issue(session, owner, issuer)
    code = issued.activation_code if code == "right" else ("00000000" if code == "wrong" else code)
    tail = owner.tail if tail == "right" else tail
    attempt = _activate(session, settings, issued.card, code, tail, now=kit.T0)
    assert attempt.error.code == "bad_activation"
    assert attempt.error.message == cards.BAD_ACTIVATION  # never says which of the two was wrong
    failed = session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.LOGIN_FAILED)).one()
    assert failed.subject == f"card:{issued.card.id}" and failed.reason == "bad_activation"
    assert issued.activation_code not in failed.details_json


def test_wrong_pins_slow_down_per_card_and_cap(session, kit, world, issuer, settings):
    issued = kit.issue(session, world.alpha.owners[0], issuer)
    card = issued.card
    _activate(session, settings, card, issued.activation_code, world.alpha.owners[0].tail, now=kit.T0)
    cards.set_first_pin(session, card=card, pin="480913", ip=None, now=kit.T0)
    now = kit.T0
    waits = []
    for _ in range(11):
        assert cards.check_pin(session, card=card, pin="999999", ip="10.0.0.9", now=now).error.code == "bad_pin"
        wait = throttle.wait_seconds(session, throttle.CARD, str(card.id), now=now)
        waits.append(wait)
        if wait:  # while the delay runs, even the right PIN is not looked at
            refused = cards.check_pin(session, card=card, pin="480913", ip="10.0.0.9", now=now)
            assert refused.error.code == "throttled" and "后再试" in refused.error.message
        now += timedelta(seconds=wait)
    assert waits == [0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]
    assert cards.check_pin(session, card=card, pin="480913", ip="10.0.0.9", now=now).ok  # after the wait: in
    assert throttle.failures(session, throttle.CARD, str(card.id)) == 0


def test_a_stranger_is_delayed_at_most_fifteen_minutes(session, kit, world, issuer, settings):
    issued = kit.issue(session, world.alpha.owners[0], issuer)
    card = issued.card
    now = kit.T0
    for index in range(40):  # a stranger with a photo of the card, from many addresses, waiting out each delay
        _activate(session, settings, card, "00000000", "0000", ip=f"198.51.100.{index}", now=now)
        wait = throttle.wait_seconds(session, throttle.CARD, str(card.id), now=now)
        assert wait <= 15 * 60
        now += timedelta(seconds=wait)
    # the owner, right after the stranger's last delay: in
    assert _activate(session, settings, card, issued.activation_code, world.alpha.owners[0].tail, now=now).ok


def test_one_address_trying_many_cards_is_slowed_down_too(session, kit, world, issuer, settings):
    issued = [kit.issue(session, owner, issuer) for owner in world.alpha.owners]
    now, failures = kit.T0, 0
    while throttle.wait_seconds(session, throttle.IP, "203.0.113.5", now=now) == 0:
        card = issued[failures % len(issued)].card
        # waiting out each card's own delay, so that only the address's count can hold it back
        now += timedelta(seconds=throttle.wait_seconds(session, throttle.CARD, str(card.id), now=now))
        assert _activate(session, settings, card, "00000000", "0000", ip="203.0.113.5", now=now).error.code \
            == "bad_activation"
        failures += 1
    assert failures == 21  # twenty free failures per address, then the slow-down
    owner = world.alpha.owners[0]
    refused = _activate(session, settings, issued[0].card, issued[0].activation_code, owner.tail, ip="203.0.113.5",
                        now=now)
    assert refused.error.code == "throttled"
    later = now + timedelta(seconds=throttle.wait_seconds(session, throttle.CARD, str(issued[0].card.id), now=now))
    elsewhere = _activate(session, settings, issued[0].card, issued[0].activation_code, owner.tail, ip="192.0.2.1",
                          now=later)
    assert elsewhere.ok  # the owner at home is not held back by the address the attempts came from


def test_reissue_revokes_the_old_token_and_its_sessions_at_once(session, kit, world, issuer, settings):
    owner = world.alpha.owners[0]
    old = kit.issue(session, owner, issuer)
    logged_in = sessions.start(session, settings=settings, now=kit.T0, card_id=old.card.id)
    new = cards.reissue_card(session, card=old.card, issued_by=kit.principal(session, issuer), now=kit.T0)
    assert new.card.replaces_id == old.card.id and new.card.number != old.card.number
    with pytest.raises(CardRevoked):
        cards.card_by_token(session, old.token)
    assert cards.card_by_token(session, new.token).id == new.card.id
    session.expire_all()
    assert sessions.resolve(session, token=logged_in.token, settings=settings, now=kit.T0) is None
    with pytest.raises(Conflict):
        cards.reissue_card(session, card=old.card, issued_by=kit.principal(session, issuer), now=kit.T0)
    types = session.scalars(select(SecurityEvent.type)).all()
    assert events.CARD_REISSUED in types


def test_revoke_and_who_may(session, kit, world, issuer):
    issued = kit.issue(session, world.alpha.owners[0], issuer)
    chair = kit.make_account(session, Role.COMMITTEE_CHAIR, world)
    with pytest.raises(Forbidden):
        cards.revoke_card(session, card=issued.card, by=kit.principal(session, chair), now=kit.T0)
    beta_rc = kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-beta",
                               estates=[world.beta.estate])
    with pytest.raises(Forbidden):
        cards.reissue_card(session, card=issued.card, issued_by=kit.principal(session, beta_rc), now=kit.T0)
    cards.revoke_card(session, card=issued.card, by=kit.principal(session, issuer), now=kit.T0)
    with pytest.raises(CardRevoked):
        cards.card_by_token(session, issued.token)
    assert cards.active_card(session, person_id=world.alpha.owners[0].person.id) is None
    kit.issue(session, world.alpha.owners[0], issuer)  # a revoked card does not block a new one


@pytest.mark.parametrize("token", ["", "ac_", "nonsense", "ac_" + "A" * 27, "ac_" + "x" * 500, "../../etc/passwd"])
def test_unknown_or_malformed_tokens(session, world, token):
    with pytest.raises(CardNotFound):
        cards.card_by_token(session, token)


def test_owner_units_from_the_latest_register(session, world):
    landlord = world.alpha.owners[3]
    units = cards.owner_units(session, person=landlord.person)
    assert [unit["code"] for unit in units] == ["1-1-103", "1-1-104"]
    assert [(unit["area_source"], str(unit["area"])) for unit in units] == [("contract", "60"), ("registry", "61.5")] \
        or [unit["area_source"] for unit in units] == ["contract", "registry"]
    wife = world.alpha.owners[1]
    assert cards.owner_units(session, person=wife.person)[0]["owners"] == 2


def test_pin_change_needs_the_current_pin(session, kit, world, issuer, settings):
    issued = kit.issue(session, world.alpha.owners[0], issuer)
    card = issued.card
    _activate(session, settings, card, issued.activation_code, world.alpha.owners[0].tail, now=kit.T0)
    cards.set_first_pin(session, card=card, pin="480913", ip=None, now=kit.T0)
    assert cards.change_pin(session, card=card, current="999999", new="735190", ip=None, now=kit.T0).error.code \
        == "bad_pin"
    assert cards.change_pin(session, card=card, current="480913", new="111111", ip=None, now=kit.T0).error.code \
        == "weak_pin"
    assert cards.change_pin(session, card=card, current="480913", new="735190", ip=None, now=kit.T0).ok
    assert cards.check_pin(session, card=card, pin="735190", ip=None, now=kit.T0).ok


def test_recent_failures_are_there_for_the_owner(session, kit, world, issuer, settings):
    issued = kit.issue(session, world.alpha.owners[0], issuer)
    for _ in range(2):
        _activate(session, settings, issued.card, "00000000", "0000", now=kit.T0)
    assert len(cards.recent_failures(session, card=issued.card, now=kit.T0)) == 2
    assert cards.recent_failures(session, card=issued.card, now=kit.T0 + timedelta(days=31)) == []


def test_card_numbers_differ(session, kit, world, issuer):
    numbers = {kit.issue(session, owner, issuer).card.number for owner in world.alpha.owners}
    assert len(numbers) == len(world.alpha.owners)
    assert session.scalars(select(OwnerCard)).all()
