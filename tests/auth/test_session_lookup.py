"""Resolving a session cookie reads the session, and the card and person (or account) it speaks for,
in one statement; who the session is stays exactly what principal_for said before."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from assembly.auth import accounts, cards, sessions
from assembly.permissions import Role

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@contextmanager
def _statements(session):
    seen: list[str] = []
    connection = session.connection()

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


def _who(session, settings, token, *, now=T0 + timedelta(minutes=1)):
    session.expunge_all()  # as a request's fresh session finds it
    active = sessions.resolve(session, token=token, settings=settings, now=now)
    return None if active is None else sessions.principal_for(session, active.row)


def test_an_owner_session_is_its_owner_in_one_statement(kit, session, settings, world, issuer):
    owner = world.alpha.owners[0]
    card = kit.issue(session, owner, issuer).card
    new = sessions.start(session, settings=settings, now=T0, card_id=card.id)
    session.flush()
    with _statements(session) as seen:
        principal = _who(session, settings, new.token)
    assert len(seen) == 1
    assert principal.role == Role.OWNER and principal.card_id == card.id
    assert principal.person_id == owner.person.id and principal.pseudonym == owner.person.pseudonym
    assert principal.display_name == "王*明" and principal.estate_ids == {world.alpha.estate.id}
    assert principal.session_id == new.row.id


def test_a_revoked_card_or_disabled_account_still_ends_the_principal(kit, session, settings, world, issuer):
    card = kit.issue(session, world.alpha.owners[0], issuer).card
    owner_token = sessions.start(session, settings=settings, now=T0, card_id=card.id).token
    observer = kit.make_account(session, Role.OBSERVER, world)
    staff_token = sessions.start(session, settings=settings, now=T0, account_id=observer.id).token
    assert _who(session, settings, staff_token).role == Role.OBSERVER
    cards.revoke_card(session, card=card, by=sessions.account_principal(session, issuer), now=T0)
    accounts.disable_account(session, by=None, account=observer, now=T0)
    session.flush()
    assert _who(session, settings, owner_token) is None  # revoking a card ends its sessions
    assert _who(session, settings, staff_token) is None


def test_unknown_expired_and_idle_sessions_find_nobody(kit, session, settings, world):
    observer = kit.make_account(session, Role.OBSERVER, world)
    token = sessions.start(session, settings=settings, now=T0, account_id=observer.id).token
    session.flush()
    assert _who(session, settings, "not-a-token") is None
    idle = T0 + timedelta(minutes=settings.session_idle_minutes + 1)
    assert _who(session, settings, token, now=idle) is None
    assert _who(session, settings, token, now=T0 + timedelta(hours=settings.session_absolute_hours)) is None
