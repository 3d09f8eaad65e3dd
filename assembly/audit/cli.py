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
    directory: Path = typer.Argument(None, help="an export directory (its checkpoint and entries); or use --url"),
    key_file: Path = typer.Option(..., "--key", help="file holding your witness signing key"),
    state: Path = typer.Option(Path("witness-state.json"), "--state", help="your witness state file"),
    out: Path = typer.Option(None, "--out", help="write the cosigned checkpoint here (default: stdout)"),
    url: str = typer.Option(None, "--url", help="the platform (https://…): fetch the checkpoint and proof from its API"),
    estate: str = typer.Option(None, "--estate", help="with --url: the estate's code"),
    username: str = typer.Option(None, "--username", help="with --url: your observer account (for the proof)"),
    log_key: str = typer.Option(None, "--log-key", help="the log's verifier key from the notice board (recommended)"),
    totp_code: str = typer.Option(None, "--totp", help="with --url: a current two-step code, if your account has one"),
) -> None:
    """Cosign the latest checkpoint if it extends the last one you cosigned; keep both on a fork.

    From an export directory, or from the platform's API (--url, --estate): the checkpoint is public;
    the consistency proof needs your login (--username; the password from ASSEMBLY_PASSWORD or asked)."""
    from assembly.audit.cosign import ForkDetected, Witness, WitnessError, new_cosigner
    from assembly.audit.note import NoteError
    from assembly.audit.verifiers import new_verifier

    if (directory is None) == (url is None):
        raise _say_error("请给出导出目录或 --url（二选一） / give an export directory or --url, not both")
    if url is not None and not estate:
        raise _say_error("使用 --url 时请给出 --estate / --url needs --estate")
    try:
        cosigner = new_cosigner(key_file.read_text(encoding="utf-8"))
    except (OSError, NoteError) as error:
        raise _say_error(str(error)) from None
    if url is None:
        try:
            log_verifier = new_verifier(log_key or (directory / "keys").read_text(encoding="utf-8").splitlines()[0])
            note = (directory / "checkpoint").read_text(encoding="utf-8")
        except (OSError, IndexError, NoteError) as error:
            raise _say_error(str(error)) from None
        watcher = Witness(cosigner, state, [log_verifier])
        proof = _proof_from_export(directory, note, watcher.last(log_verifier.name))
    else:
        client = PlatformClient(url, estate)
        try:
            log_verifier = new_verifier(log_key or client.log_key())
            if log_key is None:
                typer.echo("注意：公钥取自平台本身，请与小区公告栏上的公钥核对（--log-key）/ "
                           "the log key came from the platform itself: pin the notice board's with --log-key", err=True)
            note = client.checkpoint()
            watcher = Witness(cosigner, state, [log_verifier])
            proof = client.proof_for(note, watcher.last(log_verifier.name), username=username, totp_code=totp_code,
                                     password=lambda: _password(username))
        except PlatformError as error:
            raise _say_error(str(error), 1) from None
        except NoteError as error:
            raise _say_error(str(error), 1) from None
        finally:
            client.close()
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


def _password(username: str | None) -> str:
    import os

    if os.environ.get("ASSEMBLY_PASSWORD"):
        return os.environ["ASSEMBLY_PASSWORD"]
    return typer.prompt(f"{username} 的密码 / password", hide_input=True)


def _proof_from_export(directory: Path, note: str, last: dict | None) -> list[bytes]:
    """The consistency proof from the last cosigned size to the export's checkpoint, from its entries."""
    from assembly.audit.checkpoint import parse_checkpoint
    from assembly.audit.merkle import MemoryHashStore
    from assembly.audit.note import parse_note

    if last is None or last["size"] == 0:
        return []
    hashes = MemoryHashStore()
    with (directory / "entries.jsonl").open("rb") as entries:
        for line in entries:
            hashes.append(line.rstrip(b"\n"))
    size = parse_checkpoint(parse_note(note)[0]).size
    if 0 < last["size"] <= size <= hashes.size:
        return hashes.prove_tree(size, last["size"])
    return []


# --- the witness against the platform's API (standard library only: urllib, http.cookiejar) ----


class PlatformError(Exception):
    """The platform could not be asked, or refused; the message says why."""


class PlatformClient:
    """What a witness needs from the platform: the public checkpoint and keys, and (logged in as an
    observer) a consistency proof. Cookies live only in memory; the session is ended at `close`."""

    def __init__(self, url: str, estate: str, *, timeout: float = 30.0) -> None:
        import http.cookiejar
        import urllib.request
        from urllib.parse import quote

        self.base = url.rstrip("/")
        self.estate = quote(estate, safe="")
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf: str | None = None
        self.logged_in = False

    def _ask(self, method: str, path: str, body: dict | None = None) -> bytes:
        import urllib.error
        import urllib.request

        headers = {"Accept": "application/json, text/plain"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if method != "GET" and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            raise PlatformError(f"{method} {path}: {error.code} {_error_message(error.read())}") from None
        except (urllib.error.URLError, OSError) as error:
            raise PlatformError(f"无法连接 {self.base} / cannot reach {self.base}: {error}") from None

    def checkpoint(self) -> str:
        return self._ask("GET", f"/api/estates/{self.estate}/checkpoint").decode("utf-8")

    def log_key(self) -> str:
        lines = [line for line in self._ask("GET", f"/api/estates/{self.estate}/keys").decode().splitlines() if line]
        if not lines:
            raise PlatformError("the platform published no verifier key")
        return lines[0]

    def login(self, username: str, password: str, totp_code: str | None) -> None:
        self.csrf = json.loads(self._ask("GET", "/api/auth/csrf"))["csrf_token"]
        body = {"username": username, "password": password}
        if totp_code:
            body["totp_code"] = totp_code
        answer = json.loads(self._ask("POST", "/api/auth/login", body))
        self.csrf = answer["csrf_token"]
        self.logged_in = True

    def consistency(self, old: int, new: int) -> list[bytes]:
        import base64

        answer = json.loads(self._ask("GET", f"/api/estates/{self.estate}/audit/proof/consistency?old={old}&new={new}"))
        if (answer.get("old"), answer.get("new")) != (old, new):
            raise PlatformError("the platform answered a proof for other sizes")
        try:
            return [base64.b64decode(digest, validate=True) for digest in answer["proof"]]
        except (KeyError, TypeError, ValueError):
            raise PlatformError("the platform's proof is not a list of base64 hashes") from None

    def proof_for(self, note: str, last: dict | None, *, username: str | None, totp_code: str | None,
                  password) -> list[bytes]:
        """The proof from the last cosigned size to `note`'s size: none needed the first time, for the
        same size, or for an older size (the witness refuses that itself); else logged in, from the API."""
        from assembly.audit.checkpoint import parse_checkpoint
        from assembly.audit.note import parse_note

        size = parse_checkpoint(parse_note(note)[0]).size
        if last is None or not 0 < last["size"] < size:
            return []
        if not username:
            raise PlatformError("需要一致性证明：请用 --username 登录 / a consistency proof needs your login: --username")
        self.login(username, password(), totp_code)
        return self.consistency(last["size"], size)

    def close(self) -> None:
        if self.logged_in:
            try:
                self._ask("POST", "/api/auth/logout", {})
            except PlatformError:
                pass  # the session expires by itself
            self.logged_in = False


def _error_message(raw: bytes) -> str:
    try:
        return json.loads(raw)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return raw[:200].decode("utf-8", "replace")
