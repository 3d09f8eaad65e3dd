"""Entry builders: the fields the verifier relies on are refused when missing or misshapen."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from assembly.audit.entries import EntryError, ballot_commitment, entry_problems, format_time, make_entry, parse_time
from assembly.audit.jcs import loads_canonical

OWNER = {"id": "p17", "role": "owner"}
BALLOT = {"motion": "mo-1", "member": "m-17", "by": "owner", "commitment": "ab" * 32, "time": "2025-03-16T08:00:00Z"}


def test_make_entry_is_canonical_and_carries_common_fields():
    entry = make_entry("ballot.cast", "2025-03-16T08:00:01Z", OWNER, index=3, **BALLOT)
    value = loads_canonical(entry)
    assert value["index"] == 3 and value["type"] == "ballot.cast" and value["actor"] == OWNER
    assert entry.startswith(b'{"actor":{"id":"p17","role":"owner"},"at":"2025-03-16T08:00:01Z","by":"owner"')


@pytest.mark.parametrize("missing", ["motion", "member", "by", "commitment", "time"])
def test_ballot_cast_needs_every_field(missing):
    fields = {k: v for k, v in BALLOT.items() if k != missing}
    with pytest.raises(EntryError, match=missing):
        make_entry("ballot.cast", "2025-03-16T08:00:01Z", OWNER, index=0, **fields)


@pytest.mark.parametrize(
    "change",
    [
        {"by": "email"},
        {"commitment": "AB" * 32},
        {"commitment": "ab" * 31},
        {"time": "2025-03-16 08:00:00"},
        {"time": "2025-03-16T08:00:00+08:00"},  # UTC only, written with Z
        {"time": "2025-02-30T08:00:00Z"},
    ],
)
def test_ballot_cast_fields_have_shapes(change):
    with pytest.raises(EntryError):
        make_entry("ballot.cast", "2025-03-16T08:00:01Z", OWNER, index=0, **{**BALLOT, **change})


def test_common_fields_are_required():
    with pytest.raises(EntryError, match="index"):
        make_entry("notice.posted", "2025-03-16T08:00:01Z", OWNER)
    with pytest.raises(EntryError, match="actor"):
        make_entry("notice.posted", "2025-03-16T08:00:01Z", {"id": "p1"}, index=0)
    with pytest.raises(TypeError):
        make_entry("notice.posted", "2025-03-16T08:00:01Z", OWNER, index=0, share=0.5)


def test_unknown_types_only_need_common_fields():
    assert loads_canonical(make_entry("login.failed", "2025-03-16T08:00:01Z", OWNER, index=0, reason="bad pin"))


def test_results_hold_passed_or_elected():
    share = {"area": "10.5", "heads": 1}
    base = {"type": "result.announced", "index": 9, "at": "2025-03-16T08:00:01Z", "actor": OWNER, "motion": "mo",
            "totals": share, "participating": share, "quorum": True}
    assert entry_problems({**base, "agree": share, "passed": True}) == []
    assert entry_problems({**base, "elected": ["c1"]}) == []
    assert entry_problems(base)  # neither
    assert entry_problems({**base, "agree": share, "passed": True, "elected": []})  # both
    assert entry_problems({**base, "passed": True})  # a motion needs agree
    assert entry_problems({**base, "agree": {"area": 10.5, "heads": 1}, "passed": True})  # area must be a string


def test_roll_members_have_areas_as_decimal_strings():
    roll = {"type": "roll.frozen", "index": 1, "at": "2025-03-16T00:00:00Z", "actor": OWNER, "meeting": "mt",
            "motions": ["mo"], "register_version": 1, "revote": "last", "opens_at": "2025-03-16T00:00:00Z",
            "closes_at": "2025-03-20T00:00:00Z", "members": [{"member": "m", "units": ["u"], "area": "89.50", "heads": 1}],
            "totals": {"area": "89.50", "heads": 1}}
    assert entry_problems(roll) == []
    bad = {**roll, "members": [{"member": "m", "units": ["u"], "area": "89.50001", "heads": 1}]}
    assert any("members" in problem for problem in entry_problems(bad))


def test_ballot_commitment_known_answer():
    salt = bytes(range(32))
    ballot = {"unit": "3-2-101", "choice": "agree", "by": "owner"}
    expected = hashlib.sha256(salt + b'{"by":"owner","choice":"agree","unit":"3-2-101"}').hexdigest()
    assert ballot_commitment(salt, ballot) == expected
    assert ballot_commitment(salt, {**ballot, "choice": "oppose"}) != expected
    with pytest.raises(EntryError):
        ballot_commitment(b"short", ballot)


def test_times_round_trip_in_utc():
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2025, 3, 16, 8, 0, 0, tzinfo=beijing)
    assert format_time(moment) == "2025-03-16T00:00:00Z"
    assert format_time(moment.replace(microsecond=250)) == "2025-03-16T00:00:00.000250Z"
    assert parse_time("2025-03-16T00:00:00.000250Z") == moment.replace(microsecond=250).astimezone(UTC)
    with pytest.raises(EntryError):
        format_time(datetime(2025, 3, 16))  # naive
    assert make_entry("x.y", moment, OWNER, index=0).count(b'"at":"2025-03-16T00:00:00Z"') == 1
