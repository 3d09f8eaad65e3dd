"""`assembly register import|show` — the owner register from the command line.

`import` parses the whole file first (all or nothing), then applies it in one transaction; `show`
lists the versions and one version's summary or one unit, with owners' names and phones masked.
Exit codes: 0 done (or unchanged), 1 unknown estate/version/unit, 2 the file or the input is wrong.
"""

from __future__ import annotations

import gc
import hashlib
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import Engine, select
from sqlmodel import Session

from assembly import identity
from assembly.area import format_area
from assembly.errors import AssemblyError, InvalidInput, NotFound
from assembly.register import facts, rolls, service
from assembly.register.importer import format_problems, parse_register, read_limited
from assembly.register.models import Estate, Ownership, Person, RegisterVersion, Unit, UnitRecord
from assembly.register.problems import RegisterFileError
from assembly.register.rows import RegisterRow

register_app = typer.Typer(help="业主名册 / owner register", no_args_is_help=True)

DEFAULT_REASON = "导入业主名册 / register import"
ACTOR = "cli"
LIST_LIMIT = 50  # lines per diff section
LOCAL = ZoneInfo("Asia/Shanghai")
AREA_NAMES = {"registry": "登记 registry", "survey": "实测 survey", "contract": "合同 contract"}


def _engine() -> Engine:
    # Looked up per command so that ASSEMBLY_DATABASE_URL (after the settings cache is cleared) counts.
    from assembly.runtime import get_engine

    return get_engine()


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"错误 / error: {message}", err=True)
    return typer.Exit(code)


def _exit_for(error: AssemblyError) -> typer.Exit:
    return _fail(error.message, 1 if isinstance(error, NotFound) else 2 if isinstance(error, InvalidInput) else 1)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a bulk step of this command.

    An import holds about a million long-lived objects (rows, Decimals, facts); every automatic
    full collection walks them all and frees nothing, which took up to half of the parse and of
    the grouping for 100,000 units. The collector is back on (and runs as usual) afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_file(path: Path, *, max_bytes: int) -> tuple[bytes, list[RegisterRow]]:
    """Step 1 of an import: the file's bytes and its rows (RegisterFileError: nothing to apply)."""
    content = read_limited(path, max_bytes=max_bytes)
    with gc_paused():
        return content, parse_register(content, max_bytes=max_bytes)


def default_evidence(path: Path, content: bytes) -> str:
    return f"file:{path.name[:200]} sha256:{hashlib.sha256(content).hexdigest()}"


def apply_file(
    engine: Engine, *, estate_code: str, rows: list[RegisterRow], reason: str, evidence: str, id_key: str
) -> service.ApplyOutcome:
    """Step 2: the rows as the estate's register, in one transaction (nothing written if unchanged)."""
    from assembly.db import unit_of_work

    with gc_paused(), unit_of_work(engine) as session:
        estate = service.get_estate(session, estate_code)
        return service.apply_register(
            session, estate=estate, rows=rows, reason=reason, evidence_ref=evidence, actor=ACTOR, id_key=id_key
        )


@register_app.command("import")
def import_register(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV 或 XLSX / a CSV or XLSX file"
    ),
    estate: str = typer.Option(..., "--estate", help="小区代码 / estate code"),
    reason: str = typer.Option(DEFAULT_REASON, "--reason", help="变更原因 / why the register changes"),
    evidence: str | None = typer.Option(
        None, "--evidence", help="依据 / evidence reference (default: file name and SHA-256)"
    ),
) -> None:
    """导入业主名册 / import an owner register file as a new register version."""
    from assembly.config import get_settings
    from assembly.db import read_only

    engine = _engine()
    settings = get_settings()
    try:
        with Session(read_only(engine)) as session:
            service.get_estate(session, estate)  # before parsing a large file for a mistyped estate
    except NotFound as error:
        raise _exit_for(error) from None
    try:
        content, rows = read_file(file, max_bytes=settings.upload_max_bytes)
    except RegisterFileError as error:
        typer.echo(f"错误 / error: {error.message}", err=True)
        typer.echo(format_problems(error.problems), err=True)
        raise typer.Exit(2) from None
    try:
        outcome = apply_file(
            engine,
            estate_code=estate,
            rows=rows,
            reason=reason,
            evidence=default_evidence(file, content) if evidence is None else evidence,
            id_key=settings.id_hash_key,
        )
    except AssemblyError as error:
        raise _exit_for(error) from None
    version = outcome.version
    if not outcome.created:
        typer.echo(f"未变更 / unchanged: version {version.number}")
        return
    typer.echo(
        f"已导入 / imported: version {version.number} — {version.unit_count} 套房屋 units, "
        f"{version.member_count} 名表决权人 members, 总面积 total area {format_area(version.total_area)} ㎡"
    )
    for line in diff_lines(outcome.diff):
        typer.echo(line)


def _facts_text(described: dict) -> str:
    areas = ", ".join(f"{AREA_NAMES[name]} {value}" for name, value in described["area"].items())
    holder = "开发建设单位 developer" if described["developer"] else f"业主 owners {described['owners']}"
    return f"{areas}; {holder}"


def _change_text(change: dict) -> str:
    before, after = change["before"], change["after"]
    parts = []
    for name, label in AREA_NAMES.items():
        old, new = before["area"].get(name), after["area"].get(name)
        if old != new:
            parts.append(f"{label} {old or '—'} → {new or '—'}")
    if before["developer"] != after["developer"]:
        yes_no = {True: "是 yes", False: "否 no"}
        parts.append(f"开发建设单位 developer {yes_no[before['developer']]} → {yes_no[after['developer']]}")
    if change.get("owners_changed"):
        parts.append(f"业主变更 owners changed {before['owners']} → {after['owners']}")
    return "; ".join(parts)


def diff_lines(diff: facts.RegisterDiff, *, limit: int = LIST_LIMIT) -> list[str]:
    """The readable diff: a count line, then up to `limit` lines per section."""
    lines = [f"新增 added {len(diff.added)} · 删除 removed {len(diff.removed)} · 变更 changed {len(diff.changed)}"]
    if diff.empty:
        lines.append("房屋与业主未变，仅业主姓名或电话有更新 / no unit changed; owner names or phones were updated")

    def section(title: str, codes: list[str], describe: Callable[[str], str]) -> None:
        if not codes:
            return
        lines.append(title)
        lines.extend(f"  {code}  {describe(code)}" for code in codes[:limit])
        if len(codes) > limit:
            lines.append(f"  …… 另有 {len(codes) - limit} 套 / … and {len(codes) - limit} more")

    section("+ 新增 added:", diff.added, lambda code: _facts_text(diff.added_facts[code].describe()))
    section("- 删除 removed:", diff.removed, lambda code: _facts_text(diff.removed_facts[code].describe()))
    section("~ 变更 changed:", list(diff.changed), lambda code: _change_text(diff.changed[code]))
    return lines


def _version(session: Session, estate: Estate, number: int) -> RegisterVersion:
    version = session.scalars(
        select(RegisterVersion).where(RegisterVersion.estate_id == estate.id, RegisterVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(f"小区 {estate.code} 没有第 {number} 版名册 / estate {estate.code} has no register version {number}")
    return version


def _local(moment) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


@register_app.command("show")
def show_register(
    estate: str = typer.Option(..., "--estate", help="小区代码 / estate code"),
    version: int | None = typer.Option(None, "--version", help="版本号 / version number (default: latest)"),
    unit: str | None = typer.Option(None, "--unit", help="房屋编号 / one unit, e.g. 3-2-101"),
) -> None:
    """查看业主名册 / show register versions, a version's summary, or one unit (names masked)."""
    from assembly.db import read_only

    try:
        with Session(read_only(_engine())) as session:
            for line in show_lines(session, estate_code=estate, number=version, unit_code=unit):
                typer.echo(line)
    except AssemblyError as error:
        raise _exit_for(error) from None


def show_lines(session: Session, *, estate_code: str, number: int | None, unit_code: str | None) -> list[str]:
    estate = service.get_estate(session, estate_code)
    versions = session.scalars(
        select(RegisterVersion).where(RegisterVersion.estate_id == estate.id).order_by(RegisterVersion.number)
    ).all()
    lines = [f"{estate.name} ({estate.code})"]
    if not versions:
        if number is not None or unit_code is not None:
            raise NotFound(f"小区 {estate.code} 还没有业主名册 / estate {estate.code} has no register yet")
        lines.append("还没有业主名册 / no register yet")
        return lines
    chosen = versions[-1] if number is None else _version(session, estate, number)
    if unit_code is not None:
        return lines + _unit_lines(session, estate, chosen, unit_code)
    lines.append("版本 versions:")
    for entry in versions:
        lines.append(
            f"  v{entry.number}  {_local(entry.created_at)}  {entry.created_by}  {entry.unit_count} units  "
            f"原因 reason: {entry.reason}  依据 evidence: {entry.evidence_ref}"
        )
    units = facts.version_facts(session, version_id=chosen.id)
    members = rolls.version_members(session, version_id=chosen.id, count_ancillary=estate.ancillary_counted)
    total_area = sum((member.area for member in members), Decimal(0))
    lines += [
        f"第 {chosen.number} 版 / version {chosen.number}:",
        f"  房屋 units: {len(units)}",
        f"  开发建设单位房屋 developer units: {sum(1 for unit in units.values() if unit.developer)}",
        f"  表决权人 members: {len(members)}",
        f"  总面积 total area: {format_area(total_area)} ㎡",
        f"  总人数 total heads: {sum(member.heads for member in members)}",
    ]
    return lines


def _unit_lines(session: Session, estate: Estate, version: RegisterVersion, unit_code: str) -> list[str]:
    from assembly.law import rules

    code = unicodedata.normalize("NFKC", unit_code).strip().upper()
    found = session.execute(
        select(Unit, UnitRecord)
        .join(UnitRecord, UnitRecord.unit_id == Unit.id)
        .where(Unit.estate_id == estate.id, Unit.code == code, UnitRecord.version_id == version.id)
    ).first()
    if found is None:
        raise NotFound(f"第 {version.number} 版名册没有房屋 {code} / version {version.number} has no unit {code}")
    unit, record = found
    area, source = rules.unit_area(rules.UnitAreas(record.area_registry, record.area_survey, record.area_contract))
    lines = [f"房屋 unit {unit.code} — 第 {version.number} 版 / version {version.number}"]
    areas = {"registry": record.area_registry, "survey": record.area_survey, "contract": record.area_contract}
    for name, value in areas.items():
        lines.append(f"  {AREA_NAMES[name]}: {format_area(value) if value is not None else '—'}")
    lines.append(f"  计入面积 area that counts: {format_area(area)} ㎡ ({AREA_NAMES[source]})")
    if record.developer:
        lines.append("  开发建设单位持有 / held by the developer")
        return lines
    owners = session.execute(
        select(Person.name, Person.phone, Person.pseudonym)
        .join(Ownership, Ownership.person_id == Person.id)
        .where(Ownership.version_id == version.id, Ownership.unit_id == unit.id)
        .order_by(Person.pseudonym)
    ).all()
    lines.append(f"  业主 owners ({len(owners)}):")
    for name, phone, pseudonym in owners:
        lines.append(f"    {identity.mask_name(name)}  {identity.mask_phone(phone) or '—'}  [{pseudonym}]")
    return lines
