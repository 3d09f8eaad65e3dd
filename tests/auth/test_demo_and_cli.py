"""The demo's logins and cards (never in production), and the operator's `assembly accounts` command."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from assembly.auth import accounts, cards, hashing
from assembly.auth.errors import CardRevoked
from assembly.auth.models import Account
from assembly.demo import DEMO_ACCOUNTS, load_demo, load_demo_access
from assembly.errors import ConfigurationError


def test_demo_logins_are_refused_in_production(session, settings):
    production = settings.model_copy(update={"env": "production"})
    with pytest.raises(ConfigurationError) as refused:
        load_demo_access(session, settings=production)
    assert refused.value.code == "demo_in_production"


def test_demo_makes_one_login_per_role_and_fresh_secrets_on_every_run(session, settings, kit):
    load_demo(session, id_key=settings.id_hash_key)
    first = load_demo_access(session, settings=settings, now=kit.T0)
    assert sorted(login.role for login in first.logins) == sorted(role for _, _, role in DEMO_ACCOUNTS)
    for login in first.logins:
        attempt = accounts.check_password(session, settings=settings, username=login.username,
                                          password=login.password, ip=None, now=kit.T0)
        assert attempt.ok and attempt.account.demo
    assert len(first.cards) == 3 and len({card.units for card in first.cards}) == 3
    assert any(len(card.units) > 1 for card in first.cards)
    printed = "\n".join(first.lines())
    assert all(login.password in printed for login in first.logins)
    second = load_demo_access(session, settings=settings, now=kit.T0)
    stale = first.logins[0]
    assert not accounts.check_password(session, settings=settings, username=stale.username, password=stale.password,
                                       ip=None, now=kit.T0).ok
    with pytest.raises(CardRevoked):  # the card printed first was reissued: its QR code is dead
        cards.card_by_token(session, first.cards[0].url.rsplit("/", 1)[1])
    assert cards.card_by_token(session, second.cards[0].url.rsplit("/", 1)[1])


def test_demo_never_takes_over_a_real_account(session, settings, kit):
    load_demo(session, id_key=settings.id_hash_key)
    kit.make_account(session, "admin", username="demo-admin")
    with pytest.raises(ConfigurationError) as refused:
        load_demo_access(session, settings=settings)
    assert refused.value.code == "demo_clash"


def test_operator_creates_the_first_admin_and_can_reset_it(cli_engine):
    from assembly.cli import app

    runner = CliRunner()
    created = runner.invoke(app, ["accounts", "create-admin", "root", "--name", "平台管理员 张"])
    assert created.exit_code == 0, created.output
    password = created.output.split("shown once: ")[1].split()[0]
    with Session(cli_engine) as session:
        account = session.scalars(select(Account).where(Account.username == "root")).one()
        assert account.role == "admin" and hashing.verify_secret(account.password_hash, password)
    again = runner.invoke(app, ["accounts", "create-admin", "root"])
    assert again.exit_code == 1 and "已被使用" in again.output
    reset = runner.invoke(app, ["accounts", "reset", "root"])
    assert reset.exit_code == 0
    new_password = reset.output.split("shown once: ")[1].split()[0]
    with Session(cli_engine) as session:
        account = session.scalars(select(Account).where(Account.username == "root")).one()
        assert hashing.verify_secret(account.password_hash, new_password)
        assert not hashing.verify_secret(account.password_hash, password)
    missing = runner.invoke(app, ["accounts", "reset", "nobody"])
    assert missing.exit_code == 1
