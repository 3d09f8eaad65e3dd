"""A sale ends the seller's card: at once when no meeting needs it, otherwise — for a meeting they
voted in — once its objection period has ended (the minute ticker; issue #24 item 4: before, at the
announcement); `card.ended` entries and the owner's notice."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.auth import cards
from assembly.auth.errors import CardRevoked
from assembly.auth.models import AuthSession, OwnerCard
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.models import utcnow
from assembly.notify.owner_models import OwnerNotice
from assembly.permissions import Principal, Role
from assembly.register import service
from assembly.register.rows import RegisterRow
from assembly.voting import card_ends, casting, closing, meetings
from assembly.voting.meetings import MotionDraft
from tests.voting.meeting_world import record_posting


def _rows(kit, *, sold: bool) -> list[RegisterRow]:
    """alpha's register (as the builders made it); `sold`: 1-1-101 now belongs to a buyer."""
    single = kit.id_number(1, tail_x=True)
    wife, husband, landlord = kit.id_number(20), kit.id_number(21), kit.id_number(22)
    first = (RegisterRow(unit="1-1-101", registry=Decimal("89.50"), owner_name="赵买家", id_number=kit.id_number(300))
             if sold else RegisterRow(unit="1-1-101", registry=Decimal("89.50"), owner_name="王小明", id_number=single))
    return [
        first,
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="李秀英", id_number=wife),
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="张建国", id_number=husband),
        RegisterRow(unit="1-1-103", contract=Decimal("60"), owner_name="陈大文", id_number=landlord),
        RegisterRow(unit="1-1-104", registry=Decimal("61.5"), owner_name="陈大文", id_number=landlord),
        RegisterRow(unit="1-1-105", registry=Decimal("75"), developer=True, owner_name="开发商"),
    ]


def _sell(session, world, kit, *, now=None):
    return service.apply_register(session, estate=world.alpha.estate, rows=_rows(kit, sold=True), reason="1-1-101 过户",
                                  evidence_ref="不动产登记 2026-1", actor="test", id_key=get_settings().id_hash_key,
                                  now=now)


def _ended_entries(session, estate):
    rows = session.scalars(select(AuditEntry).where(AuditEntry.estate_id == estate.id, AuditEntry.type == "card.ended"))
    return [json.loads(row.body) for row in rows]


def _chair(world) -> Principal:
    return Principal(kind="account", role=Role.COMMITTEE_CHAIR, estate_ids=frozenset({world.alpha.estate.id}),
                     account_id=1, pseudonym="a-chair", display_name="主任")


def test_a_sale_ends_the_sellers_card_at_once_when_no_meeting_froze_them(session, world, issuer, kit):
    seller = world.alpha.owners[0]
    issued = kit.issue(session, seller, issuer)
    cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=utcnow())
    kept = kit.issue(session, world.alpha.owners[1], issuer)  # the wife still owns 1-1-102
    other_estate = kit.issue(session, world.beta.owners[0], kit.make_account(
        session, Role.RESIDENTS_COMMITTEE, world, username="rc-beta", estates=[world.beta.estate]))

    outcome = _sell(session, world, kit)
    assert outcome.created
    assert issued.card.revoked_at is not None and issued.card.revoked_reason == "not_owner_of_record"
    assert kept.card.revoked_at is None and other_estate.card.revoked_at is None
    with pytest.raises(CardRevoked):
        cards.card_by_token(session, issued.token)
    (entry,) = _ended_entries(session, world.alpha.estate)
    assert entry["subject"] == f"card:{issued.card.number}" and entry["owner"] == seller.person.pseudonym
    assert entry["reason"] == "not_owner_of_record" and entry["register_version"] == outcome.version.number
    (notice,) = session.scalars(select(OwnerNotice).where(OwnerNotice.person_id == seller.person.id,
                                                          OwnerNotice.event == "card.ended")).all()
    assert issued.card.number[-4:] in notice.text and f"第 {outcome.version.number} 版" in notice.text
    # applying the same register again changes nothing and ends nothing twice
    again = _sell(session, world, kit)
    assert not again.created and len(_ended_entries(session, world.alpha.estate)) == 1


def test_a_log_with_card_ended_verifies_offline(session, world, issuer, kit, tmp_path):
    from assembly.audit import service as audit_service
    from assembly.audit.verify import verify_export

    issued = kit.issue(session, world.alpha.owners[0], issuer)
    _sell(session, world, kit)
    assert issued.card.revoked_at is not None
    out = tmp_path / "export"
    audit_service.export(session, settings=get_settings(), estate=world.alpha.estate, out=out)
    report = verify_export(out)
    assert report.ok, report.render_text("en")


def _vote(session, world, meeting, person, now):
    """The seller votes before the sale: what keeps their card (issue #24 item 4)."""
    principal = Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({world.alpha.estate.id}),
                          person_id=person.id, pseudonym=person.pseudonym, display_name=person.name)
    (motion,) = meetings.motions_of(session, meeting=meeting)
    casting.cast(session, meeting=meeting, motion=motion, principal=principal, member_key=f"owners:{person.pseudonym}",
                 choice="agree", idempotency_key="seller", now=now)


def test_a_card_of_a_seller_who_voted_in_an_open_meeting_waits_for_its_objection_period(session, world, issuer,
                                                                                         kit):
    seller = world.alpha.owners[0]
    issued = kit.issue(session, seller, issuer)
    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=start)
    meeting = meetings.create_meeting(session, estate=world.alpha.estate, principal=_chair(world), title="年度大会",
                                      closes_at=start + timedelta(days=30), now=start,
                                      motions=[MotionDraft(item=4, title="续聘物业", text="续聘三年。")])
    meetings.publish(session, meeting=meeting, estate=world.alpha.estate, principal=_chair(world), now=start)
    record_posting(session, meeting, _chair(world), now=start)
    opened = meetings.earliest_open(start)
    meetings.open_voting(session, meeting=meeting, estate=world.alpha.estate, principal=_chair(world), now=opened)

    _vote(session, world, meeting, seller.person, opened + timedelta(minutes=30))
    _sell(session, world, kit, now=opened + timedelta(hours=1))
    assert issued.card.revoked_at is None  # they voted in the meeting: the card keeps working for it
    assert card_ends.waiting_for(session, person=seller.person, now=opened + timedelta(hours=2)) == [meeting]
    assert cards.card_by_token(session, issued.token).id == issued.card.id
    # and what it reaches is the frozen roll, read-only: the member they sold, with their ballot
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=seller.person.pseudonym)
    assert held.units == ("1-1-101",) and held.sold is not None
    # the ticker's duty leaves it alone while the meeting is open
    assert card_ends.end_former_owners(session, now=opened + timedelta(days=1)) == []

    later = meeting.closes_at + timedelta(days=meeting.paper_grace_days + 1)
    for step in range(3):
        closing.close_due_meetings(session, now=later + timedelta(hours=step))
        if meeting.announced_at is not None:
            break
    assert meeting.announced_at is not None
    assert card_ends.end_former_owners(session, now=later + timedelta(hours=4)) == []  # objection period
    ends = meeting.announced_at + timedelta(days=meeting.objection_days)
    ended = card_ends.end_former_owners(session, now=ends)
    assert ended == [issued.card] and issued.card.revoked_at is not None
    (entry,) = _ended_entries(session, world.alpha.estate)
    assert entry["actor"] == {"id": "system", "role": "system"}
    assert card_ends.end_former_owners(session, now=ends + timedelta(hours=1)) == []


def test_the_ticker_ends_waiting_cards_and_their_sessions(engine_copy, kit):
    """The minute ticker on a database of its own: a committed sale, a meeting announced, a tick."""
    from assembly.jobs import run_all_due

    settings = get_settings()
    with unit_of_work(engine_copy) as session:
        world = kit.build_world(session)
        issuer = kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-tick")
        issued = kit.issue(session, world.alpha.owners[0], issuer)
        start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
        cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=start)
        meeting = meetings.create_meeting(session, estate=world.alpha.estate, principal=_chair(world), title="大会",
                                          closes_at=start + timedelta(days=30), now=start,
                                          motions=[MotionDraft(item=4, title="续聘物业", text="续聘三年。")])
        meetings.publish(session, meeting=meeting, estate=world.alpha.estate, principal=_chair(world), now=start)
        record_posting(session, meeting, _chair(world), now=start)
        opened = meetings.earliest_open(start)
        meetings.open_voting(session, meeting=meeting, estate=world.alpha.estate, principal=_chair(world), now=opened)
        session.add(AuthSession(sid_hash="x" * 64, card_id=issued.card.id, created_at=start, last_seen_at=start,
                                expires_at=start + timedelta(days=60)))
        _vote(session, world, meeting, world.alpha.owners[0].person, opened + timedelta(hours=1))
        _sell(session, world, kit, now=opened + timedelta(days=1))
        card_id, meeting_id = issued.card.id, meeting.id
    with unit_of_work(engine_copy) as session:
        assert session.get(OwnerCard, card_id).revoked_at is None
    after = start + timedelta(days=30 + 10)
    for step in range(3):  # close, count, announce
        run_all_due(engine_copy, settings, after + timedelta(minutes=step))
    with unit_of_work(engine_copy) as session:  # the seller voted: the card waits for the objection period
        assert session.get(OwnerCard, card_id).revoked_at is None
    run_all_due(engine_copy, settings, after + timedelta(days=8))
    with unit_of_work(engine_copy) as session:
        from assembly.voting.models import Meeting

        assert session.get(Meeting, meeting_id).announced_at is not None
        card = session.get(OwnerCard, card_id)
        assert card.revoked_at is not None and card.revoked_reason == "not_owner_of_record"
        open_sessions = session.scalars(select(AuthSession).where(AuthSession.card_id == card_id,
                                                                  AuthSession.revoked_at.is_(None))).all()
        assert open_sessions == []


def test_the_sellers_home_page_says_which_meetings_the_card_still_works_for(web, kit):
    owner = web.world.alpha.owners[0]
    t0 = web.clock.now
    with web.session() as session:
        issuer = kit.make_account(session, Role.RESIDENTS_COMMITTEE, web.world, username="rc-sale")
        issued = kit.issue(session, owner, issuer, now=t0)
        cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=t0)
        chair = _chair(web.world)
        meeting = meetings.create_meeting(session, estate=web.world.alpha.estate, principal=chair, title="年度业主大会",
                                          closes_at=t0 + timedelta(days=30), now=t0,
                                          motions=[MotionDraft(item=4, title="续聘物业", text="续聘三年。")])
        meetings.publish(session, meeting=meeting, estate=web.world.alpha.estate, principal=chair, now=t0)
        record_posting(session, meeting, chair, now=t0)
        opened = meetings.open_voting(session, meeting=meeting, estate=web.world.alpha.estate, principal=chair,
                                      now=meetings.earliest_open(t0)).opens_at
        _vote(session, web.world, meeting, owner.person, opened + timedelta(hours=1))
        _sell(session, web.world, kit, now=opened + timedelta(days=1))
    web.clock.now = opened + timedelta(days=1)
    phone = web.client()
    response = phone.post(f"/c/{issued.token}/login",
                          data={"pin": "480913", "csrf_token": kit.csrf_of(phone, f"/c/{issued.token}")})
    assert response.status_code == 303
    home = phone.get("/me").text
    assert 'id="card-ending"' in home and "“年度业主大会”" in home and "最新的业主名册中没有您名下的房屋" in home
