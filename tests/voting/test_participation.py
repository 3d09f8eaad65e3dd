"""Which units have voted, never how: the lists, the estate map from unit codes, the CSV and JSON,
who may see them, and a constant number of queries however large the estate."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from assembly.voting import casting, meetings, participation
from assembly.voting.participation import UnitVote

from .meeting_world import build_estate, open_meeting, start_time
from .web_world import make_voting_web


def _vote(session, world, meeting, motion, who, choice, now):
    owner = world.owner(who)
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=owner.pseudonym)
    casting.cast(session, meeting=meeting, motion=motion, principal=owner, member_key=held.member_key,
                 choice=choice, idempotency_key=f"{who}-{choice}", now=now)


def test_a_unit_has_voted_when_its_member_has_a_ballot(session):
    world = build_estate(session)
    meeting, opened = open_meeting(session, world, now=start_time())
    (motion,) = meetings.motions_of(session, meeting=meeting)
    assert participation.participation(session, meeting=meeting, motion=motion).voted == []
    _vote(session, world, meeting, motion, "single", "agree", opened)
    _vote(session, world, meeting, motion, "landlord", "oppose", opened)  # one member of two units
    _vote(session, world, meeting, motion, "landlord", "agree", opened + timedelta(minutes=1))  # a revote: still once
    found = participation.participation(session, meeting=meeting, motion=motion)
    assert found.voted == ["1-1-101", "1-1-103", "1-1-104"]
    assert found.not_voted == ["1-1-102", "1-1-105", "2-1-101", "2-1-102"]
    assert found.voted_count == 3


def test_no_list_before_voting_opens(session):
    world = build_estate(session)
    from .meeting_world import draft_meeting

    meeting = draft_meeting(session, world, now=start_time())
    (motion,) = meetings.motions_of(session, meeting=meeting)
    assert participation.participation(session, meeting=meeting, motion=motion) is None


def test_a_few_queries_whatever_the_size_and_the_roll_read_once(session):
    world = build_estate(session, extra=40)
    meeting, opened = open_meeting(session, world, now=start_time())
    (motion,) = meetings.motions_of(session, meeting=meeting)

    def statements_of_one_look() -> tuple[list[str], participation.Participation]:
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731 - the statement of before_cursor_execute
        event.listen(session.get_bind(), "before_cursor_execute", listen)
        try:
            return statements, participation.participation(session, meeting=meeting, motion=motion)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", listen)

    first, found = statements_of_one_look()
    assert len(found.units) == 45 and len(first) == 3  # the snapshot, the members with a ballot, the roll's units
    _vote(session, world, meeting, motion, "extra7", "agree", opened)
    again, found = statements_of_one_look()
    assert len(again) == 2 and not any("roll_member_unit" in statement for statement in again)  # the roll is kept
    assert found.voted == ["2-1-108"]  # and the ballots are read afresh


def test_unit_codes_make_buildings_floors_and_rooms():
    units = [UnitVote(code, voted) for code, voted in (
        ("2-1-101", True), ("10-1-101", False), ("2-1-1203", False), ("2-2-102", True), ("2-1-102", False),
        ("A-301", True), ("商铺1", False), ("2-1-12", True))]
    estate_map = participation.estate_map(units)
    assert [b.name for b in estate_map.buildings] == ["2", "10", "A"]  # buildings in natural order
    two = estate_map.buildings[0]
    assert [f.number for f in two.floors] == [12, 1]  # top floor first
    assert two.columns == [("1", "01"), ("1", "02"), ("1", "03"), ("2", "02")]
    assert [c.unit if c else None for c in two.floors[1].cells] == ["2-1-101", "2-1-102", None, "2-2-102"]
    assert (two.voted, two.total) == (2, 4)
    assert estate_map.buildings[2].columns == [("", "01")] and estate_map.buildings[2].floors[0].number == 3
    assert [u.unit for u in estate_map.unplaced] == ["商铺1", "2-1-12"]  # listed, never dropped
    assert participation.place("1-2-1203") == ("1", "2", 12, "03") and participation.place("x") is None


# --- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def site(engine_copy):
    return make_voting_web(engine_copy)


def _open_with_votes(site) -> tuple[str, int, int]:
    chair = site.staff("chair")
    closes = (site.clock.now + timedelta(days=30)).isoformat()
    created = chair.post("/api/estates/alpha/meetings", json={
        "title": "业主大会", "closes_at": closes, "motions": [{"item": 4, "title": "续聘物业", "text": "三年"}]})
    meeting = created.json()["id"]
    motion = created.json()["motions"][0]["id"]
    rc = site.staff("rc-staff")
    base = f"/estate/alpha/meetings/{meeting}/motions/{motion}"
    assert rc.get(f"{base}/voted").status_code == 404  # a draft is the committee's
    chair.post(f"/api/estates/alpha/meetings/{meeting}/publish")
    site.post_notice(chair, meeting)
    assert "投票开始后" in rc.get(f"{base}/map").text
    site.clock.pass_notice_period()
    chair = site.staff("chair")
    assert chair.post(f"/api/estates/alpha/meetings/{meeting}/open").status_code == 200
    for who in ("single", "wife"):
        voter = site.owner(who)
        member = voter.get(f"/api/estates/alpha/meetings/{meeting}/mine").json()["members"][0]["member"]
        response = voter.post(f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/ballots",
                              json={"member": member, "choice": "oppose", "idempotency_key": who})
        assert response.status_code == 201
    return base, meeting, motion


def test_committee_observers_and_residents_committee_see_who_voted_never_how(site):
    base, meeting, motion = _open_with_votes(site)
    for who in ("chair", "observer", "rc-staff"):
        client = site.staff(who)
        page = client.get(f"{base}/voted")
        assert page.status_code == 200 and "尚未投票的房屋" in page.text
        not_voted = re.search(r'class="unit-list not-voted-list">([^<]*)<', page.text).group(1)
        assert not_voted == "1-1-103、1-1-104、1-1-105" and 'hx-trigger="every 30s"' in page.text
        assert "反对" not in page.text and "王小明" not in page.text  # never how, never who
        listed = client.get(f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/voted").json()
        assert listed["voted"] == ["1-1-101", "1-1-102"] and listed["units"] == 8
        assert listed["not_voted"] == ["1-1-103", "1-1-104", "1-1-105", "2-1-101", "2-1-102", "2-1-103"]
    chair = site.staff("chair")
    csv = chair.get(f"{base}/voted.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
    assert csv.text.splitlines()[:3] == ["\ufeff房号,楼栋,单元,楼层,是否已投票", "1-1-101,1,1,1,已投票",
                                         "1-1-102,1,1,1,已投票"]
    owner = site.owner("single")
    assert owner.get(f"{base}/voted").status_code == 403  # owners see turnout, not who voted
    assert owner.get(f"{base}/map").status_code == 403


def test_the_estate_map_says_it_in_words_and_polls_while_voting(site):
    base, _meeting, _motion = _open_with_votes(site)
    observer = site.staff("observer")
    page = observer.get(f"{base}/map")
    assert page.status_code == 200
    cells = re.findall(r'<td class="(unit-[a-z-]+)"><b>(\d+)</b>([^<]+)</td>', page.text)
    assert cells[:2] == [("unit-voted", "101", "✓ 已投"), ("unit-voted", "102", "✓ 已投")]
    assert ("unit-not-voted", "105", "○ 未投") in cells and len(cells) == 8
    assert "已投票 2 / 8 户" in page.text and "1 号楼" in page.text and "2 号楼" in page.text
    fragment = observer.get(f"{base}/map", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and 'id="live"' in fragment.text
    site.past_close(_meeting)  # after close the map stands still (no polling)
    closed = site.staff("observer").get(f"{base}/map")
    assert closed.status_code == 200 and "every 30s" not in closed.text and "已投票 2 / 8 户" in closed.text
