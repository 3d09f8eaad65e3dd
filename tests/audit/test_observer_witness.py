"""`assembly audit witness --url … --estate …` against a live server: the checkpoint from the public
API, the consistency proof from the observers' API (logged in), a fork kept as evidence."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from assembly.audit import service
from assembly.audit.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from assembly.audit.cli import audit_app
from assembly.audit.cosign import CosignatureVerifier, generate_witness_key
from assembly.audit.keys import log_signer
from assembly.audit.models import AuditCheckpoint, AuditEntry
from assembly.audit.note import Ed25519Signer, open_note
from assembly.audit.verifiers import new_verifier
from assembly.auth import cards
from assembly.auth.sessions import account_principal
from assembly.permissions import Role
from assembly.register.models import Estate, Person

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    """A conftest of another test directory, by path (conftests are not importable under importlib)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


kit = _load("assembly_tests_auth_kit", TESTS / "auth" / "conftest.py")
live = _load("assembly_tests_e2e_kit", TESTS / "e2e" / "conftest.py")


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch):
    from argon2 import PasswordHasher, Type

    from assembly.auth import hashing

    monkeypatch.setattr(hashing, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID))
    hashing._dummy_hash.cache_clear()
    yield
    hashing._dummy_hash.cache_clear()


@pytest.fixture
def platform(engine_copy):
    web = kit.make_web(engine_copy, extra_owners=4)
    with web.session() as session:
        observer = kit.make_account(session, Role.OBSERVER, web.world, username="w-observer")
        rc = kit.make_account(session, Role.RESIDENTS_COMMITTEE, web.world, username="w-rc")
        web.observer_pseudonym = observer.pseudonym
        web.rc = account_principal(session, rc)
    web.spare = [owner.person.id for owner in web.world.alpha.owners[1:]]
    with live.LiveServer(web.app) as server:
        web.url = server.url
        yield web
    engine_copy.dispose()  # give the connections back (PostgreSQL has about 100 for the whole run)


def sign(web) -> str:
    with web.session() as session:
        estate = session.scalars(select(Estate).where(Estate.code == "alpha")).one()
        return service.sign(session, settings=web.app.state.settings, estate=estate).note


def grow(web, count: int) -> None:
    with web.session() as session:
        for _ in range(count):
            cards.issue_card(session, person=session.get(Person, web.spare.pop()), issued_by=web.rc,
                             now=web.clock.now)


def run_witness(web, tmp_path: Path, *extra: str, password: str = kit.PASSWORD):
    return CliRunner().invoke(
        audit_app,
        ["witness", "--url", web.url, "--estate", "alpha", "--key", str(tmp_path / "witness.key"),
         "--state", str(tmp_path / "state.json"), *extra],
        env={"ASSEMBLY_PASSWORD": password},
    )


def test_the_witness_follows_the_log_through_the_api_and_keeps_a_fork(platform, tmp_path):
    skey, vkey = generate_witness_key("observer.example/w1")
    (tmp_path / "witness.key").write_text(skey, encoding="utf-8")
    log_key = platform.client().get("/api/estates/alpha/keys").text.splitlines()[0]
    witness_key = CosignatureVerifier(*_name_and_key(vkey))

    first = sign(platform)
    result = run_witness(platform, tmp_path, "--log-key", log_key, "--out", str(tmp_path / "1.checkpoint"))
    assert result.exit_code == 0, result.output
    cosigned = (tmp_path / "1.checkpoint").read_text()
    assert cosigned.startswith(first.split("\n\n")[0])  # the same checkpoint body, one more signature
    assert {sig.name for sig in open_note(cosigned, [new_verifier(log_key), witness_key]).verified} == {
        new_verifier(log_key).name, "observer.example/w1"}

    grow(platform, 3)
    second = sign(platform)
    result = run_witness(platform, tmp_path, "--log-key", log_key, "--username", "w-observer",
                         "--out", str(tmp_path / "2.checkpoint"))
    assert result.exit_code == 0, result.output
    old, _ = open_checkpoint(first, new_verifier(log_key))
    new, _ = open_checkpoint(second, new_verifier(log_key))
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["logs"][new.origin]["size"] == new.size == old.size + 3
    with platform.session() as session:  # the witness's own login is in the log, like every staff login
        kinds = session.scalars(select(AuditEntry.body).where(AuditEntry.type == "login.succeeded")).all()
        assert any(json.loads(bytes(body))["actor"]["id"] == platform.observer_pseudonym for body in kinds)

    # the platform now shows another history at the same size: signed, but not the one cosigned
    with platform.session() as session:
        estate = session.scalars(select(Estate).where(Estate.code == "alpha")).one()
        signer = log_signer(platform.app.state.settings, new.origin)
        forged = sign_checkpoint(Checkpoint(new.origin, new.size, b"\x07" * 32), signer)
        session.add(AuditCheckpoint(estate_id=estate.id, size=new.size, root=b"\x07" * 32, note=forged))
    result = run_witness(platform, tmp_path, "--log-key", log_key, "--username", "w-observer")
    assert result.exit_code == 3, result.output
    evidence = next((tmp_path / "forks").iterdir())
    assert (evidence / "conflicting.checkpoint").read_text() == forged
    assert (evidence / "cosigned.checkpoint").read_text() == (tmp_path / "2.checkpoint").read_text()


def test_the_witness_refuses_a_key_other_than_the_notice_boards_and_a_missing_login(platform, tmp_path):
    skey, _ = generate_witness_key("observer.example/w2")
    (tmp_path / "witness.key").write_text(skey, encoding="utf-8")
    sign(platform)
    platform_key = new_verifier(platform.client().get("/api/estates/alpha/keys").text.splitlines()[0])
    notice_board = Ed25519Signer(platform_key.name, b"\x11" * 32).verifier.vkey  # same name, another key
    result = run_witness(platform, tmp_path, "--log-key", notice_board)
    assert result.exit_code == 1 and "not signed by any known key" in result.output
    assert not (tmp_path / "state.json").exists()
    assert run_witness(platform, tmp_path).exit_code == 0  # the key from the platform, with a warning
    grow(platform, 1)
    sign(platform)
    no_login = run_witness(platform, tmp_path)
    assert no_login.exit_code == 1 and "--username" in no_login.output
    wrong = run_witness(platform, tmp_path, "--username", "w-observer", password="not-the-password")
    assert wrong.exit_code == 1 and "401" in wrong.output


def test_the_witness_says_when_the_platform_cannot_be_reached(tmp_path):
    skey, _ = generate_witness_key("observer.example/w3")
    (tmp_path / "witness.key").write_text(skey, encoding="utf-8")
    result = CliRunner().invoke(audit_app, ["witness", "--url", "http://127.0.0.1:9", "--estate", "alpha",
                                            "--key", str(tmp_path / "witness.key"), "--state",
                                            str(tmp_path / "state.json")])
    assert result.exit_code == 1 and "cannot reach" in result.output


def _name_and_key(vkey: str) -> tuple[str, bytes]:
    import base64

    name, _key_id, blob = vkey.split("+", 2)
    return name, base64.b64decode(blob)[1:]
