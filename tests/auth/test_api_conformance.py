"""The OpenAPI description matches the answers (issue #22, item 7), checked by schemathesis as each role.

For every operation of /api/openapi.json and every role (and anonymous), generated requests are sent
through the application with that role's session and CSRF token, and schemathesis checks that the
status, the content type, the headers and the body are the ones described, and that nothing is a
500. Half of the cases name the role's own estate and a real meeting and motion instead of random
values, so that answers past the 404 are checked too.

Bounded and derandomised (a fixed seed) in CI: ASSEMBLY_FUZZ_EXAMPLES examples per operation and
role (default 5, about a minute of CPU for the seven roles); `make fuzz` runs many more.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assembly.auth import cards, totp
from assembly.auth.sessions import account_principal
from assembly.permissions import Role
from assembly.voting import meetings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = int(os.environ.get("ASSEMBLY_FUZZ_EXAMPLES", "5"))
ROLES = ("anonymous", "owner", "committee_chair", "residents_committee", "observer", "street_office", "admin")
# Ending the role's own session would leave the rest of the run anonymous: checked as anonymous only.
SESSION_ENDERS = {"/api/auth/logout", "/api/auth/logout-everywhere"}
PIN = "480913"


class World:
    """Two estates (kit.make_web), an account per role, an owner card, a published meeting of alpha."""

    def __init__(self, web, kit) -> None:
        self.web, self.kit = web, kit
        self.secrets: dict[str, bytes] = {}
        world = web.world
        with web.session() as session:
            for role in ROLES[2:]:
                account = kit.make_account(session, role, world, username=f"c-{role.replace('_', '-')}")
                if role in ("street_office", "admin"):
                    self.secrets[role] = kit.enrol_totp(session, account)
            rc = account_principal(session, kit.make_account(session, Role.RESIDENTS_COMMITTEE, world,
                                                             username="c-issuer"))
            card = cards.issue_card(session, person=world.alpha.owners[0].person, issued_by=rc, now=web.clock.now)
            cards.set_first_pin(session, card=card.card, pin=PIN, ip=None, now=web.clock.now)
            self.card_token = card.token
            chair = account_principal(session, kit.make_account(session, Role.COMMITTEE_CHAIR, world,
                                                                username="c-convener"))
            from assembly.register.models import Estate

            estate = session.get(Estate, world.alpha.estate.id)
            meeting = meetings.create_meeting(
                session, estate=estate, principal=chair, title="业主大会", now=web.clock.now,
                closes_at=web.clock.now + timedelta(days=40),
                motions=[meetings.MotionDraft(item=4, title="续聘物业", text="续聘三年")])
            meetings.publish(session, meeting=meeting, estate=estate, principal=chair, now=web.clock.now)
            self.real = {"code": "alpha", "meeting": meeting.id,
                         "motion": meetings.motions_of(session, meeting=meeting)[0].id}

    def login(self, role: str) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, cookies) of a fresh session of the role."""
        client = self.web.client(ip=f"10.7.{ROLES.index(role)}.1")
        csrf = self.kit.api_csrf(client)
        if role == "owner":
            response = client.post(f"/api/cards/{self.card_token}/login", json={"pin": PIN},
                                   headers={"X-CSRF-Token": csrf})
        elif role != "anonymous":
            body = {"username": f"c-{role.replace('_', '-')}", "password": self.kit.PASSWORD}
            if role in self.secrets:
                self.web.clock.advance(seconds=30)  # a fresh TOTP step: codes are single-use
                body["totp_code"] = totp.totp(self.secrets[role], self.web.clock.now)
            response = client.post("/api/auth/login", json=body, headers={"X-CSRF-Token": csrf})
        if role != "anonymous":
            assert response.status_code == 200, response.text
            csrf = response.json()["csrf_token"]
        return {"X-CSRF-Token": csrf}, dict(client.cookies.items())


@pytest.fixture(scope="module")
def world(databases, kit):
    return World(kit.make_web(databases.copy(), extra_owners=4), kit)


@pytest.fixture(scope="module")
def api_schema(world):
    return schemathesis.openapi.from_asgi("/api/openapi.json", world.web.app)


def _exercise(operation, world: World, role: str, headers: dict, cookies: dict) -> list[str]:
    """Run the bounded, derandomised examples of one operation; the failures found, as text."""
    failures: list[str] = []

    @given(case=operation.as_strategy(), data=st.data())
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case, data):
        if data.draw(st.booleans(), label="real ids"):
            for name in case.path_parameters or {}:
                if name in world.real:
                    case.path_parameters[name] = world.real[name]
        response = case.call(headers=headers, cookies=cookies)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            kinds = ", ".join(sorted({type(failure).__name__ for failure in group.exceptions}))
            message = f"{role} {case.method} {operation.path} -> {response.status_code}: {kinds}"
            if message not in failures:
                failures.append(message)

    run()
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_the_description_matches_the_answers(api_schema, world, role):
    headers, cookies = world.login(role)
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path in SESSION_ENDERS and role != "anonymous":
            continue
        failures += _exercise(operation, world, role, headers, cookies)
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)


def test_a_nul_in_an_estate_code_is_invalid_input_not_a_server_error(world):
    """Found by the run above on PostgreSQL (text cannot hold NUL): the account's estates are codes."""
    headers, cookies = world.login("street_office")
    client = world.web.client()
    client.cookies.update(cookies)
    for body in ({"username": "nul-observer", "display_name": "x", "role": "observer", "estates": ["alp\x00ha"]},
                 {"username": "nul-observer", "display_name": "x", "role": "observer", "estates": ["alpha"],
                  "street_office_id": 2**40}):
        response = client.post("/api/accounts", json=body, headers=headers)
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_input", response.text
