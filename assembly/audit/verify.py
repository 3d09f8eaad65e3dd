"""The offline verifier of an audit export 审计导出核验: `assembly audit verify DIR [--since OLD]`.

Needs nothing of the running platform — no database, no network — only the export directory:

- `entries.jsonl`  line i is exactly the bytes of entry i, then "\\n";
- `checkpoint`     the signed checkpoint note covering all of them, with cosignatures;
- `keys`           verifier keys, one per line, the log's first, witnesses after;
- `tally/<motion>.json`  the tally file of every closed motion.

Entries are streamed once. The Merkle root is recomputed with a compact range (O(log n)
memory). Consistency with an older checkpoint the observer kept is shown by recomputation: the
root of the first `old size` entries is taken on the way past, and must equal the old root,
while the root of all entries must equal the new one — both from the same bytes, so the new
tree extends the old one exactly when both match. No consistency proof is needed because the
verifier holds every entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from assembly.audit.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from assembly.audit.entries import EntryError, entry_problems, parse_time
from assembly.audit.jcs import NotCanonical, loads_canonical
from assembly.audit.merkle import CompactRange, leaf_hash
from assembly.audit.note import Ed25519Verifier, NoteError, Verifier, parse_note
from assembly.audit.report import Findings, VerifyReport, Words
from assembly.audit.semantics import Ledger, Recount
from assembly.audit.verifiers import new_verifier

__all__ = ["VerifyReport", "verify_export"]


def verify_export(
    directory: str | Path,
    since: str | bytes | Path | None = None,
    *,
    trusted_keys: Sequence[str] | None = None,
    recount: Recount | None = None,
) -> VerifyReport:
    """Check an export directory; `since` is an older checkpoint note the observer kept: its
    text (a note always holds newlines), or a path to it (a Path, or a str without newlines). `trusted_keys` (vkey texts, the log's first) replace the export's own
    `keys` file when the observer has the keys from the notice board. `recount` replaces the
    platform's tally function (assembly.law.tally.tally) for results."""
    directory = Path(directory)
    findings = Findings()
    keys = _load_keys(directory, trusted_keys, findings)
    checkpoint = _load_checkpoint(directory, keys, findings)
    old = _load_since(since, keys, checkpoint, findings) if since is not None else None

    marks: dict[int, bytes | None] = {}
    for cp in (checkpoint, old):
        if cp is not None:
            marks[cp.size] = None
    ledger = Ledger(findings, directory / "tally", recount)
    compact = _scan(directory / "entries.jsonl", findings, ledger, marks)
    ledger.finish()

    _check_tree(compact, checkpoint, marks, findings)
    if old is not None and checkpoint is not None:
        _check_since(old, checkpoint, marks, findings)
    checks = findings.checks()
    return VerifyReport(
        ok=all(check.ok for check in checks),
        checks=checks,
        first_bad_entry=findings.first_bad_entry(),
        entries=compact.size,
        origin=checkpoint.origin if checkpoint else None,
        size=checkpoint.size if checkpoint else None,
        root=checkpoint.root.hex() if checkpoint else None,
    )


def _load_keys(directory: Path, trusted: Sequence[str] | None, findings: Findings) -> list[Verifier] | None:
    try:
        exported = (directory / "keys").read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        exported = []
    lines = [line.strip() for line in (trusted if trusted is not None else exported) if line.strip()]
    try:
        keys = [new_verifier(line) for line in lines]
    except NoteError as exc:
        findings.fail("keys", None, Words(f"a verifier key is malformed: {exc}", f"验证公钥格式错误：{exc}"))
        return None
    if not keys or not isinstance(keys[0], Ed25519Verifier):
        findings.fail("keys", None, Words("no Ed25519 log key on the first line", "第一行不是日志的 Ed25519 公钥"))
        return None
    exported_first = next((line.strip() for line in exported if line.strip()), None)
    if trusted is not None and exported_first != lines[0]:
        findings.fail("keys", None, Words("the export's keys file names another log key than the one you trust",
                                          "导出目录中的公钥与您信任的日志公钥不同"))
        return keys
    findings.ok("keys", Words(f"log key {keys[0].name}, {len(keys) - 1} witness keys",
                              f"日志公钥 {keys[0].name}，见证人公钥 {len(keys) - 1} 个"))
    return keys


def _load_checkpoint(directory: Path, keys: list[Verifier] | None, findings: Findings) -> Checkpoint | None:
    try:
        note = (directory / "checkpoint").read_bytes()
    except OSError:
        findings.fail("checkpoint.signature", None, Words("the export has no checkpoint file", "导出目录中没有检查点文件"))
        return None
    if keys is not None:
        try:
            checkpoint, opened = open_checkpoint(note, keys[0], keys[1:])
        except NoteError as exc:
            findings.fail("checkpoint.signature", None, Words(f"checkpoint does not verify: {exc}", f"检查点签名无效：{exc}"))
        else:
            findings.ok("checkpoint.signature", Words(f"signed by {keys[0].name}", f"由 {keys[0].name} 签名"))
            witnesses = [sig.name for sig in opened.verified if sig.name != keys[0].name]
            en = f"cosigned by {', '.join(witnesses)}" if witnesses else "no cosignature by a known witness"
            zh = f"见证人联署：{'、'.join(witnesses)}" if witnesses else "没有已知见证人的联署"
            findings.ok("checkpoint.witnesses", Words(en, zh))
            return checkpoint
    try:  # unverified, but still useful to say whether the entries match it
        return parse_checkpoint(parse_note(note)[0])
    except NoteError:
        return None


def _load_since(since: str | bytes | Path, keys: list[Verifier] | None, current: Checkpoint | None,
                findings: Findings) -> Checkpoint | None:
    if isinstance(since, str) and "\n" not in since:
        since = Path(since)
    if isinstance(since, Path):
        try:
            since = since.read_bytes()
        except OSError as exc:
            findings.fail("since.consistency", None, Words(f"cannot read your checkpoint: {exc}", f"无法读取您的检查点：{exc}"))
            return None
    if keys is None:
        findings.fail("since.consistency", None, Words("no log key to check your checkpoint with", "没有可用于核对旧检查点的公钥"))
        return None
    try:
        old, _ = open_checkpoint(since, keys[0], keys[1:])
    except NoteError as exc:
        findings.fail("since.consistency", None, Words(f"your checkpoint does not verify with the log key: {exc}",
                                                       f"您的旧检查点无法用日志公钥验证：{exc}"))
        return None
    if current is not None and old.origin != current.origin:
        findings.fail("since.consistency", None, Words(f"your checkpoint is for {old.origin}, not {current.origin}",
                                                       f"您的检查点属于 {old.origin}，而不是 {current.origin}"))
        return None
    return old


def _scan(path: Path, findings: Findings, ledger: Ledger, marks: dict[int, bytes | None]) -> CompactRange:
    compact = CompactRange()
    if 0 in marks:
        marks[0] = compact.root()
    latest: datetime | None = None
    try:
        stream = path.open("rb")
    except OSError:
        findings.fail("entries.format", None, Words("the export has no entries.jsonl", "导出目录中没有 entries.jsonl"))
        return compact
    with stream:
        for index, line in enumerate(stream):
            body = line[:-1] if line.endswith(b"\n") else line
            if body is line:
                findings.fail("entries.format", index, Words(f"entry {index}: the last line has no newline",
                                                             f"第 {index} 条：最后一行缺少换行符"))
            compact.append(leaf_hash(body))
            if compact.size in marks:
                marks[compact.size] = compact.root()
            latest = _check_entry(index, body, latest, findings, ledger)
    return compact


def _check_entry(
    index: int, body: bytes, latest: datetime | None, findings: Findings, ledger: Ledger
) -> datetime | None:
    def fail(check: str, en: str, zh: str) -> None:
        findings.fail(check, index, Words(f"entry {index}: {en}", f"第 {index} 条：{zh}"))

    try:
        entry = loads_canonical(body)
    except NotCanonical as exc:
        fail("entries.format", str(exc), f"不是规范 JSON（RFC 8785）：{exc}")
        return latest
    if not isinstance(entry, dict):
        fail("entries.format", "not a JSON object", "不是 JSON 对象")
        return latest
    if entry.get("index") != index:
        fail("entries.index", f"says it is entry {entry.get('index')}", f"自称第 {entry.get('index')} 条")
    problems = entry_problems(entry)
    if problems:
        fail("entries.fields", "; ".join(problems), f"字段不符合规定：{'; '.join(problems)}")
    try:
        moment = parse_time(entry.get("at"))
    except EntryError:
        return latest  # already reported as a field problem
    if latest is not None and moment < latest:
        fail("entries.time", f"logged at {entry['at']}, before the entry above it", f"记录时间 {entry['at']} 早于前一条")
    if not problems:
        try:  # by the number the entry gives itself, which its cross-references also use
            ledger.feed(entry["index"], entry)
        except (KeyError, TypeError, ValueError) as exc:  # shapes passed, contents still odd
            fail("entries.fields", f"cannot be read: {exc}", f"无法解读：{exc}")
    return moment if latest is None or moment > latest else latest


def _check_tree(compact: CompactRange, checkpoint: Checkpoint | None, marks: dict[int, bytes | None],
                findings: Findings) -> None:
    count = compact.size
    findings.ok("entries.format", Words(f"{count} entries, each one canonical JSON line", f"共 {count} 条，每条为一行规范 JSON"))
    findings.ok("entries.fields", Words("every entry has its fields", "每条记录字段齐全"))
    if count:
        findings.ok("entries.index", Words(f"entries numbered 0 to {count - 1} without gaps", f"条目编号 0 至 {count - 1} 连续"))
    else:
        findings.ok("entries.index", Words("the log is empty", "日志为空"))
    findings.ok("entries.time", Words("entry times never go back", "条目时间从不倒退"))
    if checkpoint is None:
        findings.fail("tree.root", None, Words("no readable checkpoint to compare with", "没有可读的检查点可供比对"))
        return
    size = checkpoint.size
    if count < size:
        findings.fail("tree.size", count, Words(f"the checkpoint covers {size} entries, the export has {count}: "
                                                f"{size - count} missing",
                                                f"检查点涵盖 {size} 条，导出只有 {count} 条：缺少 {size - count} 条"))
        findings.fail("tree.root", None, Words("cannot recompute the root: entries are missing", "条目缺失，无法重算默克尔根"))
        return
    if count > size:
        findings.fail("tree.size", size, Words(f"{count - size} entries beyond the {size} the checkpoint covers",
                                               f"有 {count - size} 条超出检查点涵盖的 {size} 条"))
    else:
        findings.ok("tree.size", Words(f"{count} entries, as the checkpoint says", f"{count} 条，与检查点一致"))
    if marks.get(size) != checkpoint.root:
        findings.fail("tree.root", None, Words("the entries do not hash to the checkpoint's root: "
                                               "an entry was changed, added, removed or reordered",
                                               "条目重算的默克尔根与检查点不符：有条目被修改、增加、删除或调换"))
    else:
        findings.ok("tree.root", Words(f"root {checkpoint.root.hex()[:16]}… recomputed from the entries",
                                       f"由条目重算的根 {checkpoint.root.hex()[:16]}… 与检查点一致"))


def _check_since(old: Checkpoint, checkpoint: Checkpoint, marks: dict[int, bytes | None], findings: Findings) -> None:
    if old.size > checkpoint.size:
        findings.fail("since.consistency", None, Words(
            f"your checkpoint has {old.size} entries, this export only {checkpoint.size}: the log went back",
            f"您的检查点有 {old.size} 条，而本导出只有 {checkpoint.size} 条：日志被回退"))
    elif marks.get(old.size) != old.root:
        findings.fail("since.consistency", None, Words(
            f"the first {old.size} entries are not those your checkpoint covers: the history was rewritten (a fork)",
            f"前 {old.size} 条与您保存的检查点不符：历史被改写（分叉）"))
    else:
        findings.ok("since.consistency", Words(
            f"the first {old.size} entries are exactly those your checkpoint covers; the log only grew since",
            f"前 {old.size} 条正是您的检查点所涵盖的内容；此后日志只有追加"))
