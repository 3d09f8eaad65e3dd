"""Onboarding an estate 物业管理区域 into its place: district → street office → community → estate.

The street office onboards estates (rules.md, "People and their rooms"); the demo, the tests and
the benchmarks use the same function, so an estate always hangs in a complete tree.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlmodel import Session

from assembly.errors import Conflict, InvalidInput
from assembly.plaintext import check_visible
from assembly.register.models import Community, District, Estate, StreetOffice

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
