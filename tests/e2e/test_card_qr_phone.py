"""From a printed card to a logged-in phone, the way a person does it.

The demo residents' committee logs in on a desktop, ticks an owner on the print page and downloads
the card sheet and the sealed slips (two PDFs). The test rasterises the card sheet (pypdfium2),
decodes the QR code from the image (zxing-cpp) and follows it on a phone (390×844); the activation
code is read from the slip PDF's text, the identity number's last four from the demo's register.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from assembly import identity
from assembly.audit.models import AuditEntry
from assembly.config import get_settings
from assembly.db import unit_of_work
from assembly.demo import demo_rows, load_demo_access
from assembly.register.models import Person

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PIN = "480913"


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def rc_password(demo_engine):
    with unit_of_work(demo_engine) as session:
        access = load_demo_access(session, settings=get_settings())
    return {login.username: login.password for login in access.logins}["demo-rc"]


@pytest.fixture
def owner(demo_engine):
    """A demo owner of one unit in building 1, who has no card yet: pseudonym, unit, identity number."""
    settings = get_settings()
    held: dict[str, list[str]] = {}
    for row in demo_rows():
        if not row.developer:
            held.setdefault(row.id_number, []).append(row.unit)
    number, units = [(n, u) for n, u in held.items() if len(u) == 1 and u[0].startswith("1-")][9]
    with unit_of_work(demo_engine) as session:
        person = session.scalars(select(Person).where(Person.id_hash == identity.id_hash(settings.id_hash_key, number))).one()
        return {"pseudonym": person.pseudonym, "unit": units[0], "id_number": number,
                "masked": identity.mask_name(person.name), "name": person.name}


def _context(chromium, phone: bool):
    context = chromium.new_context(viewport=PHONE if phone else DESKTOP, locale="zh-CN", is_mobile=phone,
                                   has_touch=phone, device_scale_factor=2 if phone else 1, accept_downloads=True)
    page = context.new_page()
    page.viewport_name = "phone" if phone else "desktop"
    return context, page


def _download(page, button_id: str, target) -> bytes:
    with page.expect_download() as info:
        page.locator(f"#{button_id}").click()
    info.value.save_as(str(target))
    return target.read_bytes()


def test_a_printed_card_takes_the_owner_to_a_logged_in_phone(card_server, demo_engine, chromium, rc_password, owner,
                                                               screenshot, tmp_path):
    desk, desk_page = _context(chromium, phone=False)
    phone, phone_page = _context(chromium, phone=True)
    try:
        # the residents' committee prints the owner's card and slip
        desk_page.goto(f"{card_server.url}/login?next=/estate/demo/cards")
        desk_page.get_by_label("用户名").fill("demo-rc")
        desk_page.get_by_label("密码").fill(rc_password)
        desk_page.get_by_role("button", name="登录").click()
        desk_page.wait_for_url("**/estate/demo/cards")
        assert desk_page.get_by_role("heading", level=1).inner_text() == "打印业主一卡通"
        box = desk_page.locator(f"#p-{owner['pseudonym']}")
        box.check()
        box.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desk_page.screenshot(path=str(ARTIFACTS / "card-print-desktop.png"))  # the viewport: the list is long
        desk_page.get_by_role("button", name="打印所选业主的卡").click()
        assert desk_page.get_by_role("heading", level=1).inner_text() == "已发卡 1 张"
        cards_pdf = _download(desk_page, "download-cards", tmp_path / "cards.pdf")
        slips_pdf = _download(desk_page, "download-slips", tmp_path / "slips.pdf")
        assert cards_pdf.startswith(b"%PDF") and slips_pdf.startswith(b"%PDF")

        # the card as printed: rasterise the page and read the QR code from the picture
        sheet = pdfium.PdfDocument(cards_pdf)
        image = sheet[0].render(scale=300 / 72).to_pil()  # 300 dpi, as a printer would
        image.save(ARTIFACTS / "card-sheet.png")
        width, height = image.size
        first_card = image.crop((int(width * 0.060), int(height * 0.098), int(width * 0.486), int(height * 0.293)))
        first_card.save(ARTIFACTS / "card-front.png")
        decoded = zxingcpp.read_barcodes(image)
        assert [result.format for result in decoded] == [zxingcpp.BarcodeFormat.QRCode]
        url = decoded[0].text
        assert re.fullmatch(re.escape(card_server.url) + r"/c/ac_[A-Za-z0-9_-]{22,64}", url)
        text = sheet[0].get_textpage().get_text_range()
        assert owner["masked"] in text and owner["name"] not in text and owner["unit"] in text

        # the slip: card number and activation code, read from the PDF's text
        slip_text = pdfium.PdfDocument(slips_pdf)[0].get_textpage().get_text_range()
        found = re.search(r"卡号：(\d{4} \d{4} \d{4})\s*激活码：\s*(\d{4} \d{4})", slip_text)
        assert found, slip_text
        assert found.group(1) in text  # the slip belongs to this card
        code = found.group(2)

        # the owner scans the card with the phone
        phone_page.goto(url)
        assert phone_page.get_by_role("heading", level=2).inner_text() == "第一次使用：激活"
        assert phone_page.locator("#card-number").inner_text() == found.group(1)
        screenshot(phone_page, "card-scan")
        phone_page.get_by_label("激活码（8 位数字）").fill(code)
        phone_page.get_by_label("身份证号码后四位").fill(owner["id_number"][-4:])
        phone_page.get_by_role("button", name="下一步").click()
        phone_page.wait_for_url(url)
        assert phone_page.get_by_role("heading", level=2).inner_text() == "设置 PIN"
        phone_page.get_by_label("新 PIN（6–12 位数字）").fill(PIN)
        phone_page.get_by_label("再次输入 PIN").fill(PIN)
        phone_page.get_by_role("button", name="完成并登录").click()
        phone_page.wait_for_url("**/me?welcome=1")
        assert phone_page.get_by_role("heading", level=1).inner_text() == f"{owner['masked']}，您好"
        assert owner["unit"] in phone_page.locator("#units + ul").inner_text()
        assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(phone_page, "card-logged-in")

        # the slip's code was good once: the same card now asks for the PIN
        phone_page.get_by_role("button", name="退出登录").click()
        phone_page.wait_for_url("**/logged-out?who=owner")
        phone_page.goto(url)
        assert phone_page.get_by_role("heading", level=2).inner_text() == "输入 PIN 登录"

        # both handovers are entries of the estate's audit log, naming the card, never the code or token
        with unit_of_work(demo_engine) as session:
            logged = {kind: json.loads(bytes(body)) for kind, body in session.execute(
                select(AuditEntry.type, AuditEntry.body).where(AuditEntry.type.in_(["cards.printed", "slips.printed"])))}
        assert set(logged) == {"cards.printed", "slips.printed"}
        assert all(entry["cards"] == [found.group(1).replace(" ", "")] for entry in logged.values())
        assert code.replace(" ", "") not in json.dumps(logged) and url.rsplit("/", 1)[1] not in json.dumps(logged)
    finally:
        desk.close()
        phone.close()
