"""Motion attachments: the type is what the bytes say, sizes and counts are limited, each file's
SHA-256 is logged, publishing freezes them, downloads are safe and stay inside their estate."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from assembly.audit.models import AuditEntry
from assembly.db import unit_of_work
from assembly.errors import Conflict, InvalidInput
from assembly.voting import attachments, meetings
from assembly.voting.attachment_models import MotionAttachment
from assembly.voting.models import Meeting

from .meeting_world import build_estate, draft_meeting, start_time
from .web_world import make_voting_web

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
HTML = b"<html><script>alert(1)</script></html>"


@pytest.mark.parametrize(("name", "content", "media_type"), [
    ("合同.pdf", PDF, "application/pdf"), ("photo.png", PNG, "image/png"), ("scan.jpg", JPEG, "image/jpeg"),
    ("looks-like.png", PDF, "application/pdf"),  # the bytes decide, not the name
])
def test_the_bytes_decide_the_type(name, content, media_type):
    upload = attachments.check_upload(filename=name, content=content)
    assert upload.media_type == media_type and upload.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(("name", "content", "code"), [
    ("page.pdf", HTML, "attachment_type"),  # HTML dressed as a PDF
    ("empty.pdf", b"", "attachment_empty"),
    ("huge.pdf", b"%PDF-" + b"0" * attachments.MAX_BYTES, "attachment_too_large"),
    ("gif.png", b"GIF89a" + b"\x00" * 20, "attachment_type"),
])
def test_bad_files_are_refused_with_a_reason(name, content, code):
    with pytest.raises(InvalidInput) as refused:
        attachments.check_upload(filename=name, content=content)
    assert refused.value.code == code and name in refused.value.message


def test_file_names_lose_directories_and_control_characters():
    assert attachments.clean_filename("../../etc/业主\x00公约.pdf", "application/pdf") == "业主公约.pdf"
    assert attachments.clean_filename("C:\\docs\\a.png", "image/png") == "a.png"
    assert attachments.clean_filename("\x07", "image/png") == "attachment.png"
    assert len(attachments.clean_filename("x" * 500 + ".pdf", "application/pdf")) == 120


def _entry(session, estate_id: int, index: int) -> dict:
    body = session.scalar(select(AuditEntry.body).where(AuditEntry.estate_id == estate_id, AuditEntry.idx == index))
    return json.loads(bytes(body))


def test_added_files_are_logged_with_their_hash_and_frozen_by_publishing(session):
    now = start_time()
    world = build_estate(session)
    meeting = draft_meeting(session, world, now=now)
    (motion,) = meetings.motions_of(session, meeting=meeting)
    upload = attachments.check_upload(filename="物业合同.pdf", content=PDF)
    stored = attachments.add(session, meeting=meeting, motion=motion, principal=world.chair, upload=upload, now=now)
    entry = _entry(session, world.estate.id, stored.entry_index)
    assert entry["type"] == "attachment.added" and entry["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert entry["motion"] == motion.public_id and entry["attachment"] == stored.public_id
    assert "物业合同" not in json.dumps(entry, ensure_ascii=False)  # typed names never reach the log

    second = attachments.add(session, meeting=meeting, motion=motion, principal=world.chair,
                             upload=attachments.check_upload(filename="图.png", content=PNG), now=now)
    attachments.remove(session, meeting=meeting, motion=motion, attachment_id=second.id, principal=world.chair,
                       now=now)
    removed = session.scalar(select(AuditEntry.body).where(AuditEntry.estate_id == world.estate.id,
                                                           AuditEntry.type == "attachment.removed"))
    assert json.loads(bytes(removed))["sha256"] == hashlib.sha256(PNG).hexdigest()

    meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
    with pytest.raises(Conflict) as frozen:
        attachments.add(session, meeting=meeting, motion=motion, principal=world.chair, upload=upload, now=now)
    assert frozen.value.code == "attachments_frozen" and "已发布" in frozen.value.message
    with pytest.raises(Conflict):
        attachments.remove(session, meeting=meeting, motion=motion, attachment_id=stored.id, principal=world.chair,
                           now=now)
    assert [a.sha256 for a in attachments.listed(session, motion_ids=[motion.id])[motion.id]] == [stored.sha256]


def test_at_most_ten_files_per_motion(session):
    now = start_time()
    world = build_estate(session)
    meeting = draft_meeting(session, world, now=now)
    (motion,) = meetings.motions_of(session, meeting=meeting)
    for number in range(attachments.MAX_PER_MOTION):
        attachments.add(session, meeting=meeting, motion=motion, principal=world.chair, now=now,
                        upload=attachments.check_upload(filename=f"{number}.png", content=PNG + bytes([number])))
    with pytest.raises(InvalidInput) as refused:
        attachments.add(session, meeting=meeting, motion=motion, principal=world.chair, now=now,
                        upload=attachments.check_upload(filename="11.png", content=PNG))
    assert refused.value.code == "attachment_limit"


# --- over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def site(engine_copy):
    return make_voting_web(engine_copy)


def _count(site) -> tuple[int, int]:
    with unit_of_work(site.engine) as session:
        return (session.scalar(select(func.count(Meeting.id))), session.scalar(select(func.count(MotionAttachment.id))))


def _form(site, **extra) -> dict:
    closes = (site.clock.now + timedelta(days=30)).astimezone(meetings.SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    return {"title": "2026年第一次业主大会", "closes_at": closes, "revote": "last", "objection_days": "7",
            "m1_item": "4", "m1_title": "续聘物业服务企业", "m1_text": "续聘三年。", "m1_kind": "motion", **extra}


def test_drafting_form_takes_files_and_a_bad_one_changes_nothing(site):
    chair = site.staff("chair")
    refused = chair.post("/estate/alpha/meetings", data=_form(site), files=[
        ("m1_files", ("合同.pdf", PDF, "application/pdf")), ("m1_files", ("假的.pdf", HTML, "application/pdf"))])
    assert refused.status_code == 422 and "不是 PDF、JPEG 或 PNG 文件" in refused.text and "假的.pdf" in refused.text
    assert "请重新选择" in refused.text  # the browser keeps no chosen file: say so
    assert _count(site) == (0, 0)  # neither the meeting nor the good file was kept
    created = chair.post("/estate/alpha/meetings", data=_form(site), files=[
        ("m1_files", ("合同.pdf", PDF, "application/pdf")), ("m1_files", ("平面图.png", PNG, "image/png"))])
    assert created.status_code == 303, created.text
    assert _count(site) == (1, 2)
    page = chair.get(created.headers["location"])
    assert "合同.pdf" in page.text and hashlib.sha256(PNG).hexdigest() in page.text


def test_upload_on_the_draft_page_and_the_api_then_frozen(site):
    chair = site.staff("chair")
    created = chair.post("/estate/alpha/meetings", data=_form(site), files=[("m1_files", ("", b"", "application/octet-stream"))])
    assert created.status_code == 303, created.text  # an empty file field is no file
    base = created.headers["location"]
    meeting = int(base.rsplit("/", 1)[1])
    motion = chair.get(f"/api/estates/alpha/meetings/{meeting}").json()["motions"][0]["id"]
    upload = f"{base}/motions/{motion}/attachments"

    bad = chair.post(upload, files={"file": ("x.pdf", HTML, "application/pdf")})
    assert bad.status_code == 422 and "不是 PDF" in bad.text and 'role="alert"' in bad.text
    missing = chair.post(upload, data={"nothing": "1"})
    assert missing.status_code == 422 and "请选择要上传的文件" in missing.text
    good = chair.post(upload, files={"file": ("公约.pdf", PDF, "text/html")})  # the client's type is ignored
    assert good.status_code == 303 and "done=attached" in good.headers["location"]

    api = f"/api/estates/alpha/meetings/{meeting}/motions/{motion}/attachments"
    made = chair.post(api, files={"file": ("图.jpg", JPEG, "image/jpeg")})
    assert made.status_code == 201 and made.json()["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert made.json()["media_type"] == "image/jpeg" and isinstance(made.json()["entry"], int)
    wrong = chair.post(api, files={"file": ("a.png", HTML, "image/png")})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "attachment_type"
    listed = chair.get(api).json()
    assert listed["frozen"] is False and [a["filename"] for a in listed["attachments"]] == ["公约.pdf", "图.jpg"]

    owner = site.owner("single")
    file_url = listed["attachments"][0]["url"]
    assert owner.get(file_url).status_code == 404  # a draft's files are the committee's
    assert chair.post(f"{base}/publish").status_code == 303
    late = chair.post(api, files={"file": ("b.pdf", PDF, "application/pdf")})
    assert late.status_code == 409 and late.json()["error"]["code"] == "attachments_frozen"
    late_page = chair.post(upload, files={"file": ("b.pdf", PDF, "application/pdf")})
    assert late_page.status_code == 409 and "附件已固定" in late_page.text
    removed = chair.delete(f"{api}/{listed['attachments'][0]['id']}")
    assert removed.status_code == 409 and removed.json()["error"]["code"] == "attachments_frozen"
    assert chair.get(api).json()["frozen"] is True

    pdf = owner.get(file_url)
    assert pdf.status_code == 200 and pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert pdf.headers["x-content-type-options"] == "nosniff"
    image = owner.get(listed["attachments"][1]["url"])
    assert image.headers["content-type"] == "image/jpeg" and image.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in image.headers["content-security-policy"]
    assert "公约.pdf" in owner.get(f"{base}/motions/{motion}").text  # owners read them on the motion page


def test_attachments_stay_inside_their_estate(site):
    with unit_of_work(site.engine) as session:
        beta = build_estate(session, code="beta")
        meeting = draft_meeting(session, beta, now=site.clock.now)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        stored = attachments.add(session, meeting=meeting, motion=motion, principal=beta.chair, now=site.clock.now,
                                 upload=attachments.check_upload(filename="b.pdf", content=PDF))
        meetings.publish(session, meeting=meeting, estate=beta.estate, principal=beta.chair, now=site.clock.now)
        ids = (meeting.id, motion.id, stored.id)
    chair, owner = site.staff("chair"), site.owner("single")
    path = "/meetings/{}/motions/{}/attachments/{}".format(*ids)
    assert chair.get(f"/estate/alpha{path}").status_code == 404  # not a meeting of alpha
    assert chair.get(f"/estate/beta{path}").status_code == 403  # beta is outside the chair's estates
    assert owner.get(f"/estate/beta{path}").status_code == 403
    assert chair.post(f"/api/estates/beta/meetings/{ids[0]}/motions/{ids[1]}/attachments",
                      files={"file": ("x.pdf", PDF, "application/pdf")}).status_code == 403


def test_an_export_with_attachment_entries_verifies_offline(engine_copy, tmp_path):
    from assembly.audit import service as audit_service
    from assembly.audit.verify import verify_export
    from assembly.config import get_settings

    now = start_time()
    with unit_of_work(engine_copy) as session:
        world = build_estate(session)
        meeting = draft_meeting(session, world, now=now)
        (motion,) = meetings.motions_of(session, meeting=meeting)
        for name, content in (("a.pdf", PDF), ("b.png", PNG)):
            attachments.add(session, meeting=meeting, motion=motion, principal=world.chair, now=now,
                            upload=attachments.check_upload(filename=name, content=content))
        removed = attachments.listed(session, motion_ids=[motion.id])[motion.id][1].id
        attachments.remove(session, meeting=meeting, motion=motion, attachment_id=removed, principal=world.chair,
                           now=now)
        meetings.publish(session, meeting=meeting, estate=world.estate, principal=world.chair, now=now)
        out = tmp_path / "export"
        audit_service.export(session, settings=get_settings(), estate=world.estate, out=out)
    report = verify_export(out)
    assert report.ok, report.render_text("en")
    types = [json.loads(line)["type"] for line in (out / "entries.jsonl").read_text().splitlines()]
    assert [t for t in types if t.startswith(("attachment.", "meeting.published"))] == [
        "attachment.added", "attachment.added", "attachment.removed", "meeting.published"]
