"""Server-side sessions: idle and absolute expiry on an injected clock, revocation, who a session is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assembly.auth import sessions
from assembly.permissions import ALL_ESTATES, Role

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)



def _start(session, settings, account, *, now=T0, stage=sessions.FULL):
    return sessions.start(session, settings=settings, now=now, stage=stage, account_id=account.id)


def test_new_session_is_found_by_its_token_and_only_its_hash_is_stored(kit, session, settings, world):
    account = kit.make_account(session, Role.OBSERVER, world)
    new = _start(session, settings, account)
    assert new.sid not in new.row.sid_hash and len(new.row.sid_hash) == 64
    active = sessions.resolve(session, token=new.token, settings=settings, now=T0 + timedelta(minutes=1))
    assert active.row.id == new.row.id and active.sid == new.sid


def test_every_login_gets_a_new_session_id(kit, session, settings, world):
    account = kit.make_account(session, Role.OBSERVER, world)
    ids = {_start(session, settings, account).sid for _ in range(5)}
    assert len(ids) == 5


def test_idle_timeout(kit, session, settings, world):
    account = kit.make_account(session, Role.OBSERVER, world)
    new = _start(session, settings, account)
    idle = timedelta(minutes=settings.session_idle_minutes)
    assert sessions.resolve(session, token=new.token, settings=settings, now=T0 + idle - timedelta(seconds=1))
    assert sessions.resolve(session, token=new.token, settings=settings, now=T0 + idle) is None
    # using the session moves the idle deadline
    sessions.touch(session, session_id=new.row.id, now=T0 + idle - timedelta(seconds=1))
    session.refresh(new.row)
    assert sessions.resolve(session, token=new.token, settings=settings, now=T0 + idle + timedelta(minutes=5))


def test_absolute_lifetime_even_when_always_busy(kit, session, settings, world):
    account = kit.make_account(session, Role.OBSERVER, world)
    new = _start(session, settings, account)
    lifetime = timedelta(hours=settings.session_absolute_hours)
    moment = T0
    while moment < T0 + lifetime - timedelta(minutes=10):
        moment += timedelta(minutes=10)
        sessions.touch(session, session_id=new.row.id, now=moment)
    session.refresh(new.row)
    assert sessions.resolve(session, token=new.token, settings=settings, now=T0 + lifetime - timedelta(seconds=1))
    assert sessions.resolve(session, token=new.token, settings=settings, now=T0 + lifetime) is None
    assert sessions.inactive_reason(new.row, settings=settings, now=T0 + lifetime) == "expired"


def test_needs_touch_only_once_a_minute(kit, session, settings, world):
    account = kit.make_account(session, Role.OBSERVER, world)
    new = _start(session, settings, account)
    assert not sessions.resolve(session, token=new.token, settings=settings, now=T0 + timedelta(seconds=30)).needs_touch
    assert sessions.resolve(session, token=new.token, settings=settings, now=T0 + timedelta(seconds=61)).needs_touch


def test_pending_steps_live_ten_minutes_and_grant_nothing(kit, session, settings, world):
    account = kit.make_account(session, Role.STREET_OFFICE, world)
    new = _start(session, settings, account, stage=sessions.TOTP)
    assert new.row.expires_at == T0 + sessions.PENDING_LIFETIME
    assert sessions.principal_for(session, new.row) is None


def test_logout_and_logout_everywhere_end_sessions_for_real(kit, session, settings, world):
    account = kit.make_account(session, Role.OBSERVER, world)
    other = kit.make_account(session, Role.OBSERVER, world, username="observer-2")
    first, second, third = (_start(session, settings, account) for _ in range(3))
    theirs = _start(session, settings, other)
    sessions.revoke(session, first.row, reason="logout", now=T0)
    assert sessions.resolve(session, token=first.token, settings=settings, now=T0) is None
    assert sessions.resolve(session, token=second.token, settings=settings, now=T0)
    assert sessions.revoke_all(session, now=T0, reason="logout_everywhere", account_id=account.id) == 2
    session.expire_all()
    for ended in (second, third):
        assert sessions.resolve(session, token=ended.token, settings=settings, now=T0) is None
    assert sessions.resolve(session, token=theirs.token, settings=settings, now=T0)  # someone else's stays


def test_a_forged_or_unknown_sid_finds_nothing(kit, session, settings, world):
    from assembly.auth import tokens

    account = kit.make_account(session, Role.OBSERVER, world)
    _start(session, settings, account)
    forged = tokens.encode_session_token("not-a-session", secret_key=settings.secret_key, issued_at=T0,
                                         expires_at=T0 + timedelta(hours=1))
    assert sessions.resolve(session, token=forged, settings=settings, now=T0) is None
    assert sessions.resolve(session, token=None, settings=settings, now=T0) is None


def test_principal_of_each_kind(kit, session, settings, world, issuer):
    observer = kit.make_account(session, Role.OBSERVER, world, estates=[world.alpha.estate, world.beta.estate])
    office = kit.make_account(session, Role.STREET_OFFICE, world)
    admin = kit.make_account(session, Role.ADMIN, world)
    seen = sessions.principal_for(session, _start(session, settings, observer).row)
    assert seen.role == Role.OBSERVER and seen.estate_ids == {world.alpha.estate.id, world.beta.estate.id}
    street = sessions.principal_for(session, _start(session, settings, office).row)
    assert street.estate_ids == {world.alpha.estate.id}  # its street office's estates, not beta
    assert sessions.principal_for(session, _start(session, settings, admin).row).estate_ids is ALL_ESTATES
    card = kit.issue(session, world.alpha.owners[0], issuer).card
    owner = sessions.principal_for(session, sessions.start(session, settings=settings, now=T0, card_id=card.id).row)
    assert owner.role == Role.OWNER and owner.estate_ids == {world.alpha.estate.id}
    assert owner.display_name == "王*明" and owner.pseudonym == world.alpha.owners[0].person.pseudonym


def test_disabled_account_or_revoked_card_ends_the_principal(kit, session, settings, world, issuer):
    from assembly.auth import accounts, cards

    observer = kit.make_account(session, Role.OBSERVER, world)
    row = _start(session, settings, observer).row
    accounts.disable_account(session, by=None, account=observer, now=T0)
    assert sessions.principal_for(session, row) is None
    card = kit.issue(session, world.alpha.owners[0], issuer).card
    owner_row = sessions.start(session, settings=settings, now=T0, card_id=card.id).row
    cards.revoke_card(session, card=card, by=sessions.account_principal(session, issuer), now=T0)
    assert sessions.principal_for(session, owner_row) is None
