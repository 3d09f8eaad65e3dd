"""Results and minutes of an announced meeting as documents 表决结果 / 会议记录及决议: what goes in
them (exact figures, the legal reasons, the tally file's SHA-256 and the audit entries to check it
against), and the CSV forms. The PDFs are drawn by assembly.voting.document_pdf.

Available once the result is announced; figures are decimal strings and exact fractions "a/b",
never floats. The per-unit CSV holds room, area and choice — never names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from assembly.area import format_area
from assembly.audit.models import AuditEntry
from assembly.errors import Conflict
from assembly.law.rules import ITEM_NAMES, MAJOR_ITEMS, percent
from assembly.register.models import Estate
from assembly.spreadsheet import csv_text
from assembly.voting import meetings, objections, views
from assembly.voting.models import Meeting, Motion, Objection

CHECKED_TYPES = ("motion.closed", "result.announced", "result.recounted", "result.final")


def not_announced() -> Conflict:
    return Conflict("表决结果公告后才能下载结果和会议记录 / results and minutes come after the announcement",
                    code="not_announced")


@dataclass(frozen=True)
class Rate:
    """part of whole, exactly ("a/b") and for reading (percent, cut, marked … when cut)."""

    part: Decimal | int
    whole: Decimal | int

    @property
    def fraction(self) -> str:
        return f"{_figure(self.part)}/{_figure(self.whole)}"

    @property
    def percent(self) -> str:
        return percent(self.part, self.whole)


def _figure(value: Decimal | int) -> str:
    return format_area(value) if isinstance(value, Decimal) else str(value)


@dataclass(frozen=True)
class MotionRecord:
    """One motion of the documents: its result as announced (or as the objection period left it), the reasons, and where to check it."""

    motion: Motion
    result: dict
    passed: bool | None  # None for an election
    reasons: tuple[str, ...]
    elected: tuple[str, ...]
    entries: dict[str, int]  # entry type -> index (the latest of each type for this motion)
    objections: tuple[Objection, ...]

    def count(self, name: str) -> tuple[Decimal, int]:
        share = self.result[name]
        return Decimal(share["area"]), int(share["heads"])

    def rates(self) -> dict[str, Rate]:
        """participating / total and, for a motion, agree / participating, by area and by heads."""
        (total_area, total_heads), (part_area, part_heads) = self.count("total"), self.count("participating")
        rates = {"participating_area": Rate(part_area, total_area), "participating_heads": Rate(part_heads, total_heads)}
        if self.motion.kind == "motion":
            agree_area, agree_heads = self.count("agree")
            rates |= {"agree_area": Rate(agree_area, part_area), "agree_heads": Rate(agree_heads, part_heads)}
        return rates

    @property
    def verdict(self) -> str:
        if self.motion.kind == "election":
            return "当选：" + ("、".join(self.elected) or "无")
        return "获得通过" if self.passed else "未获通过"

    @property
    def threshold(self) -> str:
        if self.motion.kind == "election":
            return "每位候选人须获参与表决面积和人数均过半数同意，按人数、面积排序当选"
        return "须参与表决面积和人数均四分之三以上同意（重大事项）" if self.motion.item in MAJOR_ITEMS \
            else "须参与表决面积和人数均过半数同意"


@dataclass(frozen=True)
class MeetingRecord:
    estate: Estate
    meeting: Meeting
    stage: str
    motions: tuple[MotionRecord, ...]
    objection_ends: datetime | None
    generated_at: datetime

    @property
    def stage_label(self) -> str:
        return meetings.STATE_LABELS[self.stage]


def entry_indexes(session: Session, *, estate_id: int, motions: Iterable[Motion]) -> dict[str, dict[str, int]]:
    """For each motion's log id, the index of its motion.closed, result.announced, result.recounted
    and result.final entries (the latest of each), read from the log itself."""
    wanted: dict[str, dict[str, int]] = {motion.public_id: {} for motion in motions}
    rows = session.execute(select(col(AuditEntry.idx), col(AuditEntry.body)).where(
        col(AuditEntry.estate_id) == estate_id, col(AuditEntry.type).in_(CHECKED_TYPES)).order_by(col(AuditEntry.idx)))
    for index, body in rows:
        entry = json.loads(bytes(body))
        if entry.get("motion") in wanted:
            wanted[entry["motion"]][entry["type"]] = index
    return wanted


def meeting_record(session: Session, *, estate: Estate, meeting: Meeting, now: datetime) -> MeetingRecord:
    """Everything the documents say; Conflict before the result is announced."""
    if meeting.announced_at is None:
        raise not_announced()
    assert estate.id is not None
    motions = meetings.motions_of(session, meeting=meeting)
    indexes = entry_indexes(session, estate_id=estate.id, motions=motions)
    records = []
    for motion in motions:
        outcome = views.outcome(motion)
        assert outcome is not None  # every motion is counted when the result is announced
        records.append(MotionRecord(motion, outcome.result, outcome.passed, outcome.reasons, outcome.elected,
                                    indexes[motion.public_id], tuple(objections.objections_of(session, motion=motion))))
    return MeetingRecord(estate, meeting, meetings.state(meeting, now), tuple(records),
                         objections.period_ends(meeting), now)


def item_label(motion: Motion) -> str:
    return f"第（{motion.item}）项：{ITEM_NAMES[motion.item]}"


# --- CSV --------------------------------------------------------------------------------------

TOTALS_HEADER = (
    "会议", "议题序号", "议题", "事项", "表决方式", "候选人", "总面积", "总人数", "参与表决面积", "参与表决人数",
    "参与面积比例", "参与人数比例", "达到法定参与比例", "同意面积", "同意人数", "同意面积比例", "同意人数比例",
    "反对面积", "反对人数", "弃权面积", "弃权人数", "结果", "计票文件SHA-256", "公告条目", "异议期结束条目",
)


def totals_csv(record: MeetingRecord) -> str:
    """One line per motion (per candidate for an election): exact figures and fractions, the verdict,
    the tally file's SHA-256 and the log entries that announced and finalised it."""
    rows: list[list[object]] = [list(TOTALS_HEADER)]
    for item in record.motions:
        motion, result = item.motion, item.result
        rates = item.rates()
        common = [record.meeting.title, motion.position, motion.title, motion.item,
                  "选举" if motion.kind == "election" else "议题"]
        figures = [result["total"]["area"], result["total"]["heads"], result["participating"]["area"],
                   result["participating"]["heads"], rates["participating_area"].fraction,
                   rates["participating_heads"].fraction, "是" if result["quorum"] else "否"]
        check = [motion.tally_sha256, item.entries.get("result.announced"), item.entries.get("result.final")]
        if motion.kind == "motion":
            rows.append(common + [""] + figures + [
                result["agree"]["area"], result["agree"]["heads"], rates["agree_area"].fraction,
                rates["agree_heads"].fraction, result["oppose"]["area"], result["oppose"]["heads"],
                result["abstain"]["area"], result["abstain"]["heads"], item.verdict] + check)
            continue
        part_area, part_heads = item.count("participating")
        for candidate in result["candidates"]:
            area, heads = Decimal(candidate["area"]), int(candidate["heads"])
            verdict = "当选" if candidate["elected"] else ("通过但未当选" if candidate["passed"] else "未通过")
            rows.append(common + [candidate["id"]] + figures + [
                candidate["area"], heads, Rate(area, part_area).fraction, Rate(heads, part_heads).fraction,
                "", "", "", "", verdict] + check)
    return csv_text(rows)


def units_csv(session: Session, record: MeetingRecord) -> str:
    """Per unit of each motion: room, area, choice of the counted ballot (never names)."""
    rows: list[list[object]] = [["议题序号", "议题", "房号", "面积", "表决意见"]]
    for item in record.motions:
        for line in views.unit_lines(session, motion=item.motion):
            rows.append([item.motion.position, item.motion.title, line["unit"], format_area(line["area"]),
                         line["choice"]])
    return csv_text(rows)


def filename(record: MeetingRecord, kind: str, extension: str) -> str:
    return f"{record.estate.code}-meeting-{record.meeting.id}-{kind}.{extension}"
