"""Owner notices: activation, PIN change and every ballot are told to the owner (never a secret,
never the choice), shown on their home page newest first, and — with a message gateway configured —
delivered by signed POSTs to a real local HTTP server: retried after a 500, never posted again after
a 2xx, and delivered once to the owner even when an answer is lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from assembly.auth import cards
from assembly.config import ConfigurationError, Settings, check_secrets, get_settings
from assembly.db import unit_of_work
from assembly.events.models import OutboxMessage
from assembly.notify import gateway, owners
from assembly.notify.owner_models import DELIVERED, NO_CONTACT, PAGE, PENDING, OwnerNotice
from assembly.proxies import ballots as proxy_ballots
from assembly.register.models import Person

PHONE = "13912345678"
SECRET = "gateway-test-secret-" + "g" * 30


class Gateway:
    """A message gateway on 127.0.0.1: answers POSTs with the scripted statuses (then 200), keeps
    every request, and delivers each idempotency key once (as a real gateway must)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict, bytes]] = []
        self.delivered: dict[str, bytes] = {}
        gateway_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway_self.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = gateway_self.statuses.pop(0) if gateway_self.statuses else 200
                if 200 <= status < 300:
                    gateway_self.delivered.setdefault(self.headers["Idempotency-Key"], body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/messages"

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _gateway_settings(url: str):
    return get_settings().model_copy(update={"sms_gateway_url": url, "sms_gateway_secret": SECRET})


def _queued(engine, kit, url, *, phone=PHONE, now=None):
    """A world on the test's own database and one notice to alpha's first owner, queued for `url`."""
    from assembly.db import unit_of_work

    with unit_of_work(engine) as session:
        world = kit.build_world(session)
        person = session.get(Person, world.alpha.owners[0].person.id)
        person.phone = phone
        notice = owners.tell(session, person=person, event="card.activated", text="您的业主一卡通（尾号 1234）已激活。",
                             now=now or kit.T0, settings=_gateway_settings(url))
        return notice.id


def _notice(engine, notice_id) -> OwnerNotice:
    with unit_of_work(engine) as session:
        return session.get(OwnerNotice, notice_id)


def _outbox_row(engine, notice_id) -> OutboxMessage:
    """The notice's row in the platform's outbox, which schedules its attempts."""
    with unit_of_work(engine) as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.key == f"owner-notice-{notice_id}")).one()


# --- the notices ---------------------------------------------------------------------------------


def test_activation_and_pin_change_are_told_without_secrets(session, world, issuer, kit):
    owner = world.alpha.owners[0]
    issued = kit.issue(session, owner, issuer)
    cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=kit.T0)
    weak = cards.change_pin(session, card=issued.card, current="480913", new="111111", ip=None,
                            now=kit.T0 + timedelta(minutes=1))
    assert not weak.ok  # a refused change tells nothing
    cards.change_pin(session, card=issued.card, current="480913", new="735190", ip=None,
                     now=kit.T0 + timedelta(minutes=2))
    changed, activated = owners.notices_of(session, person_id=owner.person.id)
    assert (changed.event, activated.event) == ("card.pin_changed", "card.activated")  # newest first
    assert "11月23日 16:00" in activated.text and issued.card.number[-4:] in activated.text
    assert "11月23日 16:02" in changed.text and "挂失补办" in changed.text
    for notice in (changed, activated):
        assert notice.delivery == PAGE and notice.estate_id == world.alpha.estate.id
        assert not any(secret in notice.text for secret in ("480913", "735190", issued.activation_code, issued.token))


def test_every_owner_of_the_member_is_told_of_its_ballot_never_the_choice(session):
    from assembly.voting import casting, meetings
    from tests.voting.meeting_world import build_estate, open_meeting, start_time

    world = build_estate(session)
    meeting, opened = open_meeting(session, world, now=start_time())
    (motion,) = meetings.motions_of(session, meeting=meeting)
    wife = world.owner("wife")
    (held,) = casting.holdings(session, meeting=meeting, pseudonym=wife.pseudonym)
    for _attempt in range(2):  # a retry with the same key makes no second ballot and no second notice
        casting.cast(session, meeting=meeting, motion=motion, principal=wife, member_key=held.member_key,
                     choice="agree", idempotency_key="wife-1", now=opened)
    told = {notice.person_id: notice for notice in session.scalars(
        select(OwnerNotice).where(OwnerNotice.event == "ballot.cast", OwnerNotice.estate_id == world.estate.id))}
    assert set(told) == {world.owners["wife"].id, world.owners["husband"].id}
    own, co_owner = told[world.owners["wife"].id], told[world.owners["husband"].id]
    assert own.text.startswith("您于 ") and "为 1-1-102 投票" in own.text and f"议题 {motion.position}" in own.text
    assert co_owner.text.startswith("共有人李*英于 ") and "李秀英" not in co_owner.text
    for notice in told.values():
        assert "同意" not in notice.text and "agree" not in notice.text and "如非本人操作" in notice.text


def test_a_proxy_appointment_and_the_proxys_ballot_are_told_to_every_owner_of_the_member(session):
    from assembly.proxies import service as proxies
    from assembly.voting import meetings
    from tests.voting.meeting_world import build_estate, draft_meeting, id_number, post_notice, start_time

    world = build_estate(session)
    t0 = start_time()
    meeting = draft_meeting(session, world, now=t0)
    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=t0)
    (held,) = proxies.owner_holdings(session, meeting=meeting, pseudonym=world.owners["wife"].pseudonym)
    appointment = proxies.appoint(session, meeting=meeting, principal=world.owner("wife"), member_key=held.member_key,
                                  proxy_name="赵代理", proxy_id_number=id_number(900), document=b"%PDF-1.4\n" + b"x" * 99,
                                  id_key=get_settings().id_hash_key, now=t0)
    appointed = {n.person_id: n.text for n in session.scalars(select(OwnerNotice).where(
        OwnerNotice.event == "proxy.appointed", OwnerNotice.estate_id == world.estate.id))}
    assert appointed[world.owners["wife"].id].startswith("您于 ") and "赵*理" in appointed[world.owners["wife"].id]
    assert appointed[world.owners["husband"].id].startswith("共有人李*英于 ") and "赵代理" not in str(appointed)
    assert id_number(900)[-4:] not in str(appointed) and "经业主委员会确认后生效" in str(appointed)
    proxies.confirm(session, meeting=meeting, appointment=appointment, principal=world.chair, now=t0)
    post_notice(session, world, meeting, now=t0)
    opened = meetings.open_voting(session, meeting=meeting, estate=world.estate, principal=world.chair,
                                  now=meetings.earliest_open(t0)).opens_at
    (motion,) = meetings.motions_of(session, meeting=meeting)
    principal = proxies.proxy_principal(session, proxy_login_id=appointment.proxy_login_id)
    proxy_ballots.cast_as_proxy(session, meeting=meeting, motion=motion, principal=principal,
                          member_key=appointment.member_key, choice="oppose", idempotency_key="p1", now=opened)
    cast = [n.text for n in session.scalars(select(OwnerNotice).where(
        OwnerNotice.event == "ballot.cast", OwnerNotice.estate_id == world.estate.id))]
    assert len(cast) == 2 and all(text.startswith("您的代理人于 ") and "反对" not in text for text in cast)


def test_the_owner_reads_their_notices_on_the_home_page_and_in_the_api(web, kit):
    owner = web.world.alpha.owners[0]
    with web.session() as session:
        issuer = kit.make_account(session, "residents_committee", web.world, username="rc-notices")
        issued = kit.issue(session, owner, issuer, now=web.clock.now)
        cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=web.clock.now)
    phone = web.client()
    phone.post(f"/c/{issued.token}/login",
               data={"pin": "480913", "csrf_token": kit.csrf_of(phone, f"/c/{issued.token}")})
    web.clock.advance(minutes=5)
    done = phone.post("/me/pin", data={"current": "480913", "new": "735190", "confirm": "735190",
                                       "csrf_token": kit.csrf_of(phone, "/me/pin")})
    assert done.status_code == 303
    home = phone.get("/me").text
    assert 'id="notice-list"' in home
    assert home.index("PIN 修改") < home.index("业主一卡通激活")  # newest first
    assert "仅在本页显示（平台未配置短信网关）" in home
    api = phone.get("/api/me/notices").json()["notices"]
    assert [n["event"] for n in api] == ["card.pin_changed", "card.activated"] and api[0]["delivery"] == "page"


# --- the message gateway -----------------------------------------------------------------------------------


def test_a_500_is_retried_with_backoff_and_a_2xx_is_never_posted_again(engine_copy, kit, caplog):
    caplog.set_level(logging.DEBUG)
    with Gateway(statuses=[500]) as server:
        settings = _gateway_settings(server.url)
        notice_id = _queued(engine_copy, kit, server.url)
        t0 = kit.T0
        assert gateway.deliver_due(engine_copy, settings=settings, now=t0) == 0
        failed = _notice(engine_copy, notice_id)
        assert failed.delivery == PENDING and failed.attempts == 1 and failed.last_error == "HTTP 500"
        assert _outbox_row(engine_copy, notice_id).next_attempt_at == t0 + timedelta(minutes=1)
        assert gateway.deliver_due(engine_copy, settings=settings, now=t0 + timedelta(seconds=30)) == 0
        assert len(server.requests) == 1  # not due yet
        assert gateway.deliver_due(engine_copy, settings=settings, now=t0 + timedelta(minutes=1)) == 1
        delivered = _notice(engine_copy, notice_id)
        assert delivered.delivery == DELIVERED and delivered.delivered_at == t0 + timedelta(minutes=1)
        assert gateway.deliver_due(engine_copy, settings=settings, now=t0 + timedelta(hours=1)) == 0
        assert len(server.requests) == 2 and len(server.delivered) == 1

    (first_headers, first_body), (headers, body) = server.requests
    assert first_body == body and headers["idempotency-key"] == f"owner-notice-{notice_id}"
    message = json.loads(body)
    assert message["idempotency_key"] == f"owner-notice-{notice_id}" and message["to"] == PHONE
    assert message["text"] == delivered.text and message["event"] == "card.activated" and message["estate"] == "alpha"
    expected = hmac.new(SECRET.encode(), headers["x-assembly-timestamp"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers["x-assembly-signature"] == f"sha256={expected}"
    assert PHONE not in caplog.text and f"owner-notice-{notice_id} not delivered (HTTP 500)" in caplog.text


def test_a_lost_answer_is_posted_again_with_the_same_key_and_delivered_once(engine_copy, kit):
    with Gateway() as server:
        settings = _gateway_settings(server.url)
        notice_id = _queued(engine_copy, kit, server.url)
        with unit_of_work(engine_copy) as session:  # claimed and posted, then the process died before settling
            (message,) = gateway.claim_due(session, now=kit.T0)
        assert gateway.post(server.url, SECRET, message, now=kit.T0) == (True, "HTTP 200")
        assert gateway.deliver_due(engine_copy, settings=settings, now=kit.T0 + timedelta(minutes=1)) == 0  # leased
        assert gateway.deliver_due(engine_copy, settings=settings, now=kit.T0 + gateway.LEASE) == 1
    keys = [headers["idempotency-key"] for headers, _body in server.requests]
    assert keys == [f"owner-notice-{notice_id}"] * 2 and list(server.delivered) == keys[:1]
    assert _notice(engine_copy, notice_id).delivery == DELIVERED


def test_an_unreachable_gateway_keeps_the_notice_for_later(engine_copy, kit):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/messages"
    notice_id = _queued(engine_copy, kit, url)
    assert gateway.deliver_due(engine_copy, settings=_gateway_settings(url), now=kit.T0) == 0
    kept = _notice(engine_copy, notice_id)
    assert kept.delivery == PENDING and kept.attempts == 1 and kept.last_error == "URLError"


def test_without_a_phone_or_a_gateway_the_notice_stays_on_the_page(engine_copy, kit):
    with Gateway() as server:
        notice_id = _queued(engine_copy, kit, server.url, phone=None)
        assert _notice(engine_copy, notice_id).delivery == NO_CONTACT
        assert gateway.deliver_due(engine_copy, settings=_gateway_settings(server.url), now=kit.T0) == 0
        assert gateway.deliver_due(engine_copy, settings=get_settings(), now=kit.T0) == 0  # no gateway: nothing
    assert server.requests == []


def test_backoff_doubles_up_to_six_hours():
    assert [gateway.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=1), timedelta(minutes=2),
                                                        timedelta(minutes=4)]
    assert gateway.backoff(10) == gateway.backoff(500) == timedelta(hours=6)


def test_a_configured_gateway_queues_the_cards_notices(session, world, issuer, kit, monkeypatch):
    monkeypatch.setenv("ASSEMBLY_SMS_GATEWAY_URL", "http://127.0.0.1:9/messages")
    monkeypatch.setenv("ASSEMBLY_SMS_GATEWAY_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        owner = world.alpha.owners[0]
        owner.person.phone = PHONE
        issued = kit.issue(session, owner, issuer)
        cards.set_first_pin(session, card=issued.card, pin="480913", ip=None, now=kit.T0)
        (notice,) = owners.notices_of(session, person_id=owner.person.id)
        assert notice.delivery == PENDING
        (queued,) = session.scalars(select(OutboxMessage).where(OutboxMessage.key == f"owner-notice-{notice.id}"))
        assert queued.topic == "owner_notice.sms" and queued.next_attempt_at == kit.T0 and queued.state == "pending"
        assert owners.delivery(notice, owner.person) == {"label": "正在发送短信", "phone": "139****5678", "attempts": 0}
    finally:
        monkeypatch.delenv("ASSEMBLY_SMS_GATEWAY_URL")
        get_settings.cache_clear()


def test_production_refuses_a_plain_http_gateway_or_one_without_a_secret():
    base = {"env": "production", "secret_key": "Jx3vQ9_tR7mKp2LwZ8nYb4HcF6dGs1Ae",
            "id_hash_key": "u0Wq8rXz5NkT3yVb_9mLc2PfH7jDs4Ga6EoR", "database_url": "sqlite://",
            "site_url": "https://assembly.example.cn"}
    strong = "pV7_kQ2mZx9LrT4wNc8HbY3jFd6GsA1e"
    with pytest.raises(ConfigurationError):
        check_secrets(Settings(**base, sms_gateway_url="http://sms.example/send", sms_gateway_secret=strong))
    with pytest.raises(ConfigurationError):
        check_secrets(Settings(**base, sms_gateway_url="https://sms.example/send"))
    with pytest.raises(ConfigurationError):  # the tests' own secret ends in 30 × "g": patterned (issue #22)
        check_secrets(Settings(**base, sms_gateway_url="https://sms.example/send", sms_gateway_secret=SECRET))
    assert check_secrets(Settings(**base, sms_gateway_url="https://sms.example/send", sms_gateway_secret=strong))


def test_two_tickers_never_claim_the_same_notice(engine_copy, kit):
    url = "http://127.0.0.1:9/messages"
    with unit_of_work(engine_copy) as session:
        world = kit.build_world(session, extra_owners=6)
        for owner in world.alpha.owners:
            person = session.get(Person, owner.person.id)
            person.phone = PHONE
            owners.tell(session, person=person, event="card.activated", text="已激活。", now=kit.T0,
                        settings=_gateway_settings(url))
        queued = len(world.alpha.owners)
    barrier, claimed = threading.Barrier(2), []

    def claim():
        barrier.wait()
        with unit_of_work(engine_copy) as session:
            claimed.append([message.key for message in gateway.claim_due(session, now=kit.T0, limit=queued)])

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = claimed
    assert not set(first) & set(second) and len(first) + len(second) == queued
