"""Staff accounts: who creates whom, scopes, password + TOTP login, and what the security log keeps."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from assembly.auth import accounts, events, throttle, totp
from assembly.auth.models import AccountEstate, SecurityEvent
from assembly.errors import Conflict, Forbidden, InvalidInput
from assembly.permissions import Role


def _create(session, kit, by, role, *, username="new-user", estates=(), street_office=None):
    return accounts.create_account(
        session, created_by=by, username=username, display_name="新账户", role=role, now=kit.T0,
        estate_ids={estate.id for estate in estates}, street_office_id=street_office.id if street_office else None,
    )


def test_operator_creates_the_first_admin_with_a_one_time_password(session, kit):
    created = _create(session, kit, None, Role.ADMIN, username="root")
    assert created.account.role == "admin" and created.password not in created.account.password_hash
    assert accounts.needs_second_factor(created.account) == "totp_setup"
    event = session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.ACCOUNT_CREATED)).one()
    assert event.actor_role == accounts.OPERATOR and created.password not in event.details_json


def test_admin_creates_street_offices_and_street_offices_create_the_rest(session, kit, world):
    admin = kit.principal(session, kit.make_account(session, Role.ADMIN, world))
    office = _create(session, kit, admin, Role.STREET_OFFICE, username="office", street_office=world.alpha.street_office)
    office_principal = kit.principal(session, office.account)
    for role in (Role.OBSERVER, Role.RESIDENTS_COMMITTEE, Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER,
                 Role.COMMITTEE_STAFF):
        made = _create(session, kit, office_principal, role, username=f"u-{role.value.replace('_', '-')}",
                       estates=[world.alpha.estate])
        assert made.account.created_by_id == office.account.id


@pytest.mark.parametrize(
    ("creator", "role"),
    [
        (Role.STREET_OFFICE, Role.STREET_OFFICE),
        (Role.STREET_OFFICE, Role.ADMIN),
        (Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER),  # the committee never makes accounts
        (Role.RESIDENTS_COMMITTEE, Role.OBSERVER),
        (Role.OBSERVER, Role.OBSERVER),
        (Role.ADMIN, Role.OBSERVER),  # the administrator does not appoint observers: the street office does
    ],
)
def test_nobody_creates_outside_the_hierarchy(session, kit, world, creator, role):
    by = kit.principal(session, kit.make_account(session, creator, world, username="creator"))
    with pytest.raises(Forbidden) as refused:
        _create(session, kit, by, role, estates=[world.alpha.estate])
    assert refused.value.code == "role_forbidden"


def test_a_street_office_only_creates_for_its_own_estates(session, kit, world):
    office = kit.principal(session, kit.make_account(session, Role.STREET_OFFICE, world))
    with pytest.raises(Forbidden) as refused:
        _create(session, kit, office, Role.OBSERVER, estates=[world.beta.estate])
    assert refused.value.code == "estate_forbidden"


@pytest.mark.parametrize(
    ("role", "estates", "code"),
    [
        (Role.COMMITTEE_CHAIR, 2, "one_estate_required"),
        (Role.COMMITTEE_MEMBER, 0, "one_estate_required"),
        (Role.OBSERVER, 0, "estate_required"),
        (Role.ADMIN, 1, "scope_not_allowed"),
        (Role.OWNER, 1, "owner_account"),
    ],
)
def test_scope_shapes_are_checked(session, kit, world, role, estates, code):
    chosen = [world.alpha.estate, world.beta.estate][:estates]
    with pytest.raises(InvalidInput) as refused:
        _create(session, kit, None, role, estates=chosen)
    assert refused.value.code == code


@pytest.mark.parametrize("username", ["ab", "有中文", "UPPER CASE", "x" * 41, "-leading"])
def test_usernames_are_checked(session, kit, world, username):
    with pytest.raises(InvalidInput):
        _create(session, kit, None, Role.OBSERVER, username=username, estates=[world.alpha.estate])


def test_usernames_are_unique_whatever_the_case(session, kit, world):
    _create(session, kit, None, Role.OBSERVER, username="zhang.wei", estates=[world.alpha.estate])
    with pytest.raises(Conflict):
        _create(session, kit, None, Role.OBSERVER, username="Zhang.Wei", estates=[world.alpha.estate])


def test_scope_change_and_disable_are_recorded(session, kit, world):
    office = kit.principal(session, kit.make_account(session, Role.STREET_OFFICE, world))
    observer = kit.make_account(session, Role.OBSERVER, world, username="watcher")
    accounts.set_scope(session, by=None, account=observer, estate_ids={world.alpha.estate.id, world.beta.estate.id},
                       now=kit.T0)
    with pytest.raises(Forbidden):  # beta is outside the street office's reach now
        accounts.set_scope(session, by=office, account=observer, estate_ids={world.alpha.estate.id}, now=kit.T0)
    accounts.set_scope(session, by=None, account=observer, estate_ids={world.alpha.estate.id}, now=kit.T0)
    held = session.scalars(select(AccountEstate.estate_id).where(AccountEstate.account_id == observer.id)).all()
    assert held == [world.alpha.estate.id]
    accounts.disable_account(session, by=office, account=observer, now=kit.T0)
    types = session.scalars(select(SecurityEvent.type).where(SecurityEvent.subject == f"account:{observer.id}")).all()
    assert types.count(events.ACCOUNT_SCOPE_CHANGED) == 2 and events.ACCOUNT_DISABLED in types
    change = session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.ACCOUNT_SCOPE_CHANGED)).first()
    assert json.loads(change.details_json)["before"] == [world.alpha.estate.id]


def _login(session, kit, settings, username, password, *, ip="10.0.0.1", now=None):
    return accounts.check_password(session, settings=settings, username=username, password=password, ip=ip,
                                   now=now or kit.T0)


def test_password_login(session, kit, world, settings):
    account = kit.make_account(session, Role.OBSERVER, world, username="zhang.wei")
    assert _login(session, kit, settings, "  Zhang.Wei ", kit.PASSWORD).account.id == account.id
    wrong = _login(session, kit, settings, "zhang.wei", "wrong-password")
    unknown = _login(session, kit, settings, "li.na", kit.PASSWORD)
    assert wrong.error.code == unknown.error.code == "bad_credentials"
    assert wrong.error.message == unknown.error.message  # the answer never says whether the user exists


def test_failed_logins_are_recorded_without_anything_typed(session, kit, world, settings):
    kit.make_account(session, Role.OBSERVER, world, username="zhang.wei")
    _login(session, kit, settings, "zhang.wei", "My-Secret-Guess-1")
    _login(session, kit, settings, "My-Secret-Guess-2", "whatever-typed-3")
    failed = session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.LOGIN_FAILED)
                             .order_by(SecurityEvent.id)).all()
    assert [event.reason for event in failed] == ["bad_password", "unknown_account"]
    assert failed[0].actor_pseudonym and failed[1].actor_pseudonym is None
    everything = " ".join(f"{e.details_json} {e.subject} {e.actor_pseudonym} {e.reason}" for e in failed)
    for typed in ("My-Secret-Guess", "whatever-typed", "zhang.wei"):
        assert typed not in everything
    assert all(event.ip == "10.0.0.1" for event in failed)


def test_disabled_account_cannot_log_in(session, kit, world, settings):
    account = kit.make_account(session, Role.OBSERVER, world)
    accounts.disable_account(session, by=None, account=account, now=kit.T0)
    attempt = _login(session, kit, settings, account.username, kit.PASSWORD)
    assert not attempt.ok and "停用" in attempt.error.message


def test_repeated_failures_slow_down_the_account_then_refuse_without_checking(session, kit, world, settings):
    account = kit.make_account(session, Role.OBSERVER, world)
    messages = [_login(session, kit, settings, account.username, "nope-nope-nope").error.message for _ in range(6)]
    assert "后再试" not in messages[4] and "请在 30 秒后再试" in messages[5]
    refused = _login(session, kit, settings, account.username, kit.PASSWORD)  # even the right password waits
    assert refused.error.code == "throttled" and refused.error.retry_after == 30
    assert _login(session, kit, settings, account.username, kit.PASSWORD, now=kit.T0 + timedelta(seconds=30)).ok
    slowed = session.scalars(select(SecurityEvent).where(SecurityEvent.type == events.LOGIN_THROTTLED)).all()
    assert len(slowed) == 1 and slowed[0].reason == throttle.ACCOUNT


def test_totp_is_required_for_street_office_and_admin_and_offered_to_the_rest(session, kit, world, settings):
    for role in (Role.ADMIN, Role.STREET_OFFICE):
        assert accounts.needs_second_factor(kit.make_account(session, role, world, username=f"x-{role.value[:6]}")) \
            == "totp_setup"
    observer = kit.make_account(session, Role.OBSERVER, world)
    assert accounts.needs_second_factor(observer) is None
    kit.enrol_totp(session, observer)
    assert accounts.needs_second_factor(observer) == "totp"


def test_totp_setup_then_codes_once_each(session, kit, world, settings):
    office = kit.make_account(session, Role.STREET_OFFICE, world)
    secret = accounts.begin_totp_setup(session, account=office, settings=settings)
    assert accounts.begin_totp_setup(session, account=office, settings=settings) == secret  # a reload shows the same
    code = totp.totp(secret, kit.T0)
    wrong = accounts.check_totp(session, settings=settings, account=office, code="000000", ip=None, now=kit.T0,
                                setup=True)
    assert not wrong.ok and office.totp_enabled_at is None
    assert accounts.check_totp(session, settings=settings, account=office, code=code, ip=None, now=kit.T0,
                               setup=True).ok
    assert office.totp_enabled_at == kit.T0
    replay = accounts.check_totp(session, settings=settings, account=office, code=code, ip=None, now=kit.T0)
    assert not replay.ok  # the same code never works twice
    later = kit.T0 + timedelta(seconds=30)
    assert accounts.check_totp(session, settings=settings, account=office, code=totp.totp(secret, later), ip=None,
                               now=later).ok
    with pytest.raises(Conflict):
        accounts.begin_totp_setup(session, account=office, settings=settings)


def test_password_change_ends_other_sessions(session, kit, world, settings):
    from assembly.auth import sessions

    account = kit.make_account(session, Role.OBSERVER, world)
    here = sessions.start(session, settings=settings, now=kit.T0, account_id=account.id)
    elsewhere = sessions.start(session, settings=settings, now=kit.T0, account_id=account.id)
    weak = accounts.change_password(session, settings=settings, account=account, current=kit.PASSWORD, new="short",
                                    ip=None, now=kit.T0)
    assert weak.error.code == "weak_password"
    done = accounts.change_password(session, settings=settings, account=account, current=kit.PASSWORD,
                                    new="a-brand-new-passphrase", ip=None, now=kit.T0, keep_session_id=here.row.id)
    assert done.ok
    session.expire_all()
    assert sessions.resolve(session, token=here.token, settings=settings, now=kit.T0)
    assert sessions.resolve(session, token=elsewhere.token, settings=settings, now=kit.T0) is None
    assert _login(session, kit, settings, account.username, "a-brand-new-passphrase").ok


@pytest.mark.real_argon2
def test_a_hash_with_old_parameters_is_upgraded_at_login(session, kit, world, settings):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    account = kit.make_account(session, Role.OBSERVER, world)
    account.password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID).hash(kit.PASSWORD)
    assert _login(session, kit, settings, account.username, kit.PASSWORD).ok
    assert not hashing.needs_rehash(account.password_hash)
    assert hashing.verify_secret(account.password_hash, kit.PASSWORD)


def test_wrong_codes_after_a_right_password_count_against_the_account(session, kit, world, settings):
    """Issue #22: the right password cleared the account's count before the code was checked, so an
    attacker holding the password could try codes limited only by their source address."""
    office = kit.make_account(session, Role.STREET_OFFICE, world)
    secret = kit.enrol_totp(session, office)
    key = accounts._throttle_keys(settings, office.username, None)[0][1]
    answers = []
    for attempt in range(6):
        now = kit.T0 + timedelta(minutes=attempt)  # each from a new address: only the account's count can stop it
        assert _login(session, kit, settings, office.username, kit.PASSWORD, ip=f"10.0.1.{attempt}", now=now).ok
        answers.append(accounts.check_totp(session, settings=settings, account=office, code="000000",
                                           ip=f"10.0.1.{attempt}", now=now))
    assert throttle.failures(session, throttle.ACCOUNT, key) == 6
    assert "请在 30 秒后再试" in answers[5].error.message
    refused = _login(session, kit, settings, office.username, kit.PASSWORD, ip="10.0.2.1",
                     now=kit.T0 + timedelta(minutes=5, seconds=10))
    assert refused.error.code == "throttled"  # the account waits, whatever the source
    later = kit.T0 + timedelta(minutes=6)
    assert _login(session, kit, settings, office.username, kit.PASSWORD, ip="10.0.2.1", now=later).ok
    assert throttle.failures(session, throttle.ACCOUNT, key) == 6  # a right password alone clears nothing
    assert accounts.check_totp(session, settings=settings, account=office, code=totp.totp(secret, later),
                               ip="10.0.2.1", now=later).ok
    assert throttle.failures(session, throttle.ACCOUNT, key) == 0  # the full login does


def test_display_names_with_invisible_control_characters_are_refused(session, kit, world):
    with pytest.raises(InvalidInput) as refused:
        accounts.create_account(session, created_by=None, username="root2", display_name="管理员\u202e", role=Role.ADMIN,
                                now=kit.T0, estate_ids=set(), street_office_id=None)
    assert refused.value.code == "hidden_character" and "U+202E" in refused.value.message
