"""Motion attachments 议题附件: PDF, JPEG or PNG files added to a draft's motions, checked by their
first bytes (never the browser's word), size-limited, stored with their SHA-256 and logged as
`attachment.added`; publishing the notice freezes them. Keyword-only, `now` passed in, never commits.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import func, select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.errors import Conflict, InvalidInput, NotFound
from assembly.permissions import Principal
from assembly.voting import meetings
from assembly.voting.attachment_models import MotionAttachment
from assembly.voting.models import Meeting, Motion

MAX_BYTES = 5 * 1024 * 1024  # one file: a scanned contract of a few pages fits, a phone photo too
MAX_PER_MOTION = 10
# The type is what the file's first bytes say it is; extensions and the client's Content-Type are ignored.
MAGIC = (
    (b"%PDF-", "application/pdf", "pdf", "PDF 文件"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png", "PNG 图片"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg", "JPEG 图片"),
)
TYPE_LABELS = {media_type: label for _magic, media_type, _ext, label in MAGIC}
EXTENSIONS = {media_type: ext for _magic, media_type, ext, _label in MAGIC}
ACCEPT = ",".join(media_type for _magic, media_type, _ext, _label in MAGIC) + ",.pdf,.jpg,.jpeg,.png"


@dataclass(frozen=True)
class Upload:
    """A file that passed the checks, not yet stored."""

    filename: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def clean_filename(raw: str, media_type: str) -> str:
    """The uploaded name without directories or control characters, at most 120 characters;
    `attachment.<ext>` when nothing is left."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(char for char in unicodedata.normalize("NFC", name)
                   if unicodedata.category(char)[0] != "C").strip().strip(".")
    if not name:
        name = f"attachment.{EXTENSIONS[media_type]}"
    return name[-120:]


def media_type_of(content: bytes) -> str | None:
    for magic, media_type, _ext, _label in MAGIC:
        if content.startswith(magic):
            return media_type
    return None


def check_upload(*, filename: str, content: bytes) -> Upload:
    """The file as an Upload, or InvalidInput saying in Chinese what is wrong with it."""
    shown = clean_filename(filename, "application/pdf")
    if not content:
        raise InvalidInput(f"文件“{shown}”是空的，请重新选择 / the file is empty", code="attachment_empty")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"文件“{shown}”超过 {MAX_BYTES // (1024 * 1024)} MB，请压缩或分成几份后再上传 / "
                           f"the file exceeds {MAX_BYTES} bytes", code="attachment_too_large")
    media_type = media_type_of(content)
    if media_type is None:
        raise InvalidInput(f"文件“{shown}”不是 PDF、JPEG 或 PNG 文件（按文件内容判断，与扩展名无关） / "
                           "only PDF, JPEG and PNG files (checked by content)", code="attachment_type")
    return Upload(clean_filename(filename, media_type), media_type, content)


def read_upload(part) -> Upload | None:
    """An UploadFile of a parsed form (spooled by Starlette), read at most one byte past the limit and
    checked — blocking file work, so only in a plain `def` route; None when no file was chosen."""
    if isinstance(part, str) or part is None:
        return None
    content = part.file.read(MAX_BYTES + 1)
    if not part.filename and not content:
        return None
    return check_upload(filename=part.filename or "", content=content)


# --- the service ------------------------------------------------------------------------------


def _frozen() -> Conflict:
    return Conflict("会议通知已发布，议题附件已固定，不能再增删 / attachments are frozen once the notice is published",
                    code="attachments_frozen")


def add(session: Session, *, meeting: Meeting, motion: Motion, principal: Principal, upload: Upload,
        now: datetime) -> MotionAttachment:
    """Store a checked file on a draft's motion and log its SHA-256 as attachment.added."""
    meeting = meetings.lock(session, meeting)  # publishing takes the same lock: no file slips in after it
    if meeting.published_at is not None:
        raise _frozen()
    held, last = session.execute(select(func.count(col(MotionAttachment.id)), func.max(col(MotionAttachment.position)))
                                 .where(col(MotionAttachment.motion_id) == motion.id)).one()
    if held >= MAX_PER_MOTION:
        raise InvalidInput(f"每个议题最多 {MAX_PER_MOTION} 个附件 / at most {MAX_PER_MOTION} attachments per motion",
                           code="attachment_limit")
    actor = meetings.actor_of(principal)
    assert motion.id is not None
    attachment = MotionAttachment(motion_id=motion.id, estate_id=meeting.estate_id, position=(last or 0) + 1,
                                  filename=upload.filename, media_type=upload.media_type, size=len(upload.content),
                                  sha256=upload.sha256, content=upload.content, added_at=now, added_by=actor.id,
                                  entry_index=-1)
    session.add(attachment)
    session.flush()
    attachment.entry_index = audit_log.append(
        session, estate_id=meeting.estate_id, type="attachment.added", actor=actor, at=now,
        meeting=meetings.meeting_id(meeting), motion=motion.public_id, attachment=attachment.public_id,
        sha256=attachment.sha256, size=attachment.size, media_type=attachment.media_type)
    session.flush()
    return attachment


def remove(session: Session, *, meeting: Meeting, motion: Motion, attachment_id: int, principal: Principal,
           now: datetime) -> None:
    """Take a file off a draft's motion (logged as attachment.removed); refused once published."""
    meeting = meetings.lock(session, meeting)
    if meeting.published_at is not None:
        raise _frozen()
    attachment = get(session, motion=motion, attachment_id=attachment_id)
    audit_log.append(session, estate_id=meeting.estate_id, type="attachment.removed",
                     actor=meetings.actor_of(principal), at=now, meeting=meetings.meeting_id(meeting),
                     motion=motion.public_id, attachment=attachment.public_id, sha256=attachment.sha256)
    session.delete(attachment)
    session.flush()


def form_uploads(form, *, slots: int) -> dict[int, list[Upload]]:
    """The files chosen in the drafting form (`m<slot>_files`), checked before anything is written,
    by the position the slot's motion will have (slots without a title are skipped, as the motions are)."""
    uploads: dict[int, list[Upload]] = {}
    position = 0
    for slot in range(1, slots + 1):
        titled = bool(str(form.get(f"m{slot}_title") or "").strip())
        position += titled
        files = [upload for part in form.getlist(f"m{slot}_files") if (upload := read_upload(part))]
        if files and not titled:
            raise InvalidInput(f"议题 {slot} 没有标题，不能添加附件 / attachments for a motion without a title",
                               code="attachment_without_motion")
        if len(files) > MAX_PER_MOTION:
            raise InvalidInput(f"每个议题最多 {MAX_PER_MOTION} 个附件 / at most {MAX_PER_MOTION} attachments per "
                               "motion", code="attachment_limit")
        if files:
            uploads[position] = files
    return uploads


def attach_all(session: Session, *, meeting: Meeting, principal: Principal, uploads: dict[int, list[Upload]],
               now: datetime) -> None:
    """Files checked by form_uploads, added to the new draft's motions in order."""
    by_position = {m.position: m for m in meetings.motions_of(session, meeting=meeting)}
    for position, files in sorted(uploads.items()):
        for upload in files:
            add(session, meeting=meeting, motion=by_position[position], principal=principal, upload=upload, now=now)


def get(session: Session, *, motion: Motion, attachment_id: int) -> MotionAttachment:
    found = session.scalars(select(MotionAttachment).where(col(MotionAttachment.id) == attachment_id,
                                                           col(MotionAttachment.motion_id) == motion.id)).first()
    if found is None:
        raise NotFound("这个议题没有这个附件 / no such attachment", code="attachment_not_found")
    return found


@dataclass(frozen=True)
class Listed:
    """What a page shows of an attachment (the bytes stay in the database)."""

    id: int
    motion_id: int
    position: int
    filename: str
    media_type: str
    size: int
    sha256: str
    entry_index: int

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.media_type]


def listed(session: Session, *, motion_ids: Iterable[int]) -> dict[int, list[Listed]]:
    """The attachments of these motions, by motion id, in order (without their bytes)."""
    ids = list(motion_ids)
    found: dict[int, list[Listed]] = {motion_id: [] for motion_id in ids}
    if not ids:
        return found
    rows = session.execute(
        select(col(MotionAttachment.id), col(MotionAttachment.motion_id), col(MotionAttachment.position),
               col(MotionAttachment.filename), col(MotionAttachment.media_type), col(MotionAttachment.size),
               col(MotionAttachment.sha256), col(MotionAttachment.entry_index))
        .where(col(MotionAttachment.motion_id).in_(ids))
        .order_by(col(MotionAttachment.motion_id), col(MotionAttachment.position)))
    for row in rows:
        found[row.motion_id].append(Listed(*row))
    return found


def listed_json(item: Listed, *, url: str) -> dict:
    return {"id": item.id, "position": item.position, "filename": item.filename, "media_type": item.media_type,
            "size": item.size, "sha256": item.sha256, "entry": item.entry_index, "url": url}


def download_headers(attachment: MotionAttachment) -> dict[str, str]:
    """Images open in the browser; a PDF is saved (a PDF viewer is a program, not a picture).
    The type is the one the bytes proved; nosniff keeps the browser from guessing another."""
    fallback = f"attachment-{attachment.id}.{EXTENSIONS[attachment.media_type]}"
    disposition = "attachment" if attachment.media_type == "application/pdf" else "inline"
    return {
        "Content-Disposition": f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "private, no-store",
    }
