"""The results 表决结果 and minutes 会议记录及决议 of a meeting as A4 PDFs in Chinese, set in the
platform's embedded font with the sheet and helpers of assembly.pdf. Pure: a MeetingRecord in,
PDF bytes out."""

from __future__ import annotations

from datetime import datetime

from fpdf.enums import WrapMode

from assembly.area import format_area
from assembly.pdf import A4_H, A4_W, BRAND, FONT, INK, LINE, MUTED, Sheet, printable
from assembly.voting import casting, meetings
from assembly.voting.documents import MeetingRecord, MotionRecord, item_label
from assembly.voting.meetings import SHANGHAI

MARGIN = 18.0
WIDTH = A4_W - 2 * MARGIN
LABEL_W = 42.0


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M（北京时间）")


class _Report(Sheet):
    """A flowing A4 document: the card sheet's font and colours, margins, page numbers in the footer."""

    def __init__(self, title: str, footer: str) -> None:
        super().__init__(title)
        self.footer_line = footer
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN)
        self.alias_nb_pages()
        self.add_page()

    def footer(self) -> None:
        self.text_at(MARGIN, A4_H - 12, f"{self.footer_line} · 第 {self.page_no()}/{{nb}} 页", size=7.5, color=MUTED,
                     width=WIDTH)

    def para(self, text: str, *, size: float = 10.5, color=INK, gap: float = 1.0, x: float = MARGIN,
             width: float = WIDTH) -> None:
        self.set_font(FONT, size=size)
        self.set_text_color(*color)
        self.set_x(x)
        self.multi_cell(w=width, h=size * 0.3528 * 1.5, text=printable(text), wrapmode=WrapMode.CHAR,
                        new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)

    def heading(self, text: str, *, size: float = 13) -> None:
        if self.get_y() > A4_H - 50:
            self.add_page()
        self.ln(2)
        self.para(text, size=size, color=BRAND, gap=1.5)

    def pair(self, label: str, value: str, *, size: float = 10) -> None:
        """A label in the left column and its value, wrapped, beside it."""
        if self.get_y() > A4_H - MARGIN - 12:
            self.add_page()
        top = self.get_y()
        self.set_font(FONT, size=size)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN, top)
        self.multi_cell(w=LABEL_W - 2, h=size * 0.3528 * 1.5, text=printable(label), wrapmode=WrapMode.CHAR)
        below_label = self.get_y()
        self.set_xy(MARGIN + LABEL_W, top)
        self.set_text_color(*INK)
        self.multi_cell(w=WIDTH - LABEL_W, h=size * 0.3528 * 1.5, text=printable(value), wrapmode=WrapMode.CHAR,
                        new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), below_label) + 0.8)

    def rule(self) -> None:
        self.set_draw_color(*LINE)
        self.set_line_width(0.2)
        self.line(MARGIN, self.get_y() + 1, A4_W - MARGIN, self.get_y() + 1)
        self.ln(3)


def _figures(pdf: _Report, item: MotionRecord) -> None:
    result, rates = item.result, item.rates()
    total_area, total_heads = item.count("total")
    part_area, part_heads = item.count("participating")
    pdf.pair("名册总计", f"专有部分面积 {format_area(total_area)} 平方米，业主 {total_heads} 人")
    pdf.pair("参与表决面积", f"{format_area(part_area)} 平方米，占总面积 {rates['participating_area'].fraction}"
                          f"（{rates['participating_area'].percent}）")
    pdf.pair("参与表决人数", f"{part_heads} 人，占总人数 {rates['participating_heads'].fraction}"
                          f"（{rates['participating_heads'].percent}）")
    pdf.pair("法定参与比例", ("已达到" if result["quorum"] else "未达到") + "面积和人数均三分之二以上")
    if item.motion.kind == "motion":
        agree_area, agree_heads = item.count("agree")
        pdf.pair("同意面积", f"{format_area(agree_area)} 平方米，占参与表决面积 {rates['agree_area'].fraction}"
                         f"（{rates['agree_area'].percent}）")
        pdf.pair("同意人数", f"{agree_heads} 人，占参与表决人数 {rates['agree_heads'].fraction}"
                         f"（{rates['agree_heads'].percent}）")
        for name, label in (("oppose", "反对"), ("abstain", "弃权")):
            pdf.pair(label, f"{format_area(item.count(name)[0])} 平方米，{item.count(name)[1]} 人")
    else:
        pdf.pair("应选人数", str(item.motion.seats))
        for candidate in result["candidates"]:
            state = "当选" if candidate["elected"] else ("通过但未当选" if candidate["passed"] else "未通过")
            pdf.pair(f"候选人 {candidate['id']}", f"同意 {candidate['area']} 平方米、{candidate['heads']} 人：{state}")
        if result.get("tie"):
            pdf.pair("并列", "、".join(result["tie"]) + " 票数相同，跨越最后一个席位，须另行选举")
    pdf.pair("表决规则", item.threshold)
    pdf.pair("结果", item.verdict)
    pdf.pair("法律依据与理由", "\n".join(item.reasons))


def _check(pdf: _Report, item: MotionRecord) -> None:
    entries = item.entries
    pdf.pair("计票文件 SHA-256", item.motion.tally_sha256 or "—", size=8.5)
    lines = [f"{name} 第 {entries[name]} 条" for name in ("motion.closed", "result.announced", "result.recounted",
                                                           "result.final") if name in entries]
    pdf.pair("审计日志条目", "；".join(lines) or "—", size=8.5)


def _header(pdf: _Report, record: MeetingRecord, title: str) -> None:
    pdf.para(record.estate.name, size=10, color=MUTED, gap=0)
    pdf.para(title, size=18, color=INK, gap=0.5)
    pdf.para(record.meeting.title, size=13, gap=2)
    pdf.rule()


def results_pdf(record: MeetingRecord) -> bytes:
    """Per motion: both rates against their thresholds, quorum, the verdict with its legal reasons,
    and the tally file's SHA-256 with the log entries that anyone can check it against."""
    meeting = record.meeting
    pdf = _Report(f"表决结果 · {meeting.title}", f"{record.estate.name} · {meeting.title} · 表决结果")
    _header(pdf, record, "业主大会会议表决结果")
    pdf.pair("投票时间", f"{_when(meeting.opens_at)} 至 {_when(meeting.closes_at)}")
    pdf.pair("结果公告", _when(meeting.announced_at))
    pdf.pair("当前状态", record.stage_label + (f"（{_when(meeting.final_at)}）。{meetings.STILL_CHALLENGEABLE}" if meeting.final_at else
                                            f"（异议期至 {_when(record.objection_ends)}）"))
    for item in record.motions:
        pdf.heading(f"{item.motion.position}. {item.motion.title}")
        pdf.para(item_label(item.motion), size=9.5, color=MUTED)
        _figures(pdf, item)
        _check(pdf, item)
        pdf.rule()
    pdf.para("核对方法：从审计日志导出中取得 tally/<议题>.json，其 SHA-256 应与上列一致；用 `assembly tally 文件` "
             "重新计票，结果应与 result.announced（或 result.final）条目一致。", size=8.5, color=MUTED)
    pdf.para(f"生成时间：{_when(record.generated_at)}", size=8.5, color=MUTED)
    return bytes(pdf.output())


def minutes_pdf(record: MeetingRecord) -> bytes:
    """会议记录及决议: the meeting's dates and rules, each motion and its decision, the objections and
    how they were decided, and the state the decisions are in."""
    meeting = record.meeting
    pdf = _Report(f"会议记录及决议 · {meeting.title}", f"{record.estate.name} · {meeting.title} · 会议记录及决议")
    _header(pdf, record, "业主大会会议记录及决议")
    pdf.heading("一、会议经过")
    for label, moment in (("会议起草", meeting.created_at), ("会议通知发布", meeting.published_at),
                          ("告知社区居委会", meeting.rc_notified_at), ("投票开始", meeting.opens_at),
                          ("投票截止", meeting.closes_at), ("开票计票", meeting.closed_at),
                          ("结果公告", meeting.announced_at), ("异议期届满", record.objection_ends),
                          ("异议期结束", meeting.final_at)):
        pdf.pair(label, _when(moment))
    pdf.heading("二、议事规则")
    pdf.pair("重新投票", casting.REVOTE_RULES[meeting.revote])
    pdf.pair("异议期", f"{meeting.objection_days} 日")
    pdf.pair("纸质选票录入期", f"投票截止后 {meeting.paper_grace_days} 日内" if meeting.paper_grace_days
             else "不设（不收纸质选票）")
    pdf.pair("每户表决情况", "向本小区业主公告房号、面积和表决意见（不含姓名）" if meeting.publish_per_unit_results
             else "不向业主公开（个人信息保护法第十三条、第二十五条；业主大会议事规则未规定公开）")
    pdf.heading("三、议题及决议")
    for item in record.motions:
        total_area, total_heads = item.count("total")
        rates = item.rates()
        pdf.para(f"{item.motion.position}. {item.motion.title}（{item_label(item.motion)}）", size=11)
        summary = (f"参与表决面积 {rates['participating_area'].fraction}（{rates['participating_area'].percent}），"
                   f"人数 {rates['participating_heads'].fraction}（{rates['participating_heads'].percent}）")
        if item.motion.kind == "motion":
            summary += (f"；同意面积 {rates['agree_area'].fraction}（{rates['agree_area'].percent}），"
                        f"人数 {rates['agree_heads'].fraction}（{rates['agree_heads'].percent}）")
        pdf.pair("表决情况", summary)
        pdf.pair("决议", item.verdict + "。" + (item.reasons[-1] if item.reasons else ""))
        _check(pdf, item)
    pdf.heading("四、异议及处理")
    any_objection = False
    for item in record.motions:
        for number, objection in enumerate(item.objections, 1):
            any_objection = True
            decision = {"upheld": "异议成立，该票作废并重新计票", "dismissed": "异议不成立"}.get(
                objection.decision or "", "尚未处理")
            decided = f"（{_when(objection.decided_at)}）" if objection.decided_at else ""
            pdf.pair(f"{item.motion.position}. 异议 {number}",
                     f"{_when(objection.filed_at)} 提出（审计日志第 {objection.entry_index} 条）：{decision}{decided}")
    if not any_objection:
        pdf.para("异议期内未收到异议。" if meeting.final_at else "目前未收到异议。", size=10)
    pdf.heading("五、决议状态")
    state = f"{record.stage_label}。"
    if meeting.final_at:
        state += f"异议期于 {_when(meeting.final_at)} 结束，异议均已处理。{meetings.STILL_CHALLENGEABLE}"
    else:
        state += f"异议期至 {_when(record.objection_ends)}，期满且异议处理完毕后异议期结束。"
    pdf.para(state)
    pdf.para(f"本记录由业主共同决策平台依据审计日志生成：{_when(record.generated_at)}。", size=8.5, color=MUTED)
    return bytes(pdf.output())
