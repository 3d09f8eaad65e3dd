"""Meetings 业主大会会议: draft with motions, publish the notice (and notify the residents' committee),
the 15-day notice check, open voting on a frozen roll. Keyword-only, `now` passed in, never commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from assembly.audit import store as audit_log
from assembly.audit.entries import format_time
from assembly.errors import Conflict, InvalidInput, NotFound
from assembly.events import bus as events
from assembly.events.catalog import MeetingPublished, VotingOpened
from assembly.law import notice
from assembly.law.ballots import REVOTES
from assembly.law.rules import ITEM_NAMES, ITEMS, QUORUM, UNIT_PUBLICATION_BASIS, Count, per_unit_publication_allowed
from assembly.localtime import stamp
from assembly.permissions import Principal
from assembly.plaintext import check_visible
from assembly.register import rolls
from assembly.register.models import Estate, RegisterVersion, RollMember, RollMemberUnit, RollSnapshot, Unit
from assembly.voting.models import Ballot, Meeting, Motion
from assembly.voting.posting_models import NoticePosting

SHANGHAI = notice.LOCAL
NOTICE_DAYS = notice.NOTICE_DAYS
NOTICE_BASIS = notice.BASIS

DRAFT, NOTICE, OPEN, CLOSING, PAPER, HELD, ANNOUNCED, FINAL = ("draft", "notice", "open", "closing", "paper", "held",
                                                                "announced", "final")
STATE_LABELS = {DRAFT: "草稿", NOTICE: "公告期", OPEN: "投票中", CLOSING: "投票已结束，正在计票",
                PAPER: "投票已截止，纸质选票录入中", HELD: "纸质选票待复核，结果暂缓公告",
                ANNOUNCED: "结果已公告（异议期）", FINAL: "异议期已结束"}
# The residents' committee's credit catalog counts "results not announced within 3 days of close"
# (rules.md); the count runs by itself when the paper phase ends, so a grace of at most 3 days
# keeps every announcement inside those 3 days (docs/decisions.md, "Paper ballots").
MAX_PAPER_GRACE_DAYS = 3


# After the objection period a decision is not beyond challenge (rules.md; docs/decisions.md, "Not final"):
# what every page, document and notice says beside "异议期已结束" (the state FINAL keeps its code name).
STILL_CHALLENGEABLE = ("街道办事处仍可以责令改正或者撤销本次决定（《北京市物业管理条例》第八条、第五十一条）；业"
                       "主可以自知道或者应当知道之日起一年内请求人民法院撤销（法释〔2009〕7号第十二条）。")
UNITS_NOT_PUBLISHED = "各户表决情况不向业主公开（个人信息保护法第十三条、第二十五条；业主大会议事规则未规定公开）"
UNITS_PUBLISHED = "各户表决情况（房号、面积和表决意见，不含姓名）向本小区业主公告"


def estate_rules_publish_units(estate: Estate) -> bool:
    """Whether the rules the estate's assembly adopted provide for publishing each unit's choice.
    The platform does not hold the estate's rules yet (the city-law-and-rules issue brings them):
    until then no estate's rules do, and per-unit lines are published to no owner."""
    return False


def unit_publication_statement(meeting: Meeting) -> str:
    """What the meeting page says about per-unit lines (zh; the catalogs translate it)."""
    return UNITS_PUBLISHED if meeting.publish_per_unit_results else UNITS_NOT_PUBLISHED


def check_unit_publication(estate: Estate, *, publish: bool) -> None:
    """Refuse a meeting that would publish per-unit lines without the estate's rules providing for it."""
    if publish and not per_unit_publication_allowed(estate_rules_provide=estate_rules_publish_units(estate)):
        raise InvalidInput(
            f"每户的表决意见属于个人信息，向全体业主公开须有法律依据或本人同意（{UNIT_PUBLICATION_BASIS}）；"
            "本小区业主大会通过的议事规则没有规定公开，业主委员会不能设置公告每户表决情况"
            " / each unit's choice is personal information: publishing it to all owners needs a legal basis or "
            "consent (Personal Information Protection Law Arts. 13, 25), and no rules adopted by this estate's "
            "assembly provide for it, so the committee cannot publish per-unit results",
            code="unit_results_not_allowed")


def actor_of(principal: Principal) -> audit_log.Actor:
    """The pseudonymous actor of a principal, as the log records it."""
    ident = principal.pseudonym or (f"account-{principal.account_id}" if principal.account_id else "anonymous")
    return audit_log.Actor(ident, str(principal.role.value if principal.role else "anonymous"))


def meeting_id(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}"


def state(meeting: Meeting, now: datetime) -> str:
    """The meeting's state, derived from its timestamps and the clock."""
    if meeting.published_at is None:
        return DRAFT
    if meeting.opens_at is None:
        return NOTICE
    if meeting.closed_at is None:
        return OPEN if now < meeting.closes_at else CLOSING
    if meeting.announced_at is None:  # closed electronically, paper ballots being entered
        if now < paper_ends(meeting):
            return PAPER
        return HELD if meeting.held_at is not None else CLOSING
    return ANNOUNCED if meeting.final_at is None else FINAL


def paper_ends(meeting: Meeting) -> datetime:
    """The end of the paper-entry phase: `paper_grace_days` after the planned close (0: none).
    Counted from `closes_at`, not from when the ticker got to it, so it never drifts."""
    return meeting.closes_at + timedelta(days=meeting.paper_grace_days)


def notice_period(notified: datetime) -> notice.NoticePeriod:
    """The notice period from a notice given at `notified` (assembly.law.notice, the one function
    every page, hint and refusal uses); a year the holiday calendar does not cover is refused."""
    try:
        return notice.notice_period(notified)
    except notice.CalendarNotCovered as error:
        raise Conflict(str(error), code="calendar_not_covered") from None


def earliest_open(notified: datetime) -> datetime:
    """The first moment voting may open after a notice given at `notified`: published on 1 March
    2026 → 17 March 00:00 Shanghai (民法典第二百零一条、第二百零三条)."""
    return notice_period(notified).earliest_open


def open_if_published(now: datetime) -> tuple[datetime | None, str | None]:
    """For the drafting and publishing forms' hint: when voting could open if the notice went out
    at `now` — or, when the holiday calendar cannot say, why not (the hint shows the refusal)."""
    try:
        return notice.notice_period(now).earliest_open, None
    except notice.CalendarNotCovered as error:
        return None, str(error)


def period_text(period: notice.NoticePeriod) -> str:
    """How the period runs, in a sentence: its last day, moved past rest days when it fell on one."""
    text = f"须满 {NOTICE_DAYS} 日（当日不计），至 {period.counted_last_day:%Y年%m月%d日} 届满"
    if period.extended:
        text += f"，该日为法定休假日，顺延至 {period.last_day:%Y年%m月%d日}"
    return text


def problems_before_open(session: Session, *, meeting: Meeting, now: datetime) -> list[str]:
    """Everything that keeps voting from opening now, each in a sentence that says until when."""
    problems = []
    if meeting.opens_at is not None:
        return ["投票已经开始。"]
    if not _motions(session, meeting):
        problems.append("会议还没有议题。")
    for moment, who in _notices(session, meeting):
        if moment is None:
            problems.append(f"尚未{who}。")
            continue
        try:
            period = notice.notice_period(moment)
        except notice.CalendarNotCovered as error:
            problems.append(str(error))
            continue
        if now < period.earliest_open:
            problems.append(f"{stamp(moment)} {who}，{period_text(period)}，"
                            f"最早 {stamp(period.earliest_open)} 方可开始投票（{NOTICE_BASIS}）。")
    if now >= meeting.closes_at:
        problems.append(f"计划的投票截止时间 {stamp(meeting.closes_at)} 已过，请另行召集会议。")
    estate = session.get_one(Estate, meeting.estate_id)
    if estate.ancillary_counted is None and rolls.ancillary_units(session, estate=estate):
        problems.append(ANCILLARY_UNDECIDED)
    return problems


ANCILLARY_UNDECIDED = ("业主名册中有单独登记的车位、储藏室，街道办事处尚未决定它们是否计入专有部分面积和业主人数"
                       "（最高人民法院法释〔2009〕7号第二条；各地法院做法不一），请先在小区页面记录决定及理由。")


POSTING = "在小区显著位置张贴会议通知（《北京市物业管理条例》第三十五条第四款）"


def _notices(session: Session, meeting: Meeting) -> list[tuple[datetime | None, str]]:
    """Every notice the period must run from: to all owners, to the residents' committee, and the
    posting in the estate (None: not given yet)."""
    posted = session.scalars(select(col(NoticePosting.posted_at))
                             .where(col(NoticePosting.meeting_id) == meeting.id)).first()
    return [(meeting.published_at, "向全体业主公告会议通知"), (meeting.rc_notified_at, "告知社区居委会"),
            (posted, POSTING)]


def opens_from(session: Session, *, meeting: Meeting) -> datetime | None:
    """When voting may open at the earliest counting from the notices given so far (the latest of
    their periods' ends); None before publishing. A notice still missing is a problem of its own."""
    given = [moment for moment, _who in _notices(session, meeting) if moment is not None]
    return max(earliest_open(moment) for moment in given) if meeting.published_at and given else None


def _motions(session: Session, meeting: Meeting) -> list[Motion]:
    return list(session.scalars(select(Motion).where(col(Motion.meeting_id) == meeting.id)
                                .order_by(col(Motion.position))))


def motions_of(session: Session, *, meeting: Meeting) -> list[Motion]:
    return _motions(session, meeting)


def lock(session: Session, meeting: Meeting) -> Meeting:
    """The meeting row, locked for this transaction on PostgreSQL (SQLite's BEGIN IMMEDIATE already
    serialises writers): casting, opening and closing of one meeting take turns. Lock order is
    always meeting, then the estate's audit sequencer."""
    query = select(Meeting).where(col(Meeting.id) == meeting.id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one()


# --- drafting and publishing ---------------------------------------------------------------


@dataclass(frozen=True)
class MotionDraft:
    item: int
    title: str
    text: str
    kind: str = "motion"
    seats: int | None = None
    candidates: tuple[str, ...] = ()


def create_meeting(session: Session, *, estate: Estate, principal: Principal, title: str, closes_at: datetime,
                   motions: list[MotionDraft], now: datetime, revote: str = "last", objection_days: int = 7,
                   proxy_limit: int = 3, paper_grace_days: int = 3, publish_per_unit_results: bool = False) -> Meeting:
    """A draft meeting with its motions (nothing is announced yet), logged as meeting.created."""
    assert estate.id is not None
    title = title.strip()
    if not title or len(title) > 200:
        raise InvalidInput("请填写会议名称（不超过 200 字） / a title of at most 200 characters", code="title_required")
    check_visible(title, chinese="会议名称", english="the meeting title", code="hidden_character")
    if revote not in REVOTES:
        raise InvalidInput("重投规则只能是 last 或 first / revote is last or first", code="invalid_revote")
    if not 1 <= objection_days <= 60 or not 1 <= proxy_limit <= 10 \
            or not 0 <= paper_grace_days <= MAX_PAPER_GRACE_DAYS:
        raise InvalidInput(f"异议期 1–60 日，代理上限 1–10 人，纸质票录入期 0–{MAX_PAPER_GRACE_DAYS} 日"
                           f"（表决结果须在投票截止后 3 日内公告） / rules out of range", code="invalid_rules")
    if closes_at.tzinfo is None or closes_at <= earliest_open(now):
        raise InvalidInput(f"投票截止时间须晚于最早可开始投票的时间 {stamp(earliest_open(now))} / closes too early",
                           code="closes_too_early")
    check_unit_publication(estate, publish=publish_per_unit_results)
    if not motions:
        raise InvalidInput("至少需要一个议题 / at least one motion", code="motions_required")
    for draft in motions:
        _check_motion(draft)
    meeting = Meeting(estate_id=estate.id, title=title, revote=revote, objection_days=objection_days,
                      proxy_limit=proxy_limit, paper_grace_days=paper_grace_days,
                      publish_per_unit_results=publish_per_unit_results, created_by=actor_of(principal).id,
                      created_at=now, closes_at=closes_at)
    session.add(meeting)
    session.flush()
    assert meeting.id is not None
    for position, draft in enumerate(motions, start=1):
        session.add(Motion(meeting_id=meeting.id, estate_id=estate.id, position=position, item=draft.item,
                           title=draft.title.strip(), text=draft.text.strip(), kind=draft.kind, seats=draft.seats,
                           candidates_json=json.dumps(list(draft.candidates), ensure_ascii=False)
                           if draft.kind == "election" else None))
    session.flush()
    audit_log.append(session, estate_id=estate.id, type="meeting.created", actor=actor_of(principal), at=now,
                     meeting=meeting_id(meeting), motions=[m.public_id for m in _motions(session, meeting)],
                     revote=revote, closes_at=format_time(closes_at))
    return meeting


def _check_motion(draft: MotionDraft) -> None:
    if draft.item not in ITEMS:
        raise InvalidInput("议题须属于《民法典》第二百七十八条第一款第（一）至（九）项 / item 1..9", code="invalid_item")
    if not draft.title.strip() or len(draft.title.strip()) > 200 or not draft.text.strip():
        raise InvalidInput("每个议题都要有标题（不超过 200 字）和内容 / title and text", code="motion_text_required")
    check_visible(draft.title, chinese="议题标题", english="the motion title", code="hidden_character")
    check_visible(draft.text, chinese="议题内容", english="the motion text", code="hidden_character", multiline=True)
    if draft.kind == "election":
        candidates = [c.strip() for c in draft.candidates]
        if not candidates or len(set(candidates)) != len(candidates) or not all(candidates):
            raise InvalidInput("选举须列出候选人，且不得重复 / distinct candidates", code="invalid_candidates")
        for candidate in candidates:
            check_visible(candidate, chinese="候选人姓名", english="a candidate's name", code="hidden_character")
        if not draft.seats or not 1 <= draft.seats <= len(candidates):
            raise InvalidInput("应选人数须在 1 与候选人数之间 / seats", code="invalid_seats")
    elif draft.kind != "motion":
        raise InvalidInput("表决方式只能是议题或选举 / motion or election", code="invalid_kind")


def publish(session: Session, *, meeting: Meeting, estate: Estate, principal: Principal, now: datetime) -> Meeting:
    """Publish the notice to all owners and, in the same transaction, notify the residents' committee."""
    meeting = lock(session, meeting)
    assert estate.id is not None and meeting.id is not None
    if meeting.published_at is not None:
        raise Conflict("会议通知已经发布 / already published", code="already_published")
    if meeting.closes_at <= earliest_open(now):
        raise Conflict(f"投票截止时间须晚于 {stamp(earliest_open(now))}，请修改后再发布 / closes too early",
                       code="closes_too_early")
    actor = actor_of(principal)
    meeting.published_at = now
    meeting.rc_notified_at = now
    session.flush()
    motions = _motions(session, meeting)
    audit_log.append(session, estate_id=estate.id, type="meeting.published", actor=actor, at=now,
                     meeting=meeting_id(meeting), motions=[m.public_id for m in motions],
                     earliest_open=format_time(earliest_open(now)), closes_at=format_time(meeting.closes_at))
    agenda = "；".join(f"{m.position}. {m.title}（第{m.item}项：{ITEM_NAMES[m.item]}）" for m in motions)
    events.publish(session, MeetingPublished(
        estate_id=estate.id, at=now, actor=actor.id, role=actor.role, meeting_id=meeting.id,
        evidence=f"/estate/{estate.code}/meetings/{meeting.id}",
        description=f"{estate.name}召集业主大会会议“{meeting.title}”。议题：{agenda}。"
                    f"最早 {stamp(earliest_open(now))} 开始投票，{stamp(meeting.closes_at)} 截止。"))
    return meeting


def open_voting(session: Session, *, meeting: Meeting, estate: Estate, principal: Principal, now: datetime) -> Meeting:
    """Open voting now: refuse with every reason if the notice has not run; freeze the roll and log it."""
    meeting = lock(session, meeting)
    assert estate.id is not None and meeting.id is not None
    problems = problems_before_open(session, meeting=meeting, now=now)
    if problems:
        raise Conflict("现在还不能开始投票：" + "".join(problems) + " / voting cannot open yet", code="cannot_open",
                       detail=problems)
    snapshot = rolls.freeze_roll(session, estate=estate, purpose=f"{meeting_id(meeting)} {meeting.title}")
    meeting.opens_at = now
    meeting.roll_snapshot_id = snapshot.id
    session.flush()
    members = _roll_members(session, snapshot)
    actor = actor_of(principal)
    audit_log.append(
        session, estate_id=estate.id, type="roll.frozen", actor=actor, at=now, meeting=meeting_id(meeting),
        motions=[m.public_id for m in _motions(session, meeting)],
        register_version=_version_number(session, snapshot), revote=meeting.revote, opens_at=format_time(now),
        closes_at=format_time(meeting.closes_at),
        members=[{"member": key, "units": units, "area": _area_text(area), "heads": heads}
                 for key, (area, heads, units) in members.items()],
        totals={"area": _area_text(snapshot.total_area), "heads": snapshot.total_heads},
    )
    events.publish(session, VotingOpened(
        estate_id=estate.id, at=now, actor=actor.id, role=actor.role, meeting_id=meeting.id,
        evidence=f"/estate/{estate.code}/meetings/{meeting.id}",
        description=f"业主大会会议“{meeting.title}”开始投票，{stamp(meeting.closes_at)} 截止。"
                    f"参加投票的业主名册已冻结：{snapshot.total_heads} 人，专有部分面积 {_area_text(snapshot.total_area)} 平方米。"))
    return meeting


def _version_number(session: Session, snapshot: RollSnapshot) -> int:
    return session.get_one(RegisterVersion, snapshot.version_id).number


def _area_text(area: Decimal) -> str:
    return format(area.normalize(), "f") if area else "0"


def _roll_members(session: Session, snapshot: RollSnapshot) -> dict[str, tuple[Decimal, int, list[str]]]:
    """The frozen roll's members: key -> (area, heads, unit codes sorted), sorted by key."""
    rows = session.execute(
        select(col(RollMember.member_key), col(RollMember.area), col(RollMember.heads), col(Unit.code))
        .join(RollMemberUnit, col(RollMemberUnit.member_id) == col(RollMember.id))
        .join(Unit, col(Unit.id) == col(RollMemberUnit.unit_id))
        .where(col(RollMember.snapshot_id) == snapshot.id)
    )
    members: dict[str, tuple[Decimal, int, list[str]]] = {}
    for key, area, heads, code in rows:
        members.setdefault(key, (area, heads, []))[2].append(code)
    for _area, _heads, units in members.values():
        units.sort()
    return dict(sorted(members.items()))


def roll_members(session: Session, *, meeting: Meeting) -> dict[str, tuple[Decimal, int, list[str]]]:
    if meeting.roll_snapshot_id is None:
        return {}
    return _roll_members(session, session.get_one(RollSnapshot, meeting.roll_snapshot_id))


# --- reading ---------------------------------------------------------------------------------


def get_meeting(session: Session, *, estate: Estate, meeting_id: int) -> Meeting:
    """A meeting of this estate (the route has already checked the principal may act in it)."""
    meeting = session.scalars(select(Meeting).where(col(Meeting.id) == meeting_id,
                                                    col(Meeting.estate_id) == estate.id)).first()
    if meeting is None:
        raise NotFound("本小区没有这次会议 / no such meeting in this estate", code="meeting_not_found")
    return meeting


def get_motion(session: Session, *, meeting: Meeting, motion_id: int) -> Motion:
    motion = session.scalars(select(Motion).where(col(Motion.id) == motion_id,
                                                  col(Motion.meeting_id) == meeting.id)).first()
    if motion is None:
        raise NotFound("本次会议没有这个议题 / no such motion", code="motion_not_found")
    return motion


def meetings_of(session: Session, *, estate: Estate, published_only: bool = False) -> list[Meeting]:
    query = (select(Meeting).where(col(Meeting.estate_id) == estate.id)
             .order_by(col(Meeting.created_at).desc(), col(Meeting.id).desc()))
    if published_only:
        query = query.where(col(Meeting.published_at).is_not(None))
    return list(session.scalars(query))


@dataclass(frozen=True)
class Turnout:
    """Participating area and heads of a motion against the roll's totals: visible live to everyone."""

    participating: Count
    total: Count

    @property
    def area_reached(self) -> bool:
        return self.total.area > 0 and self.participating.area * QUORUM.denominator >= self.total.area * QUORUM.numerator

    @property
    def heads_reached(self) -> bool:
        return self.total.heads > 0 and self.participating.heads * QUORUM.denominator >= self.total.heads * QUORUM.numerator


def turnout(session: Session, *, meeting: Meeting, motion: Motion) -> Turnout | None:
    """Members with at least one ballot on the motion, by area and heads (never how they voted)."""
    if meeting.roll_snapshot_id is None:
        return None
    snapshot = session.get_one(RollSnapshot, meeting.roll_snapshot_id)
    voted = select(col(Ballot.member_key)).where(col(Ballot.motion_id) == motion.id).distinct().scalar_subquery()
    area, heads = session.execute(
        select(func.sum(RollMember.area), func.sum(RollMember.heads))
        .where(col(RollMember.snapshot_id) == snapshot.id, col(RollMember.member_key).in_(voted))
    ).one()
    return Turnout(Count(area or Decimal(0), heads or 0), Count(snapshot.total_area, snapshot.total_heads))
