"""Onboarding estates: a complete place in the district tree, codes checked, shared parents reused."""

from __future__ import annotations

import pytest

from assembly.errors import Conflict, InvalidInput
from assembly.register.estates import onboard_estate

PLACE = dict(district="朝阳区", street_office="望京街道办事处", community="花家地社区", residents_committee="花家地社区居委会")


def test_two_estates_share_their_community(session):
    one = onboard_estate(session, code="yard-1", name="一号院", **PLACE)
    two = onboard_estate(session, code="yard-2", name="二号院", **PLACE)
    assert one.community_id == two.community_id


@pytest.mark.parametrize("code", ["", "A", "x", "has space", "UPPER", "-lead", "a" * 41, "中文"])
def test_bad_codes_are_refused(session, code):
    with pytest.raises(InvalidInput):
        onboard_estate(session, code=code, name="院", **PLACE)


def test_a_taken_code_is_a_conflict(session):
    onboard_estate(session, code="yard-3", name="三号院", **PLACE)
    with pytest.raises(Conflict):
        onboard_estate(session, code="yard-3", name="另一个院", **PLACE)


@pytest.mark.parametrize("field", ["name", "community", "street_office"])
def test_names_with_invisible_control_characters_are_refused(session, field):
    values = {"code": "yard-9", "name": "九号院", **PLACE}
    values[field] = "\u202e" + values[field]
    with pytest.raises(InvalidInput) as refused:
        onboard_estate(session, **values)
    assert refused.value.code == "hidden_character" and "U+202E" in refused.value.message
