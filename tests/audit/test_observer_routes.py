"""The auditors' API and pages: entries, proofs that verify with the RFC 9162 verifiers, receipts, the
export, "verify now", bad parameters answered 422 with a code (never 500), and who may see what."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from assembly.audit import observer, service
from assembly.audit.checkpoint import open_checkpoint
from assembly.audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from assembly.audit.receipt import verify_receipt
from assembly.audit.verifiers import new_verifier
from assembly.audit.verify import verify_export
from assembly.auth import cards, totp
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.permissions import Role
from assembly.register.models import Estate


def _auth_kit():
    """The auth tests' builders (two estates, accounts, cards), loaded from their conftest by path."""
    name = "assembly_tests_auth_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "auth" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


kit = _auth_kit()
WHO = ("observer", "residents_committee", "street_office", "committee_chair", "admin", "beta_observer")


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


class Site:
    """An app over a database of this module's own: two estates, one login per role, a few card events."""

    def __init__(self, engine) -> None:
        self.web = kit.make_web(engine, extra_owners=6)
        self.secrets: dict[str, bytes] = {}
        self.clients: dict[str, object] = {}
        world = self.web.world
        with self.web.session() as session:
            for who in WHO:
                role = Role.OBSERVER if who == "beta_observer" else Role(who)
                estates = [world.beta.estate] if who == "beta_observer" else None
                account = kit.make_account(session, role, world, username=f"r-{who.replace('_', '-')}", estates=estates)
                if role in (Role.STREET_OFFICE, Role.ADMIN):
                    self.secrets[who] = kit.enrol_totp(session, account)
            self.rc = account_principal(session, get_account(session, "r-residents-committee"))
        self.spare = [owner.person.id for owner in world.alpha.owners[1:]]
        self.issue_cards(2)

    def issue_cards(self, count: int) -> None:
        """More entries in alpha's log (a card issued is an entry)."""
        from assembly.register.models import Person

        with self.web.session() as session:
            for _ in range(count):
                person = session.get(Person, self.spare.pop())
                cards.issue_card(session, person=person, issued_by=self.rc, now=self.web.clock.now)

    def client(self, who: str):
        if who == "anonymous":
            return self.web.client()
        if who not in self.clients:
            client = self.web.client(ip=f"10.9.{WHO.index(who)}.1")
            body = {"username": f"r-{who.replace('_', '-')}", "password": kit.PASSWORD}
            if who in self.secrets:
                self.web.clock.advance(seconds=30)
                body["totp_code"] = totp.totp(self.secrets[who], self.web.clock.now)
            response = client.post("/api/auth/login", json=body, headers={"X-CSRF-Token": kit.api_csrf(client)})
            assert response.status_code == 200, response.text
            client.csrf = kit.api_csrf(client)
            self.clients[who] = client
        return self.clients[who]

    def sign(self, code: str = "alpha") -> str:
        """Sign a checkpoint of the log as it stands; its note."""
        with self.web.session() as session:
            from sqlalchemy import select

            estate = session.scalars(select(Estate).where(Estate.code == code)).one()
            return service.sign(session, settings=self.web.app.state.settings, estate=estate).note

    def log_key(self, code: str = "alpha"):
        return new_verifier(self.client("anonymous").get(f"/api/estates/{code}/keys").text.splitlines()[0])


@pytest.fixture(scope="module")
def site(databases):
    engine = databases.copy()
    yield Site(engine)
    engine.dispose()  # give the connections back (PostgreSQL has about 100 for the whole run)


def test_entries_are_the_exact_bytes_in_order_with_paging_and_filters(site):
    observer_client = site.client("observer")
    answer = observer_client.get("/api/estates/alpha/audit/entries").json()
    size = answer["size"]
    assert answer["start"] == 0 and len(answer["entries"]) == size and answer["next"] is None
    assert [row["index"] for row in answer["entries"]] == list(range(size))
    for row in answer["entries"]:
        entry = json.loads(row["entry"])
        assert (entry["index"], entry["type"], entry["actor"]["role"]) == (row["index"], row["type"], row["actor_role"])
    assert answer["entries"][0]["type"] == "register.version"

    first = observer_client.get("/api/estates/alpha/audit/entries?start=0&limit=2").json()
    assert [row["index"] for row in first["entries"]] == [0, 1] and first["next"] == 2
    second = observer_client.get(f"/api/estates/alpha/audit/entries?start={first['next']}&limit=2").json()
    assert second["entries"][0]["index"] == 2
    only_cards = observer_client.get("/api/estates/alpha/audit/entries?type=card.issued").json()["entries"]
    assert len(only_cards) >= 2 and {row["type"] for row in only_cards} == {"card.issued"}
    assert observer_client.get(f"/api/estates/alpha/audit/entries?start={size}").json()["entries"] == []


def test_inclusion_proofs_verify_against_the_signed_checkpoint(site):
    note = site.sign()
    checkpoint, _ = open_checkpoint(note, site.log_key())
    client = site.client("residents_committee")
    for index in range(checkpoint.size):
        answer = client.get(f"/api/estates/alpha/audit/proof/inclusion?index={index}&size={checkpoint.size}").json()
        proof = [base64.b64decode(digest) for digest in answer["proof"]]
        leaf = leaf_hash(answer["entry"].encode("utf-8"))
        assert base64.b64decode(answer["leaf_hash"]) == leaf
        verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root)
        assert base64.b64decode(answer["root"]) == checkpoint.root
    whole = client.get("/api/estates/alpha/audit/proof/inclusion?index=0").json()  # size: the whole log
    assert whole["size"] >= checkpoint.size


def test_consistency_proofs_verify_between_two_signed_checkpoints(site):
    old, _ = open_checkpoint(site.sign(), site.log_key())
    site.issue_cards(3)
    new, _ = open_checkpoint(site.sign(), site.log_key())
    assert new.size == old.size + 3
    client = site.client("street_office")
    for old_size in (1, old.size, new.size):
        answer = client.get(f"/api/estates/alpha/audit/proof/consistency?old={old_size}&new={new.size}").json()
        proof = [base64.b64decode(digest) for digest in answer["proof"]]
        old_root = old.root if old_size == old.size else base64.b64decode(answer["old_root"])
        verify_consistency(old_size, new.size, proof, old_root, new.root)
        assert base64.b64decode(answer["new_root"]) == new.root


def test_a_receipt_from_the_api_verifies_offline(site):
    client = site.client("observer")
    size = client.get("/api/estates/alpha/audit/entries").json()["size"]
    response = client.get(f"/api/estates/alpha/audit/receipt/{size - 1}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    keys = client.get("/api/estates/alpha/keys").text.splitlines()
    check = verify_receipt(response.text, None, keys)
    assert check.ok, check.problem
    assert check.index == size - 1 and check.tree_size >= size


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("entries?start=-1", "start_out_of_range"),
        ("entries?start=100000000000000000000000000000", "start_out_of_range"),
        ("entries?limit=0", "limit_out_of_range"),
        ("entries?limit=1001", "limit_out_of_range"),
        ("entries?start=abc", "invalid_input"),
        ("proof/inclusion?index=-1", "index_out_of_range"),
        ("proof/inclusion?index=3&size=3", "index_out_of_range"),
        ("proof/inclusion?index=0&size=0", "size_out_of_range"),
        ("proof/inclusion?index=0&size=100000000000000000000000000000", "size_out_of_range"),
        ("proof/inclusion?index=99999999999999999999999999", "index_out_of_range"),
        ("proof/inclusion", "invalid_input"),
        ("proof/consistency?old=0&new=1", "old_out_of_range"),
        ("proof/consistency?old=3&new=2", "old_out_of_range"),
        ("proof/consistency?old=1&new=100000000000000000000000000000", "new_out_of_range"),
        ("proof/consistency?old=x&new=2", "invalid_input"),
        ("receipt/-1", "index_out_of_range"),
        ("receipt/99999999999999999999999", "index_out_of_range"),
    ],
)
def test_bad_parameters_are_422_with_a_code(site, query, code):
    response = site.client("observer").get(f"/api/estates/alpha/audit/{query}")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def test_the_export_download_verifies_and_is_for_observers_only(site, tmp_path):
    response = site.client("observer").get("/api/estates/alpha/audit/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    folder, = {name.split("/")[0] for name in names}
    assert folder in response.headers["content-disposition"]
    assert {f"{folder}/{name}" for name in ("entries.jsonl", "checkpoint", "keys", "README.txt")} <= set(names)
    report = verify_export(tmp_path / folder, trusted_keys=[site.log_key().vkey])
    assert report.ok, report.render_text("en")
    for who, status in (("residents_committee", 403), ("street_office", 403), ("committee_chair", 403),
                        ("beta_observer", 403), ("anonymous", 401)):
        assert site.client(who).get("/api/estates/alpha/audit/export").status_code == status, who


@pytest.mark.parametrize("path", ["entries", "proof/inclusion?index=0", "proof/consistency?old=1&new=1", "receipt/0"])
def test_who_reads_the_log_through_the_api(site, path):
    expected = {"observer": 200, "residents_committee": 200, "street_office": 200, "committee_chair": 403,
                "admin": 403, "beta_observer": 403, "anonymous": 401}
    got = {who: site.client(who).get(f"/api/estates/alpha/audit/{path}").status_code for who in expected}
    assert got == expected
    assert site.client("beta_observer").get(f"/api/estates/beta/audit/{path}").status_code == 200
    refused = site.client("beta_observer").get(f"/api/estates/alpha/audit/{path}").json()["error"]["code"]
    assert refused == "estate_forbidden"


# --- pages ----------------------------------------------------------------------------------------


def test_the_log_page_shows_each_entry_and_filters_by_type_role_and_days(site):
    client = site.client("observer")
    page = client.get("/estate/alpha/audit")
    assert page.status_code == 200 and "审计日志" in page.text
    assert "register.version" in page.text and "&#34;type&#34;:&#34;card.issued&#34;" in page.text
    assert 'href="/api/estates/alpha/audit/export"' in page.text and "立即核验" in page.text

    only = client.get("/estate/alpha/audit?type=register.version").text
    assert "#0 业主名册新版本" in only and "#1 " not in only
    by_role = client.get("/estate/alpha/audit?role=operator").text
    assert "card.issued&#34;" not in by_role  # cards are issued by the residents' committee
    assert "没有符合条件的记录" in client.get("/estate/alpha/audit?since=2000-01-01&until=2000-01-02").text
    for query in ("since=yesterday", "until=9999-12-31", "since=0001-01-01", "since=2026-02-30"):
        bad = client.get(f"/estate/alpha/audit?{query}")
        assert bad.status_code == 422 and "日期格式应为" in bad.text, query
    assert client.get("/estate/alpha/audit?before=-1").status_code == 422
    rc_page = site.client("residents_committee").get("/estate/alpha/audit").text
    assert "立即核验" in rc_page and "/audit/export" not in rc_page  # the export is for observers


def test_paging_works_without_javascript_and_with_htmx(site, monkeypatch):
    monkeypatch.setattr(observer, "PAGE_SIZE", 2)
    client = site.client("observer")
    size = client.get("/api/estates/alpha/audit/entries").json()["size"]
    first = client.get("/estate/alpha/audit").text
    assert f"#{size - 1} " in first and f"#{size - 2} " in first and f"#{size - 3} " not in first
    link = f"/estate/alpha/audit?before={size - 2}"
    assert f'href="{link}"' in first
    plain = client.get(link).text
    assert plain.startswith("<!doctype html>") and f"#{size - 3} " in plain
    fragment = client.get(link, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and f"#{size - 3} " in fragment.text and 'id="older"' in fragment.text
    site.issue_cards(1)  # three card.issued entries: more than one page of two, whatever ran before
    filtered = client.get("/estate/alpha/audit?type=card.issued").text
    assert "type=card.issued&amp;before=" in filtered


def test_verify_now_runs_the_cli_checks_and_reports(site, monkeypatch):
    client = site.client("residents_committee")
    form = client.get("/estate/alpha/audit/verify")
    assert form.status_code == 200 and "立即核验" in form.text
    kept = site.sign()
    site.issue_cards(1)
    response = client.post("/estate/alpha/audit/verify", data={"csrf_token": client.csrf, "since": kept})
    assert response.status_code == 200
    assert "核验结果：通过" in response.text and "✗" not in response.text
    assert "与您保存的旧检查点一致" in response.text and "默克尔根与检查点一致" in response.text

    forged = kept.replace("\n", "\n", 1).replace(kept.splitlines()[2], base64.b64encode(b"\x00" * 32).decode())
    refused = client.post("/estate/alpha/audit/verify", data={"csrf_token": client.csrf, "since": forged})
    assert "核验结果：未通过" in refused.text and "✗" in refused.text

    monkeypatch.setattr(observer, "VERIFY_LIMIT", 3)
    too_big = client.post("/estate/alpha/audit/verify", data={"csrf_token": client.csrf})
    assert too_big.status_code == 200 and "日志太大" in too_big.text and "assembly audit verify" in too_big.text
    assert site.client("committee_chair").get("/estate/alpha/audit/verify").status_code == 403


def test_the_nav_and_the_index_lead_auditors_to_their_estates(site):
    index = site.client("observer").get("/audit")
    assert index.status_code == 200 and "/estate/alpha/audit" in index.text and "/estate/beta/audit" not in index.text
    assert 'href="/audit"' in site.client("observer").get("/account").text
    assert 'href="/audit"' in site.client("street_office").get("/account").text
    assert 'href="/audit"' not in site.client("committee_chair").get("/account").text
