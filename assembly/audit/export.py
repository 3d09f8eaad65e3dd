"""Writing an audit export directory 审计导出 (the layout verify.py reads), from data already
fetched: the database-side `assembly audit export` command only has to gather the entries, the
latest signed checkpoint, the keys and the tally files, and call write_export.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from assembly.audit.semantics import SAFE_ID

README = """\
这是一个物业管理区域（小区）业主大会平台审计日志的导出副本。
This is an export of one estate's audit log from the owners' assembly platform.

内容 / Contents
  entries.jsonl      第 i 行就是第 i 条记录（从 0 起数）的原始字节 / line i is exactly entry i
  checkpoint         平台签名的检查点（含见证人联署）/ the signed checkpoint, with cosignatures
  keys               验证公钥，第一行为日志公钥 / verifier keys, the log's first
  tally/<议题>.json   每个已关闭议题的计票文件 / the tally file of every closed motion

如何核验 / How to check
  assembly audit verify <本目录> [--since <您保存的旧检查点>]
  请用在小区公告栏上公布的公钥核对 keys 文件的第一行。
  Compare the first line of `keys` with the key posted on the estate's notice board.

本目录含有可识别业主的信息（房号与投票选择），仅供观察员按保密条款使用。
This directory holds information that can identify owners (unit ids and choices):
observers use it under the platform's confidentiality terms.
"""


def write_export(
    out: Path,
    *,
    entries: Iterable[bytes],
    checkpoint_note: str,
    keys: Sequence[str],
    tally_files: Mapping[str, bytes] | None = None,
) -> int:
    """Write the export into `out` (created if needed); returns the number of entries."""
    out = Path(out)
    (out / "tally").mkdir(parents=True, exist_ok=True)
    count = 0
    with (out / "entries.jsonl").open("wb") as stream:
        for entry in entries:
            if b"\n" in entry:
                raise ValueError(f"entry {count} contains a raw newline; entries are canonical JSON")
            stream.write(entry + b"\n")
            count += 1
    (out / "checkpoint").write_text(checkpoint_note, encoding="utf-8")
    (out / "keys").write_text("".join(key.strip() + "\n" for key in keys), encoding="utf-8")
    for motion, data in (tally_files or {}).items():
        if not SAFE_ID.match(motion):
            raise ValueError(f"motion id {motion!r} cannot name a tally file")
        (out / "tally" / f"{motion}.json").write_bytes(data)
    (out / "README.txt").write_text(README, encoding="utf-8")
    return count
