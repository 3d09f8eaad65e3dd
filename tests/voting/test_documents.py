"""Results and minutes as PDF and CSV: only after the announcement, exact figures and fractions, the
legal reason, the tally file's SHA-256 and the log entries to check it against; per-unit lines for
the estate's owners only and never with names."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from assembly.audit.models import AuditEntry
from assembly.db import unit_of_work
from assembly.voting.models import Motion

from .meeting_world import estate_rules_publish_units
from .web_world import make_voting_web


@pytest.fixture
def site(engine_copy):
    return make_voting_web(engine_copy)


def _text(document: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(document))


def _flat(text: str) -> str:
    return "".join(text.split())  # lines wrap anywhere in Chinese text


def _announced(site, *, title="2026年第一次业主大会", motion_title="续聘物业服务企业",
               candidates=("c1", "c2"), publish_units: bool = False) -> tuple[int, int]:
    chair = site.staff("chair")
    closes = (site.clock.now + timedelta(days=30)).isoformat()
    created = chair.post("/api/estates/alpha/meetings", json={
        "title": title, "closes_at": closes, "paper_grace_days": 0, "publish_per_unit_results": publish_units,
        "motions": [{"item": 4, "title": motion_title, "text": "续聘三年。"},
                    {"item": 3, "title": "增补委员", "text": "选一名。", "kind": "election", "seats": 1,
                     "candidates": list(candidates)}]})
    assert created.status_code == 201, created.text
    meeting = created.json()["id"]
    motion, election = (m["id"] for m in created.json()["motions"])
    chair.post(f"/api/estates/alpha/meetings/{meeting}/publish")
    site.post_notice(chair, meeting)
    assert chair.get(f"/estate/alpha/meetings/{meeting}/results.pdf").status_code == 409
    site.clock.pass_notice_period()
    assert site.staff("chair").post(f"/api/estates/alpha/meetings/{meeting}/open").status_code == 200
    for who in ("single", "wife", "landlord", "extra0", "extra1"):
        voter = site.owner(who)
        member = voter.get(f"/api/estates/alpha/meetings/{meeting}/mine").json()["members"][0]["member"]
        for target, body in ((motion, {"choice": "oppose" if who == "wife" else "agree"}),
                             (election, {"choices": [candidates[0]] if who != "extra1" else []})):
            response = voter.post(f"/api/estates/alpha/meetings/{meeting}/motions/{target}/ballots",
                                  json={"member": member, "idempotency_key": f"{who}-{target}", **body})
            assert response.status_code == 201, response.text
    early = site.staff("observer").get(f"/estate/alpha/meetings/{meeting}/results.csv")
    assert early.status_code == 409 and "公告后" in early.text
    site.past_close(meeting)  # past closes_at: the job runner closes, counts and announces
    return meeting, motion


def _entries(site, motion: int) -> dict[str, int]:
    with unit_of_work(site.engine) as session:
        public = session.get(Motion, motion).public_id
        rows = session.execute(select(AuditEntry.idx, AuditEntry.type, AuditEntry.body)).all()
    return {kind: index for index, kind, body in rows if json.loads(bytes(body)).get("motion") == public}


def test_results_pdf_has_both_rates_the_reason_and_what_to_check(site):
    meeting, motion = _announced(site)
    response = site.staff("observer").get(f"/estate/alpha/meetings/{meeting}/results.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'attachment; filename="alpha-meeting-{meeting}-results.pdf"'
    text = _flat(_text(response.content))
    assert "业主大会会议表决结果" in text and "续聘物业服务企业" in text and "获得通过" in text
    assert "431.25/556.25" in text and "5/7" in text  # participating against the roll, exactly
    assert "311/431.25" in text and "4/5" in text  # agreeing against the participants, exactly
    assert "民法典第二百七十八条第二款" in text and "须过半数同意" in text
    with unit_of_work(site.engine) as session:
        digest = session.get(Motion, motion).tally_sha256
    assert digest in text
    assert f"result.announced第{_entries(site, motion)['result.announced']}条" in text
    assert "当选：c1" in text and "候选人c1" in text
    page = pdfium.PdfDocument(response.content)[0]
    assert (round(page.get_width()), round(page.get_height())) == (595, 842)  # A4 in points


def test_minutes_record_the_dates_motions_objections_and_the_final_state(site):
    meeting, motion = _announced(site)
    owner = site.owner("single")
    minutes = _flat(_text(owner.get(f"/estate/alpha/meetings/{meeting}/minutes.pdf").content))
    assert "业主大会会议记录及决议" in minutes and "会议通知发布" in minutes and "告知社区居委会" in minutes
    assert "目前未收到异议" in minutes and "结果已公告" in minutes
    member = owner.get(f"/api/estates/alpha/meetings/{meeting}/mine").json()["members"][0]["member"]
    filed = owner.post(f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/objections", json={"member": member})
    assert filed.status_code == 201, filed.text
    chair = site.staff("chair")
    decided = chair.post(f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/objections/{filed.json()['id']}"
                         "/decision", json={"decision": "upheld"})
    assert decided.status_code == 200
    site.clock.advance(days=8)
    final = _flat(_text(site.staff("chair").get(f"/estate/alpha/meetings/{meeting}/minutes.pdf").content))
    assert "异议成立，该票作废并重新计票" in final and "异议期已结束" in final and "结束，异议均已处理" in final
    assert f"审计日志第{filed.json()['entry']}条" in final
    assert f"result.final第{_entries(site, motion)['result.final']}条" in final


def test_totals_csv_is_exact_and_the_unit_lines_are_for_owners_only(site, monkeypatch):
    estate_rules_publish_units(monkeypatch)
    meeting, _motion = _announced(site, publish_units=True)
    rc = site.staff("rc-staff")
    response = rc.get(f"/estate/alpha/meetings/{meeting}/results.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    motion_row = rows[0]
    assert motion_row["参与表决面积"] == "431.25" and motion_row["参与面积比例"] == "431.25/556.25"
    assert motion_row["同意面积比例"] == "311/431.25" and motion_row["同意人数比例"] == "4/5"
    assert motion_row["结果"] == "获得通过" and motion_row["达到法定参与比例"] == "是"
    assert len(motion_row["计票文件SHA-256"]) == 64 and motion_row["公告条目"].isdigit()
    assert [(r["候选人"], r["结果"]) for r in rows[1:]] == [("c1", "当选"), ("c2", "未通过")]
    assert rc.get(f"/estate/alpha/meetings/{meeting}/units.csv").status_code == 403
    owner = site.owner("wife")
    units = owner.get(f"/estate/alpha/meetings/{meeting}/units.csv")
    assert units.status_code == 200
    lines = units.text.removeprefix("\ufeff").splitlines()
    assert lines[0] == "议题序号,议题,房号,面积,表决意见"
    assert "1,续聘物业服务企业,1-1-102,120.25,反对" in lines and "1,续聘物业服务企业,2-1-103,50,未参加表决" in lines
    assert "李秀英" not in units.text and "王小明" not in units.text  # never names
    assert "2,增补委员,1-1-101,89.5,选：c1" in lines


def test_no_documents_of_a_draft_or_for_another_estate(site):
    chair = site.staff("chair")
    closes = (site.clock.now + timedelta(days=30)).isoformat()
    meeting = chair.post("/api/estates/alpha/meetings", json={
        "title": "草稿", "closes_at": closes, "motions": [{"item": 4, "title": "议题", "text": "内容"}]}).json()["id"]
    owner = site.owner("single")
    assert owner.get(f"/estate/alpha/meetings/{meeting}/results.pdf").status_code == 404
    assert chair.get(f"/estate/alpha/meetings/{meeting}/results.csv").status_code == 404
    chair.post(f"/api/estates/alpha/meetings/{meeting}/publish")
    refused = chair.get(f"/estate/alpha/meetings/{meeting}/minutes.pdf", headers={"Accept": "application/json"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_announced"
    assert chair.get(f"/estate/other/meetings/{meeting}/results.pdf").status_code == 404  # no such estate


def test_titles_and_names_never_reach_a_spreadsheet_as_formulas(site, monkeypatch):
    """Issue #22: meeting titles, motion titles and candidate names were written unescaped into
    results.csv and units.csv, so a title drafted as a formula ran in every reader's spreadsheet."""
    title, motion_title = '=HYPERLINK("http://evil.example","点此查看")', "+cmd|' /C calc'!A0"
    estate_rules_publish_units(monkeypatch)
    meeting, _motion = _announced(site, title=title, motion_title=motion_title, candidates=("@SUM(A1:A9)", "-2+3"),
                                  publish_units=True)
    totals = site.staff("observer").get(f"/estate/alpha/meetings/{meeting}/results.csv")
    rows = list(csv.DictReader(io.StringIO(totals.text.removeprefix("\ufeff"))))
    assert {row["会议"] for row in rows} == {"'" + title}
    assert rows[0]["议题"] == "'" + motion_title
    assert [row["候选人"] for row in rows[1:]] == ["'@SUM(A1:A9)", "'-2+3"]
    units = site.owner("wife").get(f"/estate/alpha/meetings/{meeting}/units.csv")
    cells = [cell for row in csv.reader(io.StringIO(units.text.removeprefix("\ufeff"))) for cell in row]
    assert "'" + motion_title in cells and "选：@SUM(A1:A9)" in cells
    for text in (totals.text, units.text):
        for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"))):
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_after_the_objection_period_nothing_says_final_issue_24(site):
    """Regression (issue #24, 6): once the objection period ended, pages, PDFs, the CSV's header and
    the residents' committee's notice said the result was "final" (最终, 已确定); it is not: the
    street office may still order it corrected or revoke it (北京市物业管理条例第八条、第五十一条)
    and owners may sue within a year (法释〔2009〕7号第十二条). Only the words change: the log keeps
    `result.final` and the API its `final` state."""
    meeting, motion = _announced(site)
    site.clock.advance(days=8)  # the objection period has run
    owner, rc = site.owner("single"), site.staff("rc-staff")
    facts = ("第八条、第五十一条", "一年内请求人民法院撤销", "法释〔2009〕7号第十二条")
    shown = {
        "meeting page": owner.get(f"/estate/alpha/meetings/{meeting}").text,
        "motion page": owner.get(f"/estate/alpha/meetings/{meeting}/motions/{motion}").text,
        "results.pdf": _flat(_text(owner.get(f"/estate/alpha/meetings/{meeting}/results.pdf").content)),
        "minutes.pdf": _flat(_text(owner.get(f"/estate/alpha/meetings/{meeting}/minutes.pdf").content)),
        "notifications": rc.get("/estate/alpha/notifications").text,
    }
    for name, text in shown.items():
        assert "异议期已结束" in text or "异议期于" in text, name
        assert all(fact in text for fact in facts), name
        assert "最终" not in text and "结果已确定" not in text and "决议确定" not in text, name
    header = owner.get(f"/estate/alpha/meetings/{meeting}/results.csv").text.removeprefix("\ufeff").splitlines()[0]
    assert "异议期结束条目" in header and "最终" not in header
    assert owner.get(f"/api/estates/alpha/meetings/{meeting}").json()["state"] == "final"  # identifiers stay
    assert "result.final" in _entries(site, motion)
