"""Co-owners name their voter on their phones: one proposes, the other agrees, both homes show the
voter and the notices; the pages pass the accessibility audit (phone and desktop), and the
committee's page for the signed form too."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from assembly import identity
from assembly.auth import cards
from assembly.auth.accounts import get_account
from assembly.auth.sessions import account_principal
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import DEMO_CODE, demo_rows
from assembly.register.models import Estate, Person

from .conftest import describe_violations, small_targets
from .world import PIN, card_login, staff_login


def _co_owners_with_cards(engine, now) -> tuple[str, list[tuple[str, str]]]:
    """A demo unit held by exactly two owners, and a fresh activated card for each: (unit, [(token, masked)])."""
    owners: dict[str, list[str]] = defaultdict(list)
    for row in demo_rows():
        if not row.developer:
            owners[row.unit].append(row.id_number)
    unit = next(code for code, numbers in sorted(owners.items()) if len(set(numbers)) == 2)
    key = get_settings().id_hash_key
    found = []
    with unit_of_work(engine) as session:
        estate = session.scalars(select(Estate).where(Estate.code == DEMO_CODE)).one()
        issuer = account_principal(session, get_account(session, "demo-rc"))
        for number in owners[unit]:
            person = session.scalars(select(Person).where(Person.estate_id == estate.id,
                                                          Person.id_hash == identity.id_hash(key, number))).one()
            held = cards.active_card(session, person_id=person.id)
            issued = (cards.reissue_card(session, card=held, issued_by=issuer, now=now) if held
                      else cards.issue_card(session, person=person, issued_by=issuer, now=now))
            cards.set_first_pin(session, card=issued.card, pin=PIN, ip=None, now=now)
            found.append((issued.token, identity.mask_name(person.name)))
    return unit, found


def test_co_owners_name_their_voter_on_the_phone(live_server, page, demo_logins, demo_engine, clock, axe, screenshot):
    base, violations, small = live_server.url, {}, {}

    def audit(name: str) -> None:
        page.wait_for_load_state("load")
        violations[name] = axe(page)
        small[name] = small_targets(page)

    unit, ((first, first_name), (second, second_name)) = _co_owners_with_cards(demo_engine, clock.now)
    card_login(page, base, first)
    assert "尚未推选投票人" in page.locator("main").inner_text()
    page.get_by_role("link", name="共有人推选投票人").first.click()
    page.wait_for_url("**/me/voters")
    audit("voters-owner")
    member = page.locator("#members li", has_text=unit)
    member.get_by_label(second_name).check()
    member.get_by_role("button", name="提出提议").click()
    page.wait_for_url("**/me/voters?done=proposed")
    assert "待确认的提议" in page.locator("main").inner_text()
    audit("voters-proposed")
    screenshot(page, "voters-proposed")

    card_login(page, base, second)
    home = page.locator("main").inner_text()
    assert "共有人提议投票人" in home and f"共有人{first_name}" in home  # the notice on the home page
    page.goto(f"{base}/me/voters")
    page.get_by_role("button", name=f"同意由 {second_name} 投票").click()
    page.wait_for_url("**/me/voters?done=agreed")
    page.goto(f"{base}/me")
    assert f"投票人：{second_name}" in page.locator("main").inner_text()
    audit("owner-home-voter")

    staff_login(page, base, "demo-chair", demo_logins["demo-chair"])
    page.goto(f"{base}/estate/{DEMO_CODE}/voters?unit={unit}")
    assert f"投票人：{second_name}" in page.locator("main").inner_text()
    audit("voters-committee")

    assert not any(violations.values()), describe_violations(violations)
    assert not any(small.values()), small
