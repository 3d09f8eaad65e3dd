"""`assembly privacy` — the operator's retention duties, run on the server (docs/security.md)."""

from __future__ import annotations

import typer

privacy_app = typer.Typer(help="个人信息保存期限 / personal data retention", no_args_is_help=True)


@privacy_app.callback()
def privacy() -> None:
    """个人信息保存期限 / personal data retention (a group, so that more duties can join this one)."""


@privacy_app.command("erase-former-owners")
def erase_former_owners(
    estate: list[str] = typer.Option(None, "--estate", help="estate code (repeatable); default: every estate"),
    hold_meeting: list[int] = typer.Option(
        None, "--hold-meeting", help="id of a meeting under a court case or complaint: its owners are kept (repeatable)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="only list what would be erased; change nothing"),
) -> None:
    """Erase the names and phone numbers of owners who sold, once a year (366 days) has passed since
    they left the register and since the announcement of the last meeting they were on the roll of,
    and none of those meetings is still open to objection. Prints pseudonyms only; each estate's
    erasure is one `owners.erased` audit entry. Safe to run again (nothing is erased twice)."""
    from sqlalchemy import select

    from assembly.cli import fail
    from assembly.db import unit_of_work
    from assembly.errors import AssemblyError, NotFound
    from assembly.migrations import upgrade
    from assembly.models import utcnow
    from assembly.privacy import service
    from assembly.register.models import Estate
    from assembly.runtime import get_engine

    engine = get_engine()
    upgrade(engine)
    now = utcnow()
    total = 0
    try:
        with unit_of_work(engine) as session:
            query = select(Estate).order_by(Estate.code)
            if estate:
                query = query.where(Estate.code.in_(estate))
            estates = session.scalars(query).all()
            missing = sorted(set(estate or ()) - {found.code for found in estates})
            if missing:
                raise NotFound(f"没有这个小区 / no such estate: {', '.join(missing)}", code="estate_not_found")
            for found in estates:
                done = service.erase_former_owners(session, estate=found, now=now, dry_run=dry_run,
                                                   held_meetings=frozenset(hold_meeting or ()))
                total += len(done.erased)
                typer.echo(_report(done, now=now, dry_run=dry_run))
            if dry_run:
                session.rollback()
    except AssemblyError as error:
        raise fail(error) from None
    verb = "将删除 / would erase" if dry_run else "已删除 / erased"
    typer.echo(f"{verb}: {total}")


def _report(done, *, now, dry_run: bool) -> str:
    """One line per former owner: pseudonym and what happens to their data — never a name or a phone."""
    lines = [f"{done.estate.code}: 原业主 / former owners: {len(done.reviewed)}"]
    erased = set(done.erased)
    for owner in done.reviewed:
        pseudonym = owner.person.pseudonym
        if pseudonym in erased:
            state = "将删除 / would erase" if dry_run else "已删除 / erased"
        elif owner.erased:
            state = "此前已删除 / erased before"
        elif owner.held:
            state = "保留 / kept: " + "; ".join(owner.held)
        else:
            state = f"保留至 / kept until {owner.keep_until.date().isoformat()}"
        lines.append(f"  {pseudonym}  {state}")
    if done.entry is not None:
        lines.append(f"  审计日志第 {done.entry} 条 / audit entry {done.entry} (owners.erased)")
    return "\n".join(lines)
