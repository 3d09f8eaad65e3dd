"""Onboarding an estate 物业管理区域 into its place: district → street office → community → estate.

The street office onboards estates (rules.md, "People and their rooms"); the demo, the tests and
the benchmarks use the same function, so an estate always hangs in a complete tree.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from assembly.audit import store as audit_log
from assembly.errors import Conflict, InvalidInput
from assembly.plaintext import check_visible
from assembly.register.models import Community, District, Estate, StreetOffice
from assembly.voting.models import Meeting

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def _find_or_add(session: Session, model, **fields):
    query = select(model).filter_by(**fields)
    found = session.scalars(query).first()
    if found is None:
        found = model(**fields)
        session.add(found)
        session.flush()
    return found


def onboard_estate(
    session: Session,
    *,
    code: str,
    name: str,
    district: str,
    street_office: str,
    community: str,
    residents_committee: str,
    address: str = "",
    committee_contact: str = "",
) -> Estate:
    """A new estate under the named district, street office and community (created as needed)."""
    if not CODE.match(code):
        raise InvalidInput(
            "小区代码只能用小写字母、数字和连字符，2-40 个字符 / the estate code takes 2-40 lowercase letters, digits, '-'",
            code="estate_code_invalid",
        )
    if session.scalars(select(Estate.id).where(Estate.code == code)).first() is not None:
        raise Conflict(f"小区代码 “{code}” 已被使用 / the estate code '{code}' is taken", code="estate_code_taken")
    if not name.strip():
        raise InvalidInput("请填写小区名称 / the estate needs a name", code="estate_name_missing")
    for text, chinese, english in ((name, "小区名称", "the estate name"), (district, "区", "the district"),
                                   (street_office, "街道办事处", "the street office"), (community, "社区", "the community")):
        check_visible(text, chinese=chinese, english=english, code="hidden_character")
    district_row = _find_or_add(session, District, name=district)
    office = _find_or_add(session, StreetOffice, district_id=district_row.id, name=street_office)
    place = _find_or_add(
        session, Community, street_office_id=office.id, name=community, residents_committee=residents_committee
    )
    estate = Estate(
        code=code,
        name=name.strip(),
        community_id=place.id,
        address=address,
        committee_contact=committee_contact,
    )
    session.add(estate)
    session.flush()
    return estate


ANCILLARY_ENTRY = "estate.ancillary_rule"


def set_ancillary_rule(session: Session, *, estate: Estate, counted: bool, reason: str, actor: audit_log.Actor,
                       now: datetime) -> Estate:
    """Record whether parking spaces and storage rooms with their own registration count as 专有部分
    in the estate's votes (SPC 法释〔2009〕7号 Art. 2 makes them so in principle; courts differ), with
    the reason: the street office decides (it checks the register), never during a vote."""
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("请写明理由（如业主大会议事规则的条款或法院的做法） / give the reason (the article of the "
                           "assembly's rules, or the courts' practice)", code="reason_required")
    if len(reason) > 500:
        raise InvalidInput("理由不超过 500 字 / at most 500 characters", code="reason_too_long")
    check_visible(reason, chinese="理由", english="the reason", code="hidden_character")
    voting = session.scalars(select(Meeting.title).where(Meeting.estate_id == estate.id, Meeting.opens_at.is_not(None),
                                                         Meeting.closed_at.is_(None))).first()
    if voting is not None:
        raise Conflict(f"会议“{voting}”正在投票，投票期间不能更改车位、储藏室是否计入 / a meeting is open for voting: "
                       "the rule cannot change during a vote", code="meeting_open_for_voting")
    estate.ancillary_counted, estate.ancillary_reason = counted, reason
    estate.ancillary_set_at, estate.ancillary_set_by = now, actor.id
    session.add(estate)
    audit_log.append(session, estate_id=estate.id, type=ANCILLARY_ENTRY, actor=actor, at=now, counted=counted,
                     reason=reason)
    session.flush()
    return estate
