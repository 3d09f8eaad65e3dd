"""The slow-down: grows exponentially per card/account and per IP, is capped, is forgotten, holds in the DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assembly.auth import throttle

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)



def _fail_times(session, kind, key, count, *, now=T0):
    return [throttle.register_failure(session, kind, key, now=now)[1] for _ in range(count)]


def test_card_delays_double_and_stop_at_the_cap(session):
    delays = _fail_times(session, throttle.CARD, "card-1", 12)
    assert delays[:3] == [0, 0, 0]
    assert delays[3:9] == [30, 60, 120, 240, 480, 900]
    assert delays[9:] == [900, 900, 900]  # capped at 15 minutes: delayed, never locked out
    assert throttle.wait_seconds(session, throttle.CARD, "card-1", now=T0) == 900
    assert throttle.wait_seconds(session, throttle.CARD, "card-1", now=T0 + timedelta(minutes=15)) == 0


def test_ip_allows_more_before_slowing_down(session):
    delays = _fail_times(session, throttle.IP, "10.0.0.1", 22)
    assert delays[:20] == [0] * 20 and delays[20:] == [30, 60]


def test_keys_are_independent(session):
    _fail_times(session, throttle.CARD, "card-1", 5)
    assert throttle.wait_seconds(session, throttle.CARD, "card-2", now=T0) == 0
    assert throttle.wait_seconds(session, throttle.ACCOUNT, "card-1", now=T0) == 0


def test_success_clears_and_a_quiet_day_forgets(session):
    _fail_times(session, throttle.CARD, "card-1", 5)
    throttle.clear(session, throttle.CARD, "card-1")
    assert throttle.wait_seconds(session, throttle.CARD, "card-1", now=T0) == 0
    assert throttle.failures(session, throttle.CARD, "card-1") == 0
    _fail_times(session, throttle.CARD, "card-2", 8)
    later = T0 + timedelta(hours=25)
    assert throttle.register_failure(session, throttle.CARD, "card-2", now=later) == (1, 0)


def test_policy_delay_is_monotonic_and_bounded():
    for policy in throttle.POLICIES.values():
        delays = [policy.delay_after(n) for n in range(200)]
        assert delays == sorted(delays) and max(delays) == policy.cap_seconds <= 15 * 60


@pytest.mark.parametrize(
    ("address", "key"),
    [("203.0.113.7", "203.0.113.7"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
     ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"), ("::ffff:203.0.113.7", "203.0.113.7"), (None, "unknown"),
     ("testclient", "testclient")],
)
def test_ip_keys(address, key):
    assert throttle.ip_key(address) == key


@pytest.mark.parametrize(("seconds", "text"), [(30, "30 秒"), (60, "1 分钟"), (125, "2 分 5 秒"), (900, "15 分钟")])
def test_wait_message_says_when(seconds, text):
    assert f"请在 {text}后再试" in throttle.wait_message(seconds)
