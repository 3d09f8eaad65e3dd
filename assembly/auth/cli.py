"""`assembly accounts` — the operator's root of the account hierarchy, run on the server.

There are no default accounts: the operator creates the first administrator here; everyone else is
created by the role above them. `reset` is the way back in for someone who lost a password or
their authenticator: new password, second factor to be set up again, every session ended.
"""

from __future__ import annotations

import typer

accounts_app = typer.Typer(help="账户 / staff accounts", no_args_is_help=True)


@accounts_app.command("create-admin")
def create_admin(
    username: str = typer.Argument(..., help="login name: 3-40 of a-z 0-9 . _ -"),
    name: str = typer.Option("平台管理员", "--name", help="display name"),
) -> None:
    """Create a platform administrator; the password is printed once (TOTP is set up at first login)."""
    from assembly.auth import accounts
    from assembly.cli import fail
    from assembly.db import unit_of_work
    from assembly.errors import AssemblyError
    from assembly.migrations import upgrade
    from assembly.models import utcnow
    from assembly.runtime import get_engine

    engine = get_engine()
    upgrade(engine)
    try:
        with unit_of_work(engine) as session:
            created = accounts.create_account(
                session, created_by=None, username=username, display_name=name, role="admin", now=utcnow()
            )
    except AssemblyError as error:
        raise fail(error) from None
    typer.echo(f"已创建平台管理员 / administrator created: {created.account.username}")
    typer.echo(f"初始密码（只显示这一次） / password, shown once: {created.password}")
    typer.echo("首次登录时须设置两步验证（TOTP） / set up TOTP at first login")


@accounts_app.command("reset")
def reset(username: str = typer.Argument(..., help="the account to reset")) -> None:
    """New password, second factor cleared, all sessions ended (recorded as a security event)."""
    from assembly.auth import accounts, events, hashing
    from assembly.auth.sessions import revoke_all
    from assembly.cli import fail
    from assembly.db import unit_of_work
    from assembly.errors import AssemblyError
    from assembly.models import utcnow
    from assembly.runtime import get_engine

    now = utcnow()
    try:
        with unit_of_work(get_engine()) as session:
            account = accounts.require_account(session, username)
            password = hashing.generate_password()
            account.password_hash = hashing.hash_secret(password)
            account.password_changed_at = now
            account.totp_secret = account.totp_enabled_at = account.totp_last_step = None
            revoke_all(session, now=now, reason="operator_reset", account_id=account.id)
            events.record(
                session, events.ACCOUNT_PASSWORD_CHANGED, subject=f"account:{account.id}", at=now,
                actor_role=accounts.OPERATOR, reason="operator_reset",
            )
    except AssemblyError as error:
        raise fail(error) from None
    typer.echo(f"新密码（只显示这一次） / new password, shown once: {password}")
