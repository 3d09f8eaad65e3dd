"""Proxies 代理人 as a service: appointing with the signed authorisation, the per-meeting limit, the
committee's confirmation and the login code, votes by proxy (refused once the owner voted; the
owner's own ballot beats the proxy's in the tally at close), withdrawal until the proxy voted,
refusals across estates and of bad uploads, concurrency, and the export verifying offline."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from assembly.audit import service as audit_service
from assembly.audit.models import AuditEntry
from assembly.auth.errors import BadCredentials, Throttled
from assembly.cli import app as cli
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.errors import Conflict, Forbidden, InvalidInput
from assembly.permissions import Principal, Role
from assembly.proxies import ballots as proxy_ballots
from assembly.proxies import login as proxy_login
from assembly.proxies import service as proxies
from assembly.proxies.models import ProxyAppointment, ProxyLogin
from assembly.voting import casting, closing, meetings
from assembly.voting.meetings import MotionDraft
from assembly.voting.models import Ballot, Meeting, Motion

from .meeting_world import build_estate, id_number, post_notice, start_time

PDF = b"%PDF-1.4\n% signed authorisation\n" + b"x" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PROXY_NUMBER = id_number(900)
OTHER_PROXY = id_number(901)


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


def _meeting(session, world, now, *, revote="last", proxy_limit=3, paper_grace_days=0):
    meeting = meetings.create_meeting(
        session, estate=world.estate, principal=world.chair, title="2026年第一次业主大会",
        closes_at=now + timedelta(days=30), now=now, revote=revote, proxy_limit=proxy_limit,
        paper_grace_days=paper_grace_days,
        motions=[MotionDraft(item=4, title="续聘物业服务企业", text="续聘某物业公司三年。")])
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
    return meeting


def _open(session, world, meeting, now):
    post_notice(session, world, meeting, now=now)
    return meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                                now=meetings.earliest_open(now))


def _member(session, meeting, world, who):
    (held,) = proxies.owner_holdings(session, meeting=meeting, pseudonym=world.owners[who].pseudonym)
    return held.member_key


def _appoint(session, world, meeting, who, now, *, number=PROXY_NUMBER, document=PDF, name="赵代理"):
    return proxies.appoint(session, meeting=meeting, principal=world.owner(who),
                           member_key=_member(session, meeting, world, who), proxy_name=name, proxy_id_number=number,
                           document=document, id_key=get_settings().id_hash_key, now=now)


def _as_proxy(login: ProxyLogin) -> Principal:
    return Principal(kind="proxy", role=Role.PROXY, estate_ids=frozenset({login.estate_id}), pseudonym=login.pseudonym,
                     proxy_id=login.id, meeting_id=login.meeting_id)


def _entries(session, estate_id, kind):
    return [json.loads(bytes(body)) for body in session.scalars(
        select(AuditEntry.body).where(AuditEntry.estate_id == estate_id, AuditEntry.type == kind)
        .order_by(AuditEntry.idx))]


def test_appoint_confirm_issue_code_log_in_and_vote_for_the_owner(session):
    world = build_estate(session)
    t0 = start_time()
    meeting = _meeting(session, world, t0)
    appointment = _appoint(session, world, meeting, "single", t0)  # during the notice period
    assert proxies.status(appointment) == proxies.PENDING and appointment.document_type == "application/pdf"
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    assert proxies.proxy_principal(session, proxy_login_id=login.id) is None  # nothing confirmed yet
    decision = proxies.confirm(session, meeting=meeting, appointment=appointment, principal=world.chair, now=t0)
    assert decision.code and proxy_login.CODE_RE.fullmatch(decision.code)
    assert login.code_hash and decision.code[4:] not in login.code_hash
    attempt = proxy_login.check_login(session, id_key=get_settings().id_hash_key,
                                      code=proxy_login.format_code(decision.code).lower(),
                                      id_tail=PROXY_NUMBER[-4:], ip="10.1.1.1", now=t0)
    assert attempt.ok and attempt.login.id == login.id
    principal = proxies.proxy_principal(session, proxy_login_id=login.id)
    assert principal.role == Role.PROXY and principal.meeting_id == meeting.id
    opened = _open(session, world, meeting, t0).opens_at
    (motion,) = meetings.motions_of(session, meeting=meeting)
    ballot, created = proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion, principal=principal,
                                            member_key=appointment.member_key, choice="agree",
                                            idempotency_key="p1", now=opened)
    assert created and ballot.by == "proxy" and ballot.cast_by_person is None
    (entry,) = _entries(session, world.estate.id, "ballot.cast")
    assert entry["actor"] == {"id": login.pseudonym, "role": "proxy"} and entry["member"] == appointment.member_key
    assert entry["by"] == "proxy" and login.pseudonym.startswith("x")
    logged = json.dumps([_entries(session, world.estate.id, kind) for kind in
                         ("proxy.appointed", "proxy.confirmed", "proxy.code_issued")], ensure_ascii=False)
    assert PROXY_NUMBER not in logged and PROXY_NUMBER[-4:] + '"' not in logged and "赵代理" not in logged
    assert decision.code not in logged and appointment.document_sha256 in logged


def test_the_limit_counts_owners_per_proxy_and_a_rejection_frees_a_place(session):
    world = build_estate(session, extra=3)
    t0 = start_time()
    meeting = _meeting(session, world, t0, proxy_limit=3)
    first = _appoint(session, world, meeting, "single", t0)
    _appoint(session, world, meeting, "landlord", t0)
    _appoint(session, world, meeting, "extra0", t0)
    with pytest.raises(Conflict) as refusal:
        _appoint(session, world, meeting, "extra1", t0)
    assert refusal.value.code == "proxy_limit" and "上限" in refusal.value.message
    _appoint(session, world, meeting, "extra1", t0, number=OTHER_PROXY)  # another proxy is fine
    with pytest.raises(InvalidInput) as no_reason:
        proxies.reject(session, meeting=meeting, appointment=first, principal=world.chair, reason=" ", now=t0)
    assert no_reason.value.code == "reason_required"
    proxies.reject(session, meeting=meeting, appointment=first, principal=world.chair, reason="签名与名册不符", now=t0)
    assert proxies.status(first) == proxies.REJECTED and first.reject_reason == "签名与名册不符"
    with pytest.raises(Conflict) as twice:
        proxies.confirm(session, meeting=meeting, appointment=first, principal=world.chair, now=t0)
    assert twice.value.code == "proxy_decided"
    _appoint(session, world, meeting, "extra2", t0)  # the rejected authorisation no longer counts
    with pytest.raises(Conflict) as again:
        _appoint(session, world, meeting, "landlord", t0, number=OTHER_PROXY)
    assert again.value.code == "proxy_exists"  # one proxy per member: withdraw first


def test_an_unconfirmed_or_withdrawn_authorisation_does_not_vote(session):
    world = build_estate(session)
    t0 = start_time()
    meeting = _meeting(session, world, t0)
    pending = _appoint(session, world, meeting, "single", t0)
    other = _appoint(session, world, meeting, "landlord", t0)
    proxies.confirm(session, meeting=meeting, appointment=other, principal=world.chair, now=t0)
    login = session.get(ProxyLogin, pending.proxy_login_id)
    opened = _open(session, world, meeting, t0).opens_at
    (motion,) = meetings.motions_of(session, meeting=meeting)
    with pytest.raises(Forbidden) as refusal:
        proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion, principal=_as_proxy(login),
                              member_key=pending.member_key, choice="agree", idempotency_key="p", now=opened)
    assert refusal.value.code == "proxy_not_confirmed"
    proxies.withdraw(session, meeting=meeting, appointment=other, principal=world.owner("landlord"), now=opened)
    with pytest.raises(Forbidden):
        proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion, principal=_as_proxy(login),
                              member_key=other.member_key, choice="agree", idempotency_key="p2", now=opened)
    assert proxies.proxy_principal(session, proxy_login_id=login.id) is None  # nothing in force: no session works
    assert session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_the_owner_beats_the_proxy_before_and_after_and_at_close(engine_copy):
    with unit_of_work(engine_copy) as session:
        world = build_estate(session)
        t0 = start_time()
        meeting = _meeting(session, world, t0, revote="first")
        single = _appoint(session, world, meeting, "single", t0)
        landlord = _appoint(session, world, meeting, "landlord", t0)
        for appointment in (single, landlord):
            proxies.confirm(session, meeting=meeting, appointment=appointment, principal=world.chair, now=t0)
        opened = _open(session, world, meeting, t0).opens_at
        (motion,) = meetings.motions_of(session, meeting=meeting)
        proxy = _as_proxy(session.get(ProxyLogin, single.proxy_login_id))
        # the landlord votes first: the proxy is refused, with the reason
        casting.cast(session, meeting=meeting, motion=motion, principal=world.owner("landlord"),
                     member_key=landlord.member_key, choice="oppose", idempotency_key="o1", now=opened)
        with pytest.raises(Conflict) as refusal:
            proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion, principal=proxy,
                                  member_key=landlord.member_key, choice="agree", idempotency_key="p1", now=opened)
        assert refusal.value.code == "owner_voted" and "业主本人" in refusal.value.message
        # the proxy votes first for the single owner; withdrawal is then refused, the owner's own ballot counts
        proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion, principal=proxy, member_key=single.member_key,
                              choice="agree", idempotency_key="p2", now=opened + timedelta(minutes=1))
        with pytest.raises(Conflict) as late:
            proxies.withdraw(session, meeting=meeting, appointment=single, principal=world.owner("single"),
                             now=opened + timedelta(minutes=2))
        assert late.value.code == "proxy_voted" and "取代" in late.value.message
        casting.cast(session, meeting=meeting, motion=motion, principal=world.owner("single"),
                     member_key=single.member_key, choice="oppose", idempotency_key="o2",
                     now=opened + timedelta(minutes=3))  # under revote "first" too: the proxy's ballot ranks lower
        meeting_id, motion_id, closes = meeting.id, motion.id, meeting.closes_at
    with unit_of_work(engine_copy) as session:
        assert closing.close_if_due(session, meeting=session.get(Meeting, meeting_id), now=closes)
    with unit_of_work(engine_copy) as session:
        result = closing.result_of(session.get(Motion, motion_id))
        assert result["participating"]["heads"] == 2 and result["agree"]["heads"] == 0  # both owners opposed


def test_bad_uploads_and_identity_numbers_are_refused_leaving_nothing(session):
    world = build_estate(session)
    t0 = start_time()
    meeting = _meeting(session, world, t0)
    before = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.estate_id == world.estate.id))
    cases = [
        ({"document": b""}, "document_required"),
        ({"document": b"GIF89a" + b"0" * 50}, "document_type"),
        ({"document": b"%PDF-" + b"0" * proxies.MAX_DOCUMENT}, "document_too_large"),
        ({"number": "110105198001010001"}, "invalid_id_number"),  # a wrong check character
        ({"number": id_number(1)}, "proxy_is_owner"),  # the single owner's own number
        ({"name": "  "}, "proxy_name_required"),
    ]
    for options, code in cases:
        with pytest.raises(InvalidInput) as refusal:
            _appoint(session, world, meeting, "single", t0, **options)
        assert refusal.value.code == code, options
    assert session.scalar(select(func.count()).select_from(ProxyAppointment)) == 0
    assert session.scalar(select(func.count()).select_from(ProxyLogin)) == 0
    after = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.estate_id == world.estate.id))
    assert after == before
    assert _appoint(session, world, meeting, "single", t0, document=PNG).document_type == "image/png"


def test_other_estates_and_other_roles_are_refused(session):
    world = build_estate(session)
    other = build_estate(session, code="other")
    t0 = start_time()
    meeting = _meeting(session, world, t0)
    appointment = _appoint(session, world, meeting, "single", t0)
    foreign_owner = other.owner("single")
    with pytest.raises(Forbidden) as refusal:
        proxies.appoint(session, meeting=meeting, principal=foreign_owner, member_key=appointment.member_key,
                        proxy_name="钱", proxy_id_number=OTHER_PROXY, document=PDF,
                        id_key=get_settings().id_hash_key, now=t0)
    assert refusal.value.code == "estate_forbidden"
    with pytest.raises(Forbidden) as chair:
        proxies.confirm(session, meeting=meeting, appointment=appointment, principal=other.chair, now=t0)
    assert chair.value.code == "estate_forbidden"
    with pytest.raises(Forbidden) as not_owner:  # another owner of the estate cannot withdraw it
        proxies.withdraw(session, meeting=meeting, appointment=appointment, principal=world.owner("landlord"), now=t0)
    assert not_owner.value.code == "not_on_roll"
    staff = Principal(kind="account", role=Role.COMMITTEE_STAFF, estate_ids=frozenset({world.estate.id}))
    with pytest.raises(Forbidden):
        proxies.confirm(session, meeting=meeting, appointment=appointment, principal=staff, now=t0)


def test_wrong_codes_slow_down_and_a_reissue_revokes_the_old_code(session):
    world = build_estate(session)
    t0 = start_time()
    meeting = _meeting(session, world, t0)
    appointment = _appoint(session, world, meeting, "single", t0)
    code = proxies.confirm(session, meeting=meeting, appointment=appointment, principal=world.chair, now=t0).code
    key = get_settings().id_hash_key
    assert not proxy_login.check_login(session, id_key=key, code=code, id_tail="0000", ip="10.2.0.1", now=t0).ok
    wrong = code[:4] + "AAAAAAAAAAAA"
    outcomes = [proxy_login.check_login(session, id_key=key, code=wrong, id_tail=PROXY_NUMBER[-4:],
                                        ip=f"10.2.0.{n}", now=t0) for n in range(2, 5)]
    assert all(isinstance(o.error, BadCredentials) for o in outcomes) and "后再试" in outcomes[-1].error.message
    blocked = proxy_login.check_login(session, id_key=key, code=code, id_tail=PROXY_NUMBER[-4:], ip="10.2.0.9", now=t0)
    assert isinstance(blocked.error, Throttled)  # even the right code waits: per login, not only per address
    later = t0 + timedelta(hours=1)
    login = session.get(ProxyLogin, appointment.proxy_login_id)
    new = proxy_login.issue_code(session, meeting=meeting, login=login, principal=world.chair, now=later)
    assert login.code_serial == 2 and new != code
    assert not proxy_login.check_login(session, id_key=key, code=code, id_tail=PROXY_NUMBER[-4:], ip="10.2.1.1",
                                       now=later).ok
    assert proxy_login.check_login(session, id_key=key, code=new, id_tail=PROXY_NUMBER[-4:], ip="10.2.1.1",
                                   now=later).ok
    assert [e["serial"] for e in _entries(session, world.estate.id, "proxy.code_issued")] == [1, 2]


def test_two_proxy_casts_with_one_request_key_make_one_ballot(engine_copy):
    with unit_of_work(engine_copy) as session:
        world = build_estate(session)
        t0 = start_time()
        meeting = _meeting(session, world, t0)
        appointment = _appoint(session, world, meeting, "single", t0)
        proxies.confirm(session, meeting=meeting, appointment=appointment, principal=world.chair, now=t0)
        opened = _open(session, world, meeting, t0).opens_at
        (motion,) = meetings.motions_of(session, meeting=meeting)
        proxy = _as_proxy(session.get(ProxyLogin, appointment.proxy_login_id))
        ids, member = (meeting.id, motion.id), appointment.member_key
    outcomes: list = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        with unit_of_work(engine_copy) as session:
            ballot, created = proxy_ballots.cast_as_proxy(
                session, meeting=session.get(Meeting, ids[0]), motion=session.get(Motion, ids[1]), principal=proxy,
                member_key=member, choice="agree", idempotency_key="same", now=opened)
            outcomes.append((ballot.id, created))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4 and len({ballot for ballot, _ in outcomes}) == 1
    assert sum(created for _, created in outcomes) == 1
    with unit_of_work(engine_copy) as session:
        assert session.scalar(select(func.count()).select_from(Ballot).where(Ballot.motion_id == ids[1])) == 1


def test_an_export_with_proxy_ballots_verifies(engine_copy, tmp_path):
    settings = get_settings()
    with unit_of_work(engine_copy) as session:
        world = build_estate(session)
        t0 = start_time()
        meeting = _meeting(session, world, t0)
        appointment = _appoint(session, world, meeting, "single", t0)
        proxies.confirm(session, meeting=meeting, appointment=appointment, principal=world.chair, now=t0)
        withdrawn = _appoint(session, world, meeting, "landlord", t0, number=OTHER_PROXY)
        proxies.withdraw(session, meeting=meeting, appointment=withdrawn, principal=world.owner("landlord"), now=t0)
        opened = _open(session, world, meeting, t0).opens_at
        (motion,) = meetings.motions_of(session, meeting=meeting)
        proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion,
                              principal=_as_proxy(session.get(ProxyLogin, appointment.proxy_login_id)),
                              member_key=appointment.member_key, choice="agree", idempotency_key="p", now=opened)
        casting.cast(session, meeting=meeting, motion=motion, principal=world.owner("extra0"),
                     member_key=_member(session, meeting, world, "extra0"), choice="agree", idempotency_key="o",
                     now=opened)
        meeting_id, closes, estate_id = meeting.id, meeting.closes_at, world.estate.id
    with unit_of_work(engine_copy) as session:
        assert closing.close_if_due(session, meeting=session.get(Meeting, meeting_id), now=closes)
    out = tmp_path / "export"
    with unit_of_work(engine_copy) as session:
        estate = session.get(type(world.estate), estate_id)
        audit_service.export(session, settings=settings, estate=estate, out=out)
    run = CliRunner().invoke(cli, ["audit", "verify", str(out)])
    assert run.exit_code == 0, run.output


def test_the_verifier_refuses_a_proxy_ballot_without_a_confirmed_authorisation_in_force(tmp_path):
    from assembly.audit.report import Findings
    from assembly.audit.semantics import Ledger

    findings = Findings()
    ledger = Ledger(findings, tmp_path)
    member = "owners:pA"
    ledger.feed(0, {"type": "register.version", "version": 1})
    ledger.feed(1, {"type": "roll.frozen", "meeting": "meeting-1", "motions": ["motion-1"], "register_version": 1,
                    "revote": "last", "opens_at": "2026-12-01T00:00:00Z", "closes_at": "2026-12-31T00:00:00Z",
                    "members": [{"member": member, "units": ["u1"], "area": "100", "heads": 1}],
                    "totals": {"area": "100", "heads": 1}})

    def ballot(index: int, proxy: str) -> None:
        ledger.feed(index, {"type": "ballot.cast", "at": "2026-12-02T00:00:00Z",
                            "actor": {"id": proxy, "role": "proxy"}, "motion": "motion-1", "member": member, "by": "proxy", "commitment": "0" * 64,
                            "time": "2026-12-02T00:00:00Z"})

    ballot(2, "x1")  # nothing confirmed yet
    ledger.feed(3, {"type": "proxy.confirmed", "meeting": "meeting-1", "member": member, "proxy": "x1"})
    ballot(4, "x1")  # in force
    ballot(5, "x2")  # another proxy
    ledger.feed(6, {"type": "proxy.withdrawn", "meeting": "meeting-1", "member": member, "proxy": "x1"})
    ballot(7, "x1")  # withdrawn
    assert findings.count["ballots.roll"] == 3 and findings.first["ballots.roll"][0] == 2
