"""Who may do what (rules.md, "People and their rooms"), one row per rule, and estate scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assembly.auth.errors import Unauthenticated
from assembly.errors import Forbidden
from assembly.permissions import (
    ALL_ESTATES,
    ANONYMOUS,
    ROLE_ACTIONS,
    Action,
    Principal,
    Role,
    allowed,
    check,
    may_create,
    scope_to_estates,
    visible_estate_ids,
)
from assembly.register.models import Estate

COMMITTEE = (Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)


@pytest.mark.parametrize(
    ("rule", "action", "roles"),
    [
        ("owners vote", Action.VOTE, {Role.OWNER}),
        ("owners sign petitions", Action.PETITION_SIGN, {Role.OWNER}),
        ("owners rate committee members", Action.MEMBER_RATE, {Role.OWNER}),
        ("owners file objections", Action.OBJECTION_FILE, {Role.OWNER}),
        ("the committee keeps the register", Action.REGISTER_KEEP, {*COMMITTEE, Role.COMMITTEE_STAFF}),
        ("elected members publish motions", Action.MOTION_PUBLISH, set(COMMITTEE)),
        ("elected members convene meetings", Action.MEETING_CONVENE, set(COMMITTEE)),
        ("committee people enter paper ballots", Action.PAPER_BALLOT_ENTER, {*COMMITTEE, Role.COMMITTEE_STAFF}),
        ("elected members publish results", Action.RESULT_PUBLISH, set(COMMITTEE)),
        ("cards come from the district side, never the committee", Action.CARD_ISSUE,
         {Role.RESIDENTS_COMMITTEE, Role.STREET_OFFICE}),
        ("the residents' committee records opinions", Action.OPINION_RECORD, {Role.RESIDENTS_COMMITTEE}),
        ("the residents' committee requests revocation", Action.REVOCATION_REQUEST, {Role.RESIDENTS_COMMITTEE}),
        ("the street office decides revocation", Action.REVOCATION_DECIDE, {Role.STREET_OFFICE}),
        ("auditors verify the log", Action.AUDIT_VERIFY, {Role.OBSERVER, Role.RESIDENTS_COMMITTEE, Role.STREET_OFFICE}),
        ("observers score the assembly", Action.ASSEMBLY_SCORE, {Role.OBSERVER}),
        ("the street office appoints observers", Action.OBSERVER_APPOINT, {Role.STREET_OFFICE}),
        ("the street office records credit events", Action.CREDIT_RECORD, {Role.STREET_OFFICE}),
        ("the street office publishes rankings", Action.RANKING_PUBLISH, {Role.STREET_OFFICE}),
        ("accounts are made by the role above", Action.ACCOUNT_MANAGE, {Role.STREET_OFFICE, Role.ADMIN}),
        ("who voted (never how): committee and auditors", Action.VOTED_UNITS_READ,
         {*COMMITTEE, Role.COMMITTEE_STAFF, Role.OBSERVER, Role.RESIDENTS_COMMITTEE, Role.STREET_OFFICE}),
        ("security events for auditors and the administrator", Action.SECURITY_EVENTS_READ,
         {Role.OBSERVER, Role.RESIDENTS_COMMITTEE, Role.STREET_OFFICE, Role.ADMIN}),
    ],
)
def test_rules(rule, action, roles):
    assert {role for role in Role if allowed(role, action)} == roles, rule


def test_observers_never_change_anything():
    changing = {Action.VOTE, Action.REGISTER_KEEP, Action.MOTION_PUBLISH, Action.CARD_ISSUE, Action.ACCOUNT_MANAGE,
                Action.PAPER_BALLOT_ENTER, Action.CREDIT_RECORD, Action.OPINION_RECORD}
    assert not ROLE_ACTIONS[Role.OBSERVER] & changing


def test_nobody_anonymous_may_do_anything():
    assert not any(allowed(None, action) for action in Action)
    with pytest.raises(Unauthenticated):
        check(ANONYMOUS, Action.RESULTS_READ)


def test_check_names_role_and_estate_refusals():
    observer = Principal(kind="account", role=Role.OBSERVER, estate_ids=frozenset({1}))
    check(observer, Action.AUDIT_VERIFY, estate_id=1)
    with pytest.raises(Forbidden) as role:
        check(observer, Action.CARD_ISSUE, estate_id=1)
    with pytest.raises(Forbidden) as estate:
        check(observer, Action.AUDIT_VERIFY, estate_id=2)
    assert (role.value.code, estate.value.code) == ("role_forbidden", "estate_forbidden")


def test_the_hierarchy():
    assert may_create(Role.ADMIN, Role.STREET_OFFICE) and may_create(Role.STREET_OFFICE, Role.OBSERVER)
    assert not may_create(Role.STREET_OFFICE, Role.STREET_OFFICE)
    assert not any(may_create(role, Role.OWNER) for role in Role)
    assert not may_create(None, Role.ADMIN)


def test_scoping_every_query(session, world):
    alpha, beta = world.alpha.estate, world.beta.estate
    query = select(Estate.code).order_by(Estate.code)
    only_alpha = Principal(kind="account", role=Role.OBSERVER, estate_ids=frozenset({alpha.id}))
    admin = Principal(kind="account", role=Role.ADMIN, estate_ids=ALL_ESTATES)
    assert session.scalars(scope_to_estates(query, Estate.id, only_alpha)).all() == ["alpha"]
    assert session.scalars(scope_to_estates(query, Estate.id, admin)).all() == ["alpha", "beta"]
    assert session.scalars(scope_to_estates(query, Estate.id, ANONYMOUS)).all() == []
    assert visible_estate_ids(ANONYMOUS) == frozenset() and beta.id in visible_estate_ids(admin)
