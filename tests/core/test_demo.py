"""The demo estate: realistic, deterministic, and holding every case the law distinguishes."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from assembly.demo import DEMO_CODE, demo_rows, load_demo
from assembly.identity import normalize_id_number
from assembly.register import rolls, service
from assembly.register.models import Estate, RegisterVersion

KEY = "demo-test-key-" + "x" * 32


def test_demo_rows_are_deterministic_and_valid():
    rows = demo_rows()
    assert rows == demo_rows()
    units = {row.unit for row in rows}
    assert len(units) == 2000
    for row in rows:
        if not row.developer:
            assert normalize_id_number(row.id_number) == row.id_number
        area = row.registry or row.survey or row.contract
        assert 40 <= area <= 301


def test_demo_has_developer_co_owned_and_multi_unit_owners():
    rows = demo_rows()
    developer_units = {row.unit for row in rows if row.developer}
    owners_per_unit = Counter(row.unit for row in rows if not row.developer)
    units_per_owner = Counter(row.id_number for row in rows if not row.developer)
    assert len(developer_units) >= 20
    assert any(count >= 2 for count in owners_per_unit.values()), "no co-owned unit"
    assert any(count >= 2 for count in units_per_owner.values()), "no owner of several units"
    sources = Counter(
        "registry" if row.registry else "survey" if row.survey else "contract" for row in rows
    )
    assert set(sources) == {"registry", "survey", "contract"}


def test_load_demo_builds_the_register_once(session):
    first = load_demo(session, id_key=KEY)
    again = load_demo(session, id_key=KEY)
    assert first.created and not again.created
    assert again.estate.id == first.estate.id
    assert session.scalar(select(func.count()).select_from(RegisterVersion)) == 1
    assert session.scalar(select(func.count()).select_from(Estate).where(Estate.code == DEMO_CODE)) == 1
    members = rolls.version_members(session, version_id=service.latest_version(
        session, estate_id=first.estate.id).id)
    developer = [member for member in members if member.key == "developer"]
    assert len(developer) == 1 and len(developer[0].unit_ids) >= 20
    assert first.members == len(members) < first.units
    snapshot = rolls.freeze_roll(session, estate=first.estate, purpose="test")
    assert snapshot.total_heads == len(members)
    assert snapshot.total_area == sum(member.area for member in members)
