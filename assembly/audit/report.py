"""The verifier's report 核验报告: each check in plain words, Chinese and English, and as JSON.

Findings are collected per check while the export streams past; only the first problem of a
check is spelled out (with how many more there were), so a broken export of a million entries
still gives a short report that names the first bad entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

# Check names in report order, with their titles (English, Chinese).
TITLES: dict[str, tuple[str, str]] = {
    "keys": ("verifier keys", "验证公钥"),
    "checkpoint.signature": ("checkpoint signature", "检查点签名"),
    "checkpoint.witnesses": ("witness cosignatures", "见证人联署"),
    "since.consistency": ("consistency with your earlier checkpoint", "与您保存的旧检查点一致"),
    "entries.format": ("entries are canonical JSON lines", "条目为规范 JSON 行"),
    "entries.fields": ("entries have their fields", "条目字段齐全"),
    "entries.index": ("entry numbers are contiguous", "条目编号连续"),
    "entries.time": ("entry times never go back", "条目时间不倒退"),
    "tree.size": ("number of entries matches the checkpoint", "条目数与检查点一致"),
    "tree.root": ("Merkle root matches the checkpoint", "默克尔根与检查点一致"),
    "register.versions": ("register versions in order", "业主名册版本连续"),
    "roll": ("frozen rolls add up", "冻结名册合计正确"),
    "ballots.roll": ("every ballot from a member of the frozen roll", "每张选票来自冻结名册中的成员"),
    "ballots.window": ("every ballot inside the voting window", "每张选票在投票期间内"),
    "ballots.openings": ("every ballot commitment opened and matching", "每张选票承诺均已公开且相符"),
    "tally.files": ("tally files match the log", "计票文件与日志一致"),
    "results.recount": ("every published result equals the recount", "每项公布结果与重新计票一致"),
    "objections": ("objections handled in order", "异议处理有序"),
}


@dataclass(frozen=True)
class Words:
    """One message in both languages; str() is the English."""

    en: str
    zh: str

    def __str__(self) -> str:
        return self.en


class Check(NamedTuple):
    name: str
    ok: bool
    detail: Words


@dataclass
class VerifyReport:
    ok: bool
    checks: list[Check]
    first_bad_entry: int | None
    entries: int = 0
    origin: str | None = None
    size: int | None = None
    root: str | None = None  # hex, from the checkpoint

    def check(self, name: str) -> Check | None:
        return next((check for check in self.checks if check.name == name), None)

    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def to_json(self) -> str:
        document = {
            "ok": self.ok,
            "first_bad_entry": self.first_bad_entry,
            "entries": self.entries,
            "checkpoint": {"origin": self.origin, "size": self.size, "root": self.root},
            "checks": [
                {"name": check.name, "ok": check.ok, "detail": check.detail.en, "detail_zh": check.detail.zh}
                for check in self.checks
            ],
        }
        return json.dumps(document, ensure_ascii=False, indent=2)

    def render_text(self, lang: str = "zh") -> str:
        chinese = lang.startswith("zh")
        lines = []
        if chinese:
            verdict = "通过：导出的日志完整、未被篡改。" if self.ok else "未通过：发现问题，见下。"
            lines.append(f"审计日志核验 — {verdict}")
            lines.append(f"日志：{self.origin or '（未知）'}，条目 {self.entries} 条")
        else:
            verdict = "PASSED: the exported log is complete and untampered." if self.ok else "FAILED: see below."
            lines.append(f"Audit log verification — {verdict}")
            lines.append(f"Log: {self.origin or '(unknown)'}, {self.entries} entries")
        for check in self.checks:
            mark = "✓" if check.ok else "✗"
            english, zh = TITLES.get(check.name, (check.name, check.name))
            title = zh if chinese else english
            lines.append(f"{mark} {title}：{check.detail.zh}" if chinese else f"{mark} {title}: {check.detail.en}")
        if self.first_bad_entry is not None:
            n = self.first_bad_entry
            lines.append(f"第一个有问题的条目：第 {n} 条（从 0 起数）" if chinese else f"First bad entry: {n} (counting from 0)")
        return "\n".join(lines) + "\n"


@dataclass
class Findings:
    """Collects problems per check; remembers the first, counts the rest."""

    first: dict[str, tuple[int | None, Words]] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    passed: dict[str, Words] = field(default_factory=dict)

    def fail(self, name: str, index: int | None, words: Words) -> None:
        self.count[name] = self.count.get(name, 0) + 1
        if name not in self.first:
            self.first[name] = (index, words)

    def ok(self, name: str, words: Words) -> None:
        self.passed[name] = words

    def first_bad_entry(self) -> int | None:
        indexes = [index for index, _ in self.first.values() if index is not None]
        return min(indexes) if indexes else None

    def checks(self) -> list[Check]:
        result = []
        for name in TITLES:
            if name in self.first:
                index, words = self.first[name]
                more = self.count[name] - 1
                en, zh = words.en, words.zh
                if more:
                    en += f" (and {more} more)"
                    zh += f"（另有 {more} 处）"
                result.append(Check(name, False, Words(en, zh)))
            elif name in self.passed:
                result.append(Check(name, True, self.passed[name]))
        return result
