"""`assembly audit …`: keys, checkpoints, export, offline verification, receipts, the witness.

`verify`, `verify-receipt`, `witness` and `witness-keygen` need no database and no network: an
observer runs them on their own machine against an export directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)


def _say_error(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"错误 / error: {message}", err=True)
    return typer.Exit(code)


@audit_app.command("keygen")
def keygen(name: str = typer.Option("assembly", help="a name for the key (no spaces or '+')")) -> None:
    """Make a new log signing key: put the first line in ASSEMBLY_LOG_SIGNING_KEY (rotation = a new key)."""
    from assembly.audit.note import NoteError, generate_key

    try:
        skey, vkey = generate_key(name)
    except NoteError as error:
        raise _say_error(str(error)) from None
    typer.echo(skey)
    typer.echo(f"# verifier key (public): {vkey}", err=True)
    typer.echo("# 把第一行设为 ASSEMBLY_LOG_SIGNING_KEY，妥善保管 / set the first line as ASSEMBLY_LOG_SIGNING_KEY", err=True)


@audit_app.command("checkpoint")
def checkpoint(
    estate: str = typer.Option(None, "--estate", help="sign now for this estate (code); default: every estate due"),
) -> None:
    """Sign checkpoints: now for one estate, or for every estate whose log grew (the minute schedule)."""
    from assembly.audit import service
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.errors import AssemblyError
    from assembly.register.service import get_estate
    from assembly.runtime import get_engine

    settings = get_settings()
    try:
        with unit_of_work(get_engine()) as session:
            if estate:
                signed = service.sign(session, settings=settings, estate=get_estate(session, estate))
                typer.echo(signed.note, nl=False)
            else:
                typer.echo(f"signed {service.sign_due_checkpoints(session, settings=settings)} checkpoint(s)")
    except AssemblyError as error:
        raise _say_error(error.message, 1) from None


@audit_app.command("export")
def export(
    estate: str = typer.Option(..., "--estate", help="the estate's code (demo for the demo estate)"),
    out: Path = typer.Option(..., "--out", help="an empty or new directory"),
) -> None:
    """Write the estate's log, its signed checkpoint, the keys and the tally files to DIR."""
    from assembly.audit import service
    from assembly.config import get_settings
    from assembly.db import unit_of_work
    from assembly.errors import AssemblyError
    from assembly.register.service import get_estate
    from assembly.runtime import get_engine

    try:
        with unit_of_work(get_engine()) as session:
            count = service.export(session, settings=get_settings(), estate=get_estate(session, estate), out=out)
    except AssemblyError as error:
        raise _say_error(error.message, 1) from None
    typer.echo(f"已导出 {count} 条记录到 {out} / exported {count} entries to {out}")


@audit_app.command("verify")
def verify(
    directory: Path = typer.Argument(..., help="an export directory"),
    since: Path = typer.Option(None, "--since", help="an older checkpoint you kept: the log must extend it"),
    key: list[str] = typer.Option(None, "--key", help="trusted verifier key(s) from the notice board, the log's first"),
    as_json: bool = typer.Option(False, "--json", help="print the JSON report only"),
    lang: str = typer.Option("zh", "--lang", help="zh or en"),
) -> None:
    """Check an export offline: hashes, root, signatures, consistency, ballots, results."""
    from assembly.audit.verify import verify_export

    if not directory.is_dir():
        raise _say_error(f"{directory} 不是目录 / is not a directory")
    if since is not None and not since.is_file():
        raise _say_error(f"{since} 不是文件 / is not a file")
    report = verify_export(directory, since, trusted_keys=key or None)
    if as_json:
        typer.echo(report.to_json())
    else:
        typer.echo(report.render_text(lang))
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("verify-receipt")
def verify_receipt_command(
    file: Path = typer.Argument(..., help="a receipt (c2sp.org/tlog-proof), or - for standard input"),
    key: list[str] = typer.Option(None, "--key", help="verifier key(s), the log's first"),
    keys_file: Path = typer.Option(None, "--keys", help="a keys file (as in an export)"),
) -> None:
    """Check a ballot receipt offline: its entry is in the log the signed checkpoint describes."""
    from assembly.audit.receipt import verify_receipt

    text = sys.stdin.read() if str(file) == "-" else (file.read_text(encoding="utf-8") if file.is_file() else None)
    if text is None:
        raise _say_error(f"找不到文件 {file} / no such file")
    keys = list(key or [])
    if keys_file is not None:
        if not keys_file.is_file():
            raise _say_error(f"找不到文件 {keys_file} / no such file")
        keys += [line for line in keys_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not keys:
        raise _say_error("请用 --key 或 --keys 给出验证公钥 / give the verifier key with --key or --keys")
    check = verify_receipt(text, None, keys)
    if check.ok:
        typer.echo(
            f"回执有效：第 {check.index} 条记录包含在 {check.origin} 的 {check.tree_size} 条日志中\n"
            f"receipt OK: entry {check.index} is in the log {check.origin} of size {check.tree_size}"
            + (f"; witnessed by {', '.join(check.witnesses)}" if check.witnesses else "")
        )
        return
    typer.echo(f"回执无效 / receipt does NOT verify: {check.problem}", err=True)
    raise typer.Exit(1)


@audit_app.command("witness-keygen")
def witness_keygen(name: str = typer.Argument(..., help="the witness's name, e.g. lawyer-zhang.example")) -> None:
    """Make an observer's witness key (cosignature/v1): keep the first line secret."""
    from assembly.audit.cosign import generate_witness_key
    from assembly.audit.note import NoteError

    try:
        skey, vkey = generate_witness_key(name)
    except NoteError as error:
        raise _say_error(str(error)) from None
    typer.echo(skey)
    typer.echo(f"# witness verifier key (public): {vkey}", err=True)


@audit_app.command("witness")
def witness(
    directory: Path = typer.Argument(..., help="an export directory (its checkpoint and entries)"),
    key_file: Path = typer.Option(..., "--key", help="file holding your witness signing key"),
    state: Path = typer.Option(Path("witness-state.json"), "--state", help="your witness state file"),
    out: Path = typer.Option(None, "--out", help="write the cosigned checkpoint here (default: stdout)"),
) -> None:
    """Cosign the export's checkpoint if it extends the last one you cosigned; keep both on a fork."""
    from assembly.audit.cosign import ForkDetected, Witness, WitnessError, new_cosigner
    from assembly.audit.merkle import MemoryHashStore
    from assembly.audit.note import NoteError, new_verifier

    try:
        cosigner = new_cosigner(key_file.read_text(encoding="utf-8"))
        log_key = new_verifier((directory / "keys").read_text(encoding="utf-8").splitlines()[0])
        note = (directory / "checkpoint").read_text(encoding="utf-8")
    except (OSError, IndexError, NoteError) as error:
        raise _say_error(str(error)) from None
    watcher = Witness(cosigner, state, [log_key])
    last = watcher.last(log_key.name)
    proof: list[bytes] = []
    if last is not None and last["size"] > 0:
        hashes = MemoryHashStore()
        with (directory / "entries.jsonl").open("rb") as entries:
            for line in entries:
                hashes.append(line.rstrip(b"\n"))
        from assembly.audit.checkpoint import parse_checkpoint
        from assembly.audit.note import parse_note

        size = parse_checkpoint(parse_note(note)[0]).size
        if 0 < last["size"] <= size <= hashes.size:
            proof = hashes.prove_tree(size, last["size"])
    try:
        cosigned = watcher.cosign(note, proof)
    except ForkDetected as error:
        typer.echo(f"分叉！已保存两份检查点作为证据 / FORK: both notes kept as evidence: {error}", err=True)
        raise typer.Exit(3) from None
    except (WitnessError, NoteError) as error:
        raise _say_error(str(error), 1) from None
    if out is not None:
        out.write_text(cosigned, encoding="utf-8")
        typer.echo(json.dumps({"cosigned": str(out)}))
    else:
        typer.echo(cosigned, nl=False)
