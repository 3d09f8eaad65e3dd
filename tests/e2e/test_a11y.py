"""The accessibility audit: axe-core in Chromium on every main page of every role, on a phone
(390×844) and a desktop (1280×800); no serious or critical violation may remain.

One walk per viewport through the states people meet (public pages, the card's activation and PIN,
the owner's home, meetings, a motion, the confirmation, the receipt, the result; the committee's
drafting; the observer's log; the residents' committee's inbox; the screen login; the second factor;
the error pages), collecting every page's violations and reporting them all at once. On the phone
each page is also checked at 360 px wide: nothing may scroll sideways.
"""

from __future__ import annotations

from datetime import timedelta

from assembly.demo import DEMO_CODE

from .conftest import describe_violations, small_targets
from .world import PIN, card_login, staff_login


def test_every_main_page_passes_the_accessibility_audit(live_server, page, world, demo_logins, clock, axe, screenshot):
    base, found, small, sideways = live_server.url, {}, {}, {}

    def audit(name: str) -> None:
        page.wait_for_load_state("load")
        found[name] = axe(page)
        small[name] = small_targets(page)
        if page.viewport_name == "phone":  # readable on the narrowest phones too: no sideways scrolling
            for width in (360, 390):
                page.set_viewport_size({"width": width, "height": 844})
                if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
                    sideways.setdefault(name, []).append(width)

    estate = f"{base}/estate/{DEMO_CODE}"
    for name, path in (("front", "/"), ("estate", f"/estate/{DEMO_CODE}"), ("login", "/login"),
                       ("error-404", "/estate/no-such-estate"), ("screen-start", "/screen")):
        page.goto(base + path)
        audit(name)
    page.get_by_role("button", name="显示登录二维码").click()
    page.wait_for_url("**/screen/wait")
    audit("screen-wait")

    # The owner: a new card, activation, PIN, home, the meetings, a vote, the receipt.
    page.goto(f"{base}/c/{world.token}")
    audit("card-activate")
    page.get_by_label("激活码（8 位数字）").fill("0000 0000")
    page.get_by_label("身份证号码后四位").fill(world.id_tail)
    page.get_by_role("button", name="下一步").click()
    audit("card-activate-error")
    page.get_by_label("激活码（8 位数字）").fill(world.activation_code)
    page.get_by_label("身份证号码后四位").fill(world.id_tail)
    page.get_by_role("button", name="下一步").click()
    page.get_by_label("新 PIN（6–12 位数字）").wait_for()
    audit("card-set-pin")
    page.get_by_label("新 PIN（6–12 位数字）").fill(PIN)
    page.get_by_label("再次输入 PIN").fill(PIN)
    page.get_by_role("button", name="完成并登录").click()
    page.wait_for_url("**/me?welcome=1")
    audit("owner-home")
    page.goto(f"{estate}/meetings")
    audit("meetings-owner")
    page.goto(world.meeting_url(base, world.voting))
    audit("meeting-voting")
    page.goto(world.meeting_url(base, world.notice))
    audit("meeting-notice")
    page.goto(world.motion_url(base))
    audit("motion-voting")
    page.get_by_role("button", name="下一步").click()  # nothing chosen: the error in place
    audit("motion-error")
    page.get_by_label("同意").check()
    page.get_by_role("button", name="下一步").click()
    page.get_by_role("button", name="确认投票").wait_for()
    audit("confirm")
    page.get_by_role("button", name="确认投票").click()
    page.wait_for_url("**/ballots/*?new=1")
    audit("receipt")
    page.goto(f"{estate}/meetings/new")  # not the owner's: the 403 page
    audit("error-403")
    screenshot(page, "error-403")
    page.goto(f"{estate}/no-such-page")  # a 404 inside the estate: its committee's contact
    audit("error-404-estate")
    screenshot(page, "error-404")

    # The committee drafts; the residents' committee reads its inbox; the observer reads the log.
    staff_login(page, base, "demo-chair", demo_logins["demo-chair"])
    audit("account")
    page.goto(f"{estate}/meetings")
    audit("meetings-committee")
    page.goto(f"{estate}/meetings/new")
    audit("meeting-new")
    page.goto(world.meeting_url(base, world.draft))
    audit("meeting-draft")
    staff_login(page, base, "demo-rc", demo_logins["demo-rc"])
    page.goto(f"{estate}/notifications")
    audit("rc-inbox")
    page.goto(f"{estate}/cards")
    audit("rc-cards")
    staff_login(page, base, "demo-observer", demo_logins["demo-observer"])
    page.goto(f"{base}/audit")
    audit("audit-estates")
    page.goto(f"{estate}/audit")
    audit("audit-log")
    page.goto(f"{estate}/audit/verify")
    page.get_by_role("button", name="立即核验").click()
    page.wait_for_url("**/audit/verify")
    audit("audit-verify")

    # The street office's second factor (set up at the first login) and its account page.
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("demo-street")
    page.get_by_label("密码").fill(demo_logins["demo-street"])
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/login/totp**")
    audit("totp-setup")

    # After the close: the owner comes back with the card and reads the result.
    clock.now += timedelta(days=45)
    page.goto(f"{base}/c/{world.token}")
    audit("card-pin")
    card_login(page, base, world.token)
    page.goto(world.motion_url(base))
    page.locator("#result").wait_for()
    audit("result")
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/logged-out**")
    audit("logged-out")

    problems = {name: violations for name, violations in found.items() if violations}
    assert not problems, f"{page.viewport_name}: axe found serious or critical violations:\n" + \
        describe_violations(problems)
    cramped = {name: targets for name, targets in small.items() if targets}
    assert not cramped, f"{page.viewport_name}: touch targets under 44×44 px: {cramped}"
    assert not sideways, f"pages that scroll sideways at these widths (px): {sideways}"
