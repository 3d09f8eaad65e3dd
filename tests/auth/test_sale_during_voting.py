"""Issue #24 item 4: a sale registered during voting moves the vote to the buyer (Civil Code Art. 273
¶2, effective on registration: Arts. 209, 214). Before, the seller kept voting through the frozen
roll and the buyer could not vote at all; the seller's card ended at the announcement, before the
objection period in which they might say "this is not my vote"."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from assembly import identity
from assembly.audit.models import AuditEntry
from assembly.auth import cards
from assembly.config import get_settings
from assembly.errors import Forbidden
from assembly.models import utcnow
from assembly.permissions import Principal, Role
from assembly.register import service
from assembly.register.models import Person, RollSnapshot
from assembly.register.rows import RegisterRow
from assembly.voting import card_ends, casting, closing, meetings
from assembly.voting.meetings import MotionDraft
from tests.voting.meeting_world import record_posting

UNIT = "1-1-101"


def _rows(kit, *, sold: bool) -> list[RegisterRow]:
    """alpha's register; `sold`: 1-1-101 now belongs to a buyer."""
    first = (RegisterRow(unit=UNIT, registry=Decimal("89.50"), owner_name="赵买家", id_number=kit.id_number(300))
             if sold else RegisterRow(unit=UNIT, registry=Decimal("89.50"), owner_name="王小明",
                                      id_number=kit.id_number(1, tail_x=True)))
    landlord = kit.id_number(22)
    return [
        first,
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="李秀英", id_number=kit.id_number(20)),
        RegisterRow(unit="1-1-102", survey=Decimal("120.25"), owner_name="张建国", id_number=kit.id_number(21)),
        RegisterRow(unit="1-1-103", contract=Decimal("60"), owner_name="陈大文", id_number=landlord),
        RegisterRow(unit="1-1-104", registry=Decimal("61.5"), owner_name="陈大文", id_number=landlord),
        RegisterRow(unit="1-1-105", registry=Decimal("75"), developer=True, owner_name="开发商"),
    ]


def _sell(session, estate, kit, *, now):
    return service.apply_register(session, estate=estate, rows=_rows(kit, sold=True), reason="1-1-101 过户",
                                  evidence_ref="不动产登记 2026-1", actor="test", id_key=get_settings().id_hash_key,
                                  now=now)


def _chair(world) -> Principal:
    return Principal(kind="account", role=Role.COMMITTEE_CHAIR, estate_ids=frozenset({world.alpha.estate.id}),
                     account_id=1, pseudonym="a-chair", display_name="主任")


def _owner(world, person: Person) -> Principal:
    return Principal(kind="owner", role=Role.OWNER, estate_ids=frozenset({world.alpha.estate.id}),
                     person_id=person.id, pseudonym=person.pseudonym, display_name=person.name)


def _buyer(session, world, kit) -> Person:
    hashed = identity.id_hash(get_settings().id_hash_key, kit.id_number(300))
    return session.scalars(select(Person).where(Person.estate_id == world.alpha.estate.id,
                                                Person.id_hash == hashed)).one()


def _open_meeting(session, world, start, *, revote="last"):
    chair = _chair(world)
    meeting = meetings.create_meeting(session, estate=world.alpha.estate, principal=chair, title="年度大会",
                                      closes_at=start + timedelta(days=30), now=start, revote=revote,
                                      motions=[MotionDraft(item=4, title="续聘物业", text="续聘三年。")])
    meetings.publish(session, meeting=meeting, estate=world.alpha.estate, principal=chair, now=start)
    record_posting(session, meeting, chair, now=start)
    opened = meetings.earliest_open(start)
    meetings.open_voting(session, meeting=meeting, estate=world.alpha.estate, principal=chair, now=opened)
    return meeting, meetings.motions_of(session, meeting=meeting)[0], opened


def _announce(session, meeting, after):
    for step in range(3):
        closing.close_due_meetings(session, now=after + timedelta(hours=step))
        if meeting.announced_at is not None:
            return
    raise AssertionError("not announced")


def _entries(session, estate, kind):
    rows = session.scalars(select(AuditEntry).where(AuditEntry.estate_id == estate.id, AuditEntry.type == kind)
                           .order_by(AuditEntry.idx))
    return [json.loads(row.body) for row in rows]


@pytest.mark.parametrize("revote", ["last", "first"])
def test_the_buyer_votes_from_the_registration_and_their_ballot_replaces_the_sellers(session, world, kit, revote,
                                                                                      tmp_path):
    from assembly.audit import service as audit_service
    from assembly.audit.verify import verify_export

    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    seller = world.alpha.owners[0].person
    meeting, motion, opened = _open_meeting(session, world, start, revote=revote)
    member = f"owners:{seller.pseudonym}"
    casting.cast(session, meeting=meeting, motion=motion, principal=_owner(world, seller), member_key=member,
                 choice="agree", idempotency_key="seller-1", now=opened + timedelta(hours=1))

    sale = opened + timedelta(days=2)
    outcome = _sell(session, world.alpha.estate, kit, now=sale)
    buyer = _buyer(session, world, kit)
    (entry,) = _entries(session, world.alpha.estate, "roll.transferred")
    assert entry["member"] == member and entry["units"] == [UNIT] and entry["meeting"] == f"meeting-{meeting.id}"
    assert entry["before"] == [seller.pseudonym] and entry["after"] == [buyer.pseudonym]
    assert entry["register_version"] == outcome.version.number

    # the seller may not cast any more: a refusal naming the registration date and version
    with pytest.raises(Forbidden) as refused:
        casting.cast(session, meeting=meeting, motion=motion, principal=_owner(world, seller), member_key=member,
                     choice="oppose", idempotency_key="seller-2", now=sale + timedelta(hours=1))
    assert refused.value.code == "sold_during_voting"
    day = sale.astimezone(casting.SHANGHAI)
    assert f"{day:%Y年%m月%d日}" in refused.value.message and f"{day:%Y-%m-%d}" in refused.value.message
    assert f"第 {outcome.version.number} 版" in refused.value.message
    (sold,) = casting.holdings(session, meeting=meeting, pseudonym=seller.pseudonym)
    assert sold.sold is not None and sold.units == (UNIT,)
    # the seller still sees their own ballot (receipt); the buyer does not see it as theirs
    assert casting.my_ballots(session, motion=motion, member_keys=[member], held=[sold])[member].choice == "agree"
    (bought,) = casting.holdings(session, meeting=meeting, pseudonym=buyer.pseudonym)
    assert bought.member_key == member and bought.acquired is not None and bought.sold is None
    assert casting.my_ballots(session, motion=motion, member_keys=[member], held=[bought]) == {}

    # the buyer votes (under "first" too: the seller's ballot does not bind them)
    casting.cast(session, meeting=meeting, motion=motion, principal=_owner(world, buyer), member_key=member,
                 choice="oppose", idempotency_key="buyer-1", now=sale + timedelta(hours=2))
    _announce(session, meeting, meeting.closes_at + timedelta(days=meeting.paper_grace_days + 1))
    result = json.loads(motion.result_json)
    assert result["participating"]["heads"] == 1 and Decimal(result["participating"]["area"]) == Decimal("89.5")
    assert result["agree"]["heads"] == 0  # the buyer's "oppose" counted, not the seller's "agree"
    frozen = session.get(RollSnapshot, meeting.roll_snapshot_id)  # the denominators as frozen at the opening
    assert result["total"]["heads"] == frozen.total_heads == 4 and Decimal(result["total"]["area"]) == frozen.total_area
    document = json.loads(motion.tally_file)
    assert [ballot["choice"] for ballot in document["ballots"]] == ["oppose"]
    # and an observer's verifier, reading the log alone, agrees
    out = tmp_path / "export"
    audit_service.export(session, settings=get_settings(), estate=world.alpha.estate, out=out)
    report = verify_export(out)
    assert report.ok, report.render_text("en")


def test_the_sellers_ballot_stands_unless_the_buyer_votes(session, world, kit):
    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    seller = world.alpha.owners[0].person
    meeting, motion, opened = _open_meeting(session, world, start, revote="first")
    member = f"owners:{seller.pseudonym}"
    casting.cast(session, meeting=meeting, motion=motion, principal=_owner(world, seller), member_key=member,
                 choice="agree", idempotency_key="seller-1", now=opened + timedelta(hours=1))
    _sell(session, world.alpha.estate, kit, now=opened + timedelta(days=2))
    _announce(session, meeting, meeting.closes_at + timedelta(days=meeting.paper_grace_days + 1))
    result = json.loads(motion.result_json)
    assert result["agree"]["heads"] == 1 and Decimal(result["agree"]["area"]) == Decimal("89.5")


def test_a_seller_who_voted_keeps_read_access_until_the_objection_period_ends(session, world, issuer, kit):
    seller = world.alpha.owners[0]
    issued = kit.issue(session, seller, issuer)
    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=start)
    meeting, motion, opened = _open_meeting(session, world, start)
    casting.cast(session, meeting=meeting, motion=motion, principal=_owner(world, seller.person),
                 member_key=f"owners:{seller.person.pseudonym}", choice="agree", idempotency_key="k",
                 now=opened + timedelta(hours=1))
    _sell(session, world.alpha.estate, kit, now=opened + timedelta(days=1))
    assert issued.card.revoked_at is None
    _announce(session, meeting, meeting.closes_at + timedelta(days=meeting.paper_grace_days + 1))
    after = meeting.announced_at + timedelta(hours=1)
    assert card_ends.end_former_owners(session, now=after) == []  # before: ended at the announcement
    assert card_ends.waiting_for(session, person=seller.person, now=after) == [meeting]
    ends = meeting.announced_at + timedelta(days=meeting.objection_days)
    assert card_ends.end_former_owners(session, now=ends + timedelta(minutes=1)) == [issued.card]


def test_a_seller_who_did_not_vote_loses_the_card_with_the_sale(session, world, issuer, kit):
    seller = world.alpha.owners[0]
    issued = kit.issue(session, seller, issuer)
    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    meeting, _motion, opened = _open_meeting(session, world, start)
    _sell(session, world.alpha.estate, kit, now=opened + timedelta(days=1))
    assert issued.card.revoked_at is not None  # nothing of theirs left in the meeting: the vote moved
    assert casting.holdings(session, meeting=meeting, pseudonym=seller.person.pseudonym)[0].sold is not None


def test_the_buyer_logs_in_and_votes_and_the_seller_is_told_why_not(web, kit):
    t0 = web.clock.now
    seller = web.world.alpha.owners[0]
    with web.session() as session:
        issuer = kit.make_account(session, Role.RESIDENTS_COMMITTEE, web.world, username="rc-sale")
        seller_card = kit.issue(session, seller, issuer, now=t0)
        cards.set_first_pin(session, card=seller_card.card, pin="480913", ip=None, now=t0)
        meeting, motion, opened = _open_meeting(session, web.world, t0)
        casting.cast(session, meeting=meeting, motion=motion, principal=_owner(web.world, seller.person),
                     member_key=f"owners:{seller.person.pseudonym}", choice="agree", idempotency_key="k",
                     now=opened + timedelta(hours=1))
        sale = opened + timedelta(days=1)
        _sell(session, web.world.alpha.estate, kit, now=sale)
        buyer = _buyer(session, web.world, kit)
        buyer_card = cards.issue_card(session, person=buyer, issued_by=kit.principal(session, issuer), now=sale)
        cards.set_first_pin(session, card=buyer_card.card, pin="730521", ip=None, now=sale)
        code, meeting_id, motion_id = web.world.alpha.estate.code, meeting.id, motion.id
        member = f"owners:{seller.person.pseudonym}"
    web.clock.now = sale + timedelta(hours=2)
    page = f"/estate/{code}/meetings/{meeting_id}/motions/{motion_id}"
    day = sale.astimezone(casting.SHANGHAI)

    phone = web.client()
    assert phone.post(f"/c/{buyer_card.token}/login", data={
        "pin": "730521", "csrf_token": kit.csrf_of(phone, f"/c/{buyer_card.token}")}).status_code == 303
    text = phone.get(page).text
    assert 'id="bought-during-voting"' in text and UNIT in text and f'value="{member}"' in text
    voted = phone.post(f"{page}/vote", data={"member": member, "choice": "oppose", "confirm": "1",
                                             "request_key": "buyer-page", "csrf_token": kit.csrf_of(phone, page)})
    assert voted.status_code == 303 and "/ballots/" in voted.headers["location"]

    other = web.client()
    assert other.post(f"/c/{seller_card.token}/login", data={
        "pin": "480913", "csrf_token": kit.csrf_of(other, f"/c/{seller_card.token}")}).status_code == 303
    text = other.get(page).text
    assert 'id="sold-during-voting"' in text and f"{day:%Y年%m月%d日}" in text
    assert f'name="member" value="{member}"' not in text.split('id="objections"')[0]  # no voting form
    api = other.post(f"/api/estates/{code}/meetings/{meeting_id}/motions/{motion_id}/ballots",
                     json={"member": member, "choice": "oppose", "idempotency_key": "seller-api"},
                     headers={"X-CSRF-Token": kit.api_csrf(other)})
    assert api.status_code == 403, api.text
    assert "sold_during_voting" in api.text, api.json()
    english = web.client()
    english.cookies.set("lang", "en")
    assert english.post(f"/c/{seller_card.token}/login", data={
        "pin": "480913", "csrf_token": kit.csrf_of(english, f"/c/{seller_card.token}")}).status_code == 303
    assert "The sale of this unit was registered on" in english.get(page).text
