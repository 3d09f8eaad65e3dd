"""An estate to raise events in, and a bus of the test's own (the application's stays as composed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assembly.events.bus import Bus
from assembly.register.estates import onboard_estate

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def make_estate(session, code: str = "ev"):
    return onboard_estate(session, code=code, name=f"{code}小区", district="东城区", street_office="和平街街道",
                          community="和平社区", residents_committee="和平社区居委会")


@pytest.fixture
def bus() -> Bus:
    return Bus()
