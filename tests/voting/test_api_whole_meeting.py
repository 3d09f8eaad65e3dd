"""A whole meeting through the JSON API only, against the ASGI application (issue #14): accounts
(second factor set up over the API), the register imported as a file, cards issued and activated,
owners voting and revoting, proxies, a paper sheet, close, paper entry confirmed blind, the count,
an objection upheld, the final result. Every announced figure is checked against a recount written
here from /work/shared/spec/rules.md — not with the platform's own tally code: exact fractions.

Only the estate is made through the package (`onboard_estate`): onboarding over the API belongs
to the street office's issue. The first administrator is made as the command line makes it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from argon2 import PasswordHasher, Type
from fastapi.testclient import TestClient

from assembly.auth import accounts, hashing, totp
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.models import utcnow
from assembly.register.estates import onboard_estate

from .meeting_world import estate_rules_publish_units, id_number
from .web_world import PHOTO, Clock, jobs_runner

PASSWORD = "correct-horse-battery-staple"
PIN = "480913"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CODE = "e2e"
LABELS = {"agree": "同意", "oppose": "反对", "abstain": "弃权"}


# --- the register, made at random (seeded): developer units, co-owners, owners of several units ------


@dataclass
class Owner:
    name: str
    id_number: str
    units: list[str] = field(default_factory=list)
    pseudonym: str = ""


def make_register(rng: random.Random) -> tuple[list[dict], dict[str, Owner]]:
    """Rows of the register file and the owners by name. Areas have up to 4 decimal places."""
    owners = {f"o{n}": Owner(f"业主{n}", id_number(200 + n)) for n in range(12)}
    units = [f"{b}-1-{r}" for b in (1, 2) for r in range(101, 109)]
    rng.shuffle(units)
    held: dict[str, list[str]] = {}  # unit -> owner names (empty: the developer's)
    for name in owners:
        held[units.pop()] = [name]
    held[units.pop()] = ["o10", "o11"]  # co-owners of a unit (also owners of their own units)
    held[units.pop()] = ["o0"]  # o0 holds two units alone: one member with both
    held[units.pop()] = []
    held[units.pop()] = []  # two developer units: one member together
    rows = []
    for unit, names in sorted(held.items()):
        area = str(Decimal(rng.randint(400_000, 1_500_000)) / 10_000)  # 40.0000 .. 150.0000 m², 4 places
        column = rng.choice(["不动产登记面积", "实测面积", "合同面积"])
        if not names:
            rows.append({"房屋编号": unit, column: area, "开发建设单位": "是", "业主姓名": "开发商"})
        for name in names:
            owners[name].units.append(unit)
            rows.append({"房屋编号": unit, column: area, "业主姓名": owners[name].name,
                         "证件号码": owners[name].id_number, "联系电话": f"1380000{200 + int(name[1:]):04d}"
                         if rng.random() < 0.5 else ""})
    return rows, owners


def register_csv(rows: list[dict]) -> bytes:
    header = ["房屋编号", "不动产登记面积", "实测面积", "合同面积", "开发建设单位", "业主姓名", "证件号码", "联系电话"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# --- the law, written again from rules.md -----------------------------------------------------------


def members_of(rows: list[dict]) -> dict[str, dict]:
    """Voting members (SPC Art. 8-9): the developer's units together; otherwise one member per set of
    owners of record. Area: the first of registry, survey, contract; each member one head."""
    units: dict[str, dict] = {}
    for row in rows:
        unit = units.setdefault(row["房屋编号"], {"owners": set(), "developer": row.get("开发建设单位") == "是"})
        for column in ("不动产登记面积", "实测面积", "合同面积"):
            if row.get(column) and "area" not in unit:
                unit["area"] = Fraction(row[column])
        if row.get("证件号码"):
            unit["owners"].add(row["证件号码"])
    members: dict[str, dict] = {}
    for code, unit in units.items():
        key = "developer" if unit["developer"] else "+".join(sorted(unit["owners"]))
        member = members.setdefault(key, {"units": [], "area": Fraction(0)})
        member["units"].append(code)
        member["area"] += unit["area"]
    return members


@dataclass
class Cast:
    """A ballot the platform accepted: when it counts in time (cast, or handed in for paper), its log
    entry (ties), whose member, how, what; `voided` by an upheld objection."""

    at: object
    entry: int
    member: str
    by: str
    choice: str
    voided: bool = False


def counted(casts: list[Cast], revote: str) -> dict[str, Cast]:
    """One ballot per member: the owner's own or paper ballot beats a proxy's whenever cast; between
    equal ones the later counts under `last`, the earlier under `first`. Voided ballots never count."""
    rank = {"owner": 1, "paper": 1, "proxy": 0}
    chosen: dict[str, Cast] = {}
    for cast in sorted((c for c in casts if not c.voided), key=lambda c: (c.at, c.entry)):
        held = chosen.get(cast.member)
        if held is None or rank[cast.by] > rank[held.by] or (rank[cast.by] == rank[held.by] and revote == "last"):
            chosen[cast.member] = cast
    return chosen


def decide(members: dict[str, dict], chosen: dict[str, Cast], *, item: int) -> dict:
    """Civil Code Art. 278: quorum 2/3 of area and of heads; major items (6, 7, 8) 3/4 of the
    participating area and heads agreeing, the others more than 1/2 of both."""
    total_area, total_heads = sum(m["area"] for m in members.values()), len(members)
    part_area = sum(members[k]["area"] for k in chosen)
    part_heads = len(chosen)
    agree = [k for k, c in chosen.items() if c.choice == "agree"]
    agree_area, agree_heads = sum((members[k]["area"] for k in agree), Fraction(0)), len(agree)
    quorum = part_area >= Fraction(2, 3) * total_area and part_heads >= Fraction(2, 3) * total_heads
    if item in (6, 7, 8):
        passes = agree_area >= Fraction(3, 4) * part_area and agree_heads >= Fraction(3, 4) * part_heads
    else:
        passes = agree_area > Fraction(1, 2) * part_area and agree_heads > Fraction(1, 2) * part_heads
    return {"total": (total_area, total_heads), "participating": (part_area, part_heads),
            "agree": (agree_area, agree_heads), "quorum": quorum, "passed": quorum and passes}


def announced(result: dict) -> dict:
    pair = lambda share: (Fraction(share["area"]), share["heads"])  # noqa: E731 - exact: areas are strings
    return {"total": pair(result["total"]), "participating": pair(result["participating"]),
            "agree": pair(result["agree"]), "quorum": result["quorum"], "passed": result["passed"]}


# --- the clients ---------------------------------------------------------------------------------------


class Site:
    def __init__(self, app, clock: Clock) -> None:
        self.app, self.clock = app, clock
        self.cards: dict[str, str] = {}  # owner name -> card token

    def client(self) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=True, follow_redirects=False)
        client.headers["X-CSRF-Token"] = client.get("/api/auth/csrf").json()["csrf_token"]
        return client

    def staff(self, username: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        answer = client.post("/api/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def owner(self, name: str) -> TestClient:
        client = self.client()
        answer = client.post(f"/api/cards/{self.cards[name]}/login", json={"pin": PIN})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


# --- the test -------------------------------------------------------------------------------------------


@pytest.fixture
def quick_hashes(monkeypatch):
    """Cheap argon2 for the ~70 passwords, activation codes and PINs of a whole meeting (as the other
    route tests do): the run takes seconds, not minutes."""
    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


@pytest.mark.parametrize("revote", ["last", "first"])
def test_a_whole_meeting_through_the_api_agrees_with_an_independent_recount(engine_copy, quick_hashes, revote,
                                                                           monkeypatch):
    from assembly.app import create_app

    estate_rules_publish_units(monkeypatch)  # the per-unit lines are part of what is recounted

    get_settings.cache_clear()
    rng = random.Random(f"issue-14-{revote}")
    with unit_of_work(engine_copy) as session:  # the package, until onboarding is in the API
        onboard_estate(session, code=CODE, name="端到端小区", district="测试区", street_office="测试街道办事处",
                       community="测试社区", residents_committee="测试居委会")
        accounts.create_account(session, created_by=None, username="root", display_name="管理员", role="admin",
                                now=utcnow(), password=PASSWORD)
    clock = Clock(utcnow().replace(microsecond=0) + timedelta(seconds=1))
    app = create_app(settings=get_settings(), engine=engine_copy)
    app.state.clock = clock
    clock.on_move = jobs_runner(engine_copy)  # closes and finalisations, as the server's job runner
    site = Site(app, clock)

    # the administrator sets up the second factor over the API and makes the street office's account
    admin = site.client()
    refused = admin.post("/api/auth/login", json={"username": "root", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "totp_setup_required"
    admin.headers["X-CSRF-Token"] = refused.json()["error"]["detail"]["csrf_token"]
    secret = totp.secret_from_base32(ok(admin.post("/api/auth/totp/setup"))["secret"])
    admin.headers["X-CSRF-Token"] = ok(admin.post("/api/auth/totp/confirm",
                                                  json={"code": totp.totp(secret, clock.now)}))["csrf_token"]
    (office,) = ok(admin.get("/api/street-offices"))["street_offices"]
    assert [e["code"] for e in office["estates"]] == [CODE]
    made = ok(admin.post("/api/accounts", json={"username": "office", "display_name": "街道", "role": "street_office",
                                               "street_office_id": office["id"]}), 201)
    street = site.client()
    refused = street.post("/api/auth/login", json={"username": "office", "password": made["password"]})
    street.headers["X-CSRF-Token"] = refused.json()["error"]["detail"]["csrf_token"]
    secret = totp.secret_from_base32(ok(street.post("/api/auth/totp/setup"))["secret"])
    street.headers["X-CSRF-Token"] = ok(street.post("/api/auth/totp/confirm",
                                                    json={"code": totp.totp(secret, clock.now)}))["csrf_token"]
    passwords = {}
    for username, role in (("chair", "committee_chair"), ("member", "committee_member"),
                           ("rc-staff", "residents_committee"), ("observer", "observer")):
        passwords[username] = ok(street.post("/api/accounts", json={
            "username": username, "display_name": username, "role": role, "estates": [CODE]}), 201)["password"]
    chair, member = site.staff("chair", passwords["chair"]), site.staff("member", passwords["member"])
    rc, observer = site.staff("rc-staff", passwords["rc-staff"]), site.staff("observer", passwords["observer"])

    # the register as a file; the same file again writes nothing
    rows, owners = make_register(rng)
    data = register_csv(rows)
    imported = ok(chair.post(f"/api/estates/{CODE}/register", files={"file": ("名册.csv", data, "text/csv")},
                             data={"reason": "首次导入"}), 201)
    again = ok(chair.post(f"/api/estates/{CODE}/register", files={"file": ("名册.csv", data, "text/csv")}))
    assert again["created"] is False and again["version"] == imported["version"] == 1
    members = members_of(rows)
    assert imported["members"] == len(members)
    assert Fraction(imported["total_area"]) == sum(m["area"] for m in members.values())
    clock.now = max(clock.now, utcnow().replace(microsecond=0) + timedelta(seconds=1))  # log times go forward

    # cards: the owners of record by pseudonym; issued, activated with the identity number's end
    listed = ok(rc.get(f"/api/estates/{CODE}/owners"))["owners"]
    by_units = {tuple(sorted(o["units"])): o for o in listed}
    assert all(o["card"]["state"] == "none" for o in listed)
    for owner in owners.values():
        owner.pseudonym = by_units[tuple(sorted(owner.units))]["pseudonym"]
    voters = [name for name in owners if name != "o11"]  # o11's co-owner o10 votes for their shared unit
    for name in voters:
        issued = ok(rc.post(f"/api/estates/{CODE}/cards", json={"person": owners[name].pseudonym}), 201)
        site.cards[name] = issued["token"]
        ok(site.client().post(f"/api/cards/{issued['token']}/activate", json={
            "activation_code": issued["activation_code"], "id_tail": owners[name].id_number[-4:], "pin": PIN}))
    printed = ok(rc.post(f"/api/estates/{CODE}/cards/print", json={"persons": [owners["o11"].pseudonym]}), 201)
    sheet = rc.post(f"/estate/{CODE}/cards/download", data={"pickup": printed["pickups"]["cards"]})
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    states = {o["pseudonym"]: o["card"]["state"] for o in ok(rc.get(f"/api/estates/{CODE}/owners"))["owners"]}
    assert states[owners["o1"].pseudonym] == "active" and states[owners["o11"].pseudonym] == "issued"

    # the meeting: an ordinary and a major item, published, opened after the notice period
    created = ok(chair.post(f"/api/estates/{CODE}/meetings", json={
        "title": "端到端业主大会", "closes_at": (clock.now + timedelta(days=20)).isoformat(), "revote": revote,
        "paper_grace_days": 1, "publish_per_unit_results": True, "motions": [
            {"item": 4, "title": "续聘物业服务企业", "text": "续聘三年。"},
            {"item": 7, "title": "改建停车场", "text": "改建地面停车场。"}]}), 201)
    meeting, base = created["id"], f"/api/estates/{CODE}/meetings/{created['id']}"
    motions = {m["item"]: m["id"] for m in created["motions"]}
    ok(chair.post(f"{base}/publish"))
    ok(chair.post(f"{base}/posting", data={"place": "各楼栋单元门厅公告栏", "posted_at": clock.now.isoformat()},
                  files={"photo": ("posting.png", PHOTO, "image/png")}), 201)  # the notice posted in the estate
    clock.pass_notice_period()
    chair = site.staff("chair", passwords["chair"])
    ok(chair.post(f"{base}/open"))
    observer = site.staff("observer", passwords["observer"])
    roll = ok(observer.get(f"{base}/roll"))
    assert len(roll["members"]) == len(members)
    assert Fraction(roll["total"]["area"]) == sum(m["area"] for m in members.values())
    key_of = {}  # id numbers joined -> the platform's member key, through the units
    for entry in roll["members"]:
        key_of[next(k for k, m in members.items() if sorted(m["units"]) == sorted(entry["units"]))] = entry["member"]

    casts: dict[int, list[Cast]] = {item: [] for item in motions}
    clients = {name: site.owner(name) for name in voters}

    def member_of(name: str, unit: str | None = None) -> str:
        unit = unit or owners[name].units[0]
        return key_of[next(k for k, m in members.items() if unit in m["units"])]

    def vote(name: str, item: int, choice: str, *, unit: str | None = None, expect: int = 201) -> dict | None:
        clock.advance(minutes=1)
        key = member_of(name, unit)
        answer = clients[name].post(f"{base}/motions/{motions[item]}/ballots", json={
            "member": key, "choice": choice, "idempotency_key": f"{name}-{item}-{clock.now.isoformat()}"})
        assert answer.status_code == expect, answer.text
        if expect != 201:
            return None
        ballot = answer.json()
        casts[item].append(Cast(clock.now, ballot["entry"], key, "owner", choice))
        return ballot

    # proxies: o2 and o3 appoint the same proxy; the committee confirms; the proxy logs in with the code
    proxy_id = id_number(900)
    appointments = []
    for name in ("o2", "o3"):
        mine = ok(clients[name].get(f"{base}/proxies/mine"))
        appointments.append(ok(clients[name].post(f"{base}/proxies", data={
            "member": mine["members"][0]["member"], "proxy_name": "代理人甲", "proxy_id_number": proxy_id},
            files={"document": ("授权委托书.pdf", PDF, "application/pdf")}), 201))
    codes = [ok(chair.post(f"{base}/proxies/{a['id']}/decision", json={"decision": "confirmed"}))["code"]
             for a in appointments]
    proxy = site.client()
    proxy.headers["X-CSRF-Token"] = ok(proxy.post("/api/proxy/login", json={
        "code": codes[0], "id_tail": proxy_id[-4:]}))["csrf_token"]

    def proxy_vote(name: str, item: int, choice: str, *, expect: int = 201) -> None:
        clock.advance(minutes=1)
        key = member_of(name)
        answer = proxy.post(f"/api/proxy/motions/{motions[item]}/ballots", json={
            "member": key, "choice": choice, "idempotency_key": f"proxy-{name}-{item}-{clock.now.isoformat()}"})
        assert answer.status_code == expect, answer.text
        if expect == 201:
            casts[item].append(Cast(clock.now, answer.json()["entry"], key, "proxy", choice))

    choose = lambda: rng.choice(["agree", "agree", "agree", "oppose", "abstain"])  # noqa: E731
    for item in motions:
        for name in ("o0", "o1", "o4", "o5", "o6", "o7", "o8", "o9", "o10"):
            vote(name, item, choose())
        vote("o10", item, choose(), unit=owners["o10"].units[-1])  # the co-owned unit: o10 votes for it
        proxy_vote("o2", item, "agree")
        proxy_vote("o3", item, choose())
        vote("o2", item, "oppose")  # the owner's own ballot beats their proxy's, whenever cast
        proxy_vote("o2", item, "agree", expect=409)  # and the proxy cannot vote after it
        vote("o1", item, "abstain", expect=201 if revote == "last" else 409)  # a revote
    if revote == "last":  # a revote on the page: its redirect names the ballot
        clock.advance(minutes=1)
        page = clients["o6"].post(f"/estate/{CODE}/meetings/{meeting}/motions/{motions[4]}/vote", data={
            "member": member_of("o6"), "choice": "oppose", "request_key": "page-vote", "confirm": "1"})
        assert page.status_code == 303, page.text
        assert page.headers["location"].split("/ballots/")[1].split("?")[0] == page.headers["X-Ballot-Id"]
        casts[4].append(Cast(clock.now, int(page.headers["X-Ballot-Entry"]), member_of("o6"), "owner", "oppose"))
    live = ok(clients["o0"].get(base))["motions"]
    assert all("result" not in m for m in live)  # no partial results before close

    # close; a paper sheet handed in during voting (after o4's online ballot) is entered and confirmed
    clock.now = datetime.fromisoformat(created["closes_at"]) + timedelta(hours=1)  # within the paper phase
    chair, member = site.staff("chair", passwords["chair"]), site.staff("member", passwords["member"])
    shown = ok(chair.get(base))
    assert shown["state"] == "paper"
    owner = site.owner("o1")
    waiting = owner.get(f"{base}/motions/{motions[4]}/units")
    assert waiting.status_code == 409 and waiting.json()["error"]["code"] == "unit_results_not_counted_yet"
    handed_in = max(c.at for c in casts[4] + casts[7]) + timedelta(minutes=1)
    for item in motions:
        entered = ok(chair.post(f"{base}/paper", data={
            "motion": str(motions[item]), "unit": owners["o4"].units[0], "choice": "oppose",
            "handed_in": handed_in.isoformat(), "signature_checked": "true"},
            files={"scan": ("sheet.pdf", PDF, "application/pdf")}), 201)
        confirmed = ok(member.post(f"{base}/paper/{entered['id']}/confirm", json={"choice": "oppose"}))
        assert confirmed["state"] == "confirmed" and confirmed["ballot"]["entry"] != confirmed["check_entry"]
        casts[item].append(Cast(handed_in, confirmed["ballot"]["entry"], member_of("o4"), "paper", "oppose"))
    ok(chair.post(f"{base}/paper/finish"))

    def check(item: int, result: dict) -> None:
        expected = decide({key_of[k]: m for k, m in members.items()}, counted(casts[item], revote), item=item)
        assert announced(result) == expected, (item, revote)

    counted_at_announcement = ok(owner.get(base))
    assert counted_at_announcement["state"] == "announced"
    for motion in counted_at_announcement["motions"]:
        check(motion["item"], motion["result"])
        rejected = motion["result"]["rejected"]
        if revote == "first":  # the paper sheet after o4's online ballot: a duplicate, listed with its entry
            paper_entry = next(c.entry for c in casts[motion["item"]] if c.by == "paper")
            assert {"entry": paper_entry, "reason": "duplicate"} in rejected["ballots"]
        assert rejected["count"] == len(rejected["ballots"])

    # the tally file: observers and owners (this meeting publishes per-unit results); not the committee
    tally = owner.get(f"{base}/motions/{motions[4]}/tally")
    assert tally.status_code == 200
    assert hashlib.sha256(tally.content).hexdigest() == tally.headers["X-Tally-SHA256"] == \
        counted_at_announcement["motions"][0]["result"]["tally_sha256"]
    observer = site.staff("observer", passwords["observer"])
    assert observer.get(f"{base}/motions/{motions[4]}/tally").content == tally.content
    assert chair.get(f"{base}/motions/{motions[4]}/tally").status_code == 403

    # o7 objects: "not my vote"; upheld, the ballot is voided and the recount announced
    clock.advance(hours=1)
    o7 = site.owner("o7")
    filed = ok(o7.post(f"{base}/motions/{motions[4]}/objections", json={"member": member_of("o7"), "text": "不是我投的"}),
               201)
    chair = site.staff("chair", passwords["chair"])
    ok(chair.post(f"{base}/motions/{motions[4]}/objections/{filed['id']}/decision", json={"decision": "upheld"}))
    for cast in casts[4]:
        if cast.entry == filed["ballot_entry"]:
            cast.voided = True
    assert any(c.voided for c in casts[4])
    clock.advance(days=8)
    owner = site.owner("o0")
    final = ok(owner.get(base))
    assert final["state"] == "final"
    for motion in final["motions"]:
        check(motion["item"], motion["result"])
    assert final["motions"][0]["result"]["voided"] == [filed["ballot_entry"]]
    tally = owner.get(f"{base}/motions/{motions[4]}/tally")
    assert tally.headers["X-Voided-Entries"] == str(filed["ballot_entry"])

    # per unit (JSON and CSV): every unit with the choice of its member's counted ballot, or none
    chosen = counted(casts[4], revote)
    expected_lines = {}
    for key, m in members.items():
        cast = chosen.get(key_of[key])
        for unit in m["units"]:
            expected_lines[unit] = LABELS[cast.choice] if cast else "未参加表决"
    lines = ok(owner.get(f"{base}/motions/{motions[4]}/units"))["units"]
    assert {line["unit"]: line["choice"] for line in lines} == expected_lines
    units_csv = owner.get(f"/estate/{CODE}/meetings/{meeting}/units.csv")
    rows_csv = list(csv.reader(io.StringIO(units_csv.content.decode("utf-8-sig"))))[1:]
    assert {row[2]: row[4] for row in rows_csv if row[0] == "1"} == expected_lines
