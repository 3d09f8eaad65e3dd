"""Printing owner cards: the PDFs (font, QR codes, masked names), the batch service (issue or reissue,
who may), the single-use downloads and their audit entries, and bad input answered without a 500."""

from __future__ import annotations

import json
import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import func, select

from assembly import pdf
from assembly.audit.models import AuditEntry
from assembly.auth import cards, pickups, printing
from assembly.auth.errors import CardRevoked
from assembly.auth.models import OwnerCard
from assembly.db import unit_of_work
from assembly.errors import Forbidden, InvalidInput
from assembly.identity import mask_name
from assembly.permissions import Role

ESTATE = "和谐家园（示范小区）"


def _pages(document: bytes) -> list:
    return list(pdfium.PdfDocument(document))


def _text(document: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in _pages(document))


def _qr_urls(document: bytes) -> list[str]:
    urls = []
    for page in _pages(document):
        urls += [result.text for result in zxingcpp.read_barcodes(page.render(scale=2).to_pil())]
    return urls


def slips_of(document: bytes) -> dict[str, str]:
    """card number → activation code, as printed on the inside of each slip."""
    pairs = re.findall(r"卡号：(\d{4} \d{4} \d{4})\s*激活码：\s*(\d{4} \d{4})", _text(document))
    return {number.replace(" ", ""): code.replace(" ", "") for number, code in pairs}


def _face(index: int, **changes) -> pdf.CardFace:
    values = dict(number=f"0001 2345 67{index:02d}", url=f"https://assembly.example/c/ac_{'k' * 26}{index:02d}",
                  holder="张*明", units=("1-1-101",), estate=ESTATE, issuer="花家地社区居民委员会")
    values.update(changes)
    return pdf.CardFace(**values)


# --- the documents -----------------------------------------------------------------------------------


def test_card_sheet_is_a4_with_eight_cards_a_page_and_every_qr_code_decodes_to_its_card_url():
    faces = [_face(index) for index in range(11)]
    document = pdf.card_sheet(faces, batch="20261123-ABCDEF")
    pages = _pages(document)
    assert len(pages) == 2
    width, height = pages[0].get_size()  # points
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    assert sorted(_qr_urls(document)) == sorted(face.url for face in faces)
    text = _text(document)
    assert text.count("张*明") == 11 and "0001 2345 6710" in text and ESTATE in text
    assert "批次 20261123-ABCDEF" in text


def test_the_chinese_font_is_embedded_from_the_project_not_the_system():
    document = pdf.card_sheet([_face(0)], batch="B")
    assert pdf.font_path().is_file() and (pdf.font_path().parent / "OFL.txt").is_file()
    assert pdf.font_path().stat().st_size < 3_000_000  # a GB 2312 subset, not the whole CJK font
    assert b"/FontFile3" in document or b"/FontFile2" in document  # the glyphs travel with the PDF
    assert re.search(rb"/BaseFont /[A-Z]{6}\+NotoSansCJKSC", document)  # a subset of the shipped font


def test_many_units_are_shortened_and_characters_outside_the_font_print_as_a_box():
    faces = [_face(0, units=("1-1-101", "1-1-102", "2-1-101", "3-1-101", "4-1-101"), holder="𠀾*明")]
    text = _text(pdf.card_sheet(faces, batch="B"))
    assert "1-1-101、1-1-102、2-1-101 等 5 套" in text
    assert "□*明" in text and "𠀾" not in text
    assert pdf.printable("张建国 1-1-101 ㎡") == "张建国 1-1-101 ㎡"


def test_slips_carry_each_cards_number_and_code_inside_and_the_addressee_outside():
    slips = [pdf.Slip(f"0001 2345 67{i:02d}", f"{i:04d} 567{i}", "李*英", ("1-1-102",), ESTATE, "居委会")
             for i in range(5)]
    document = pdf.slip_sheet(slips, batch="B")
    assert len(_pages(document)) == 2  # four a page
    assert slips_of(document) == {f"0001234567{i:02d}": f"{i:04d}567{i}" for i in range(5)}
    assert _text(document).count("收件人：李*英") == 5


# --- the batch service ------------------------------------------------------------------------------


@pytest.fixture
def rc(session, world, kit):
    return kit.principal(session, kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-print"))


def test_a_batch_issues_new_cards_and_reissues_cards_in_force(session, world, kit, rc, settings):
    first, second = world.alpha.owners[0], world.alpha.owners[3]
    old = cards.issue_card(session, person=second.person, issued_by=rc, now=kit.T0)
    batch = printing.print_cards(session, estate=world.alpha.estate, persons=[first.person, second.person], by=rc,
                                 site_url="https://assembly.example", now=kit.T0)
    assert len(batch.numbers) == 2 and batch.reissued == (old.card.number,)
    with pytest.raises(CardRevoked):
        cards.card_by_token(session, old.token)  # the reprinted card's old token stops at once
    urls = _qr_urls(batch.cards_pdf)
    assert len(urls) == 2 and all(url.startswith("https://assembly.example/c/ac_") for url in urls)
    in_force = {card.number for card in session.scalars(select(OwnerCard).where(OwnerCard.revoked_at.is_(None)))}
    assert set(batch.numbers) <= in_force
    codes = slips_of(batch.slips_pdf)
    assert set(codes) == set(batch.numbers)
    # the printed pair works: the token from the QR code and the code from the slip activate the card
    token = urls[0].rsplit("/", 1)[1]
    card = cards.card_by_token(session, token)
    attempt = cards.check_activation(session, settings=settings, card=card, activation_code=codes[card.number],
                                     id_tail=(first if card.person_id == first.person.id else second).tail,
                                     ip=None, now=kit.T0)
    assert attempt.ok
    text = _text(batch.cards_pdf)
    assert mask_name(first.person.name) in text and first.person.name not in text  # names masked


@pytest.mark.parametrize("role", [Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, Role.COMMITTEE_STAFF, Role.OBSERVER,
                                  Role.ADMIN])
def test_only_the_residents_committee_and_street_office_print(session, world, kit, role):
    by = kit.principal(session, kit.make_account(session, role, world, username=f"p-{role.value.replace('_', '-')}"))
    with pytest.raises(Forbidden):
        printing.print_cards(session, estate=world.alpha.estate, persons=[world.alpha.owners[0].person], by=by,
                             site_url="http://x", now=kit.T0)
    assert session.scalars(select(OwnerCard)).first() is None


def test_another_estates_staff_cannot_print_here(session, world, kit):
    beta_rc = kit.principal(session, kit.make_account(session, Role.RESIDENTS_COMMITTEE, world, username="rc-beta",
                                                      estates=[world.beta.estate]))
    with pytest.raises(Forbidden):
        printing.print_cards(session, estate=world.alpha.estate, persons=[world.alpha.owners[0].person], by=beta_rc,
                             site_url="http://x", now=kit.T0)


def test_empty_and_oversized_batches_are_refused(session, world, kit, rc, monkeypatch):
    with pytest.raises(InvalidInput, match="至少选择"):
        printing.print_cards(session, estate=world.alpha.estate, persons=[], by=rc, site_url="http://x", now=kit.T0)
    monkeypatch.setattr(printing, "MAX_BATCH", 2)
    with pytest.raises(InvalidInput, match="最多打印 2 张"):
        printing.print_cards(session, estate=world.alpha.estate, persons=[o.person for o in world.alpha.owners],
                             by=rc, site_url="http://x", now=kit.T0)


def test_owners_of_record_lists_units_and_cards_in_unit_order(session, world, kit, rc):
    issued = cards.issue_card(session, person=world.alpha.owners[3].person, issued_by=rc, now=kit.T0)
    rows = printing.owners_of_record(session, estate=world.alpha.estate)
    assert [row.units for row in rows] == [("1-1-101",), ("1-1-102",), ("1-1-102",), ("1-1-103", "1-1-104")]
    assert [row.card.number if row.card else None for row in rows] == [None, None, None, issued.card.number]
    assert printing.buildings(session, estate=world.alpha.estate) == ["1"]


# --- the pages: print, download once, audit ---------------------------------------------------------


def _staff(web, kit, role=Role.RESIDENTS_COMMITTEE, username="rc-web", **options):
    with web.session() as session:
        account = kit.make_account(session, role, web.world, username=username, **options)
        secret = kit.enrol_totp(session, account) if role in (Role.STREET_OFFICE, Role.ADMIN) else None
    return web.login(username, secret=secret)


def _print(web, kit, client, pseudonyms, **fields):
    data = {"person": pseudonyms, "mode": "checked", **fields}
    return client.post("/estate/alpha/cards/print", data=data, headers={"X-CSRF-Token": kit.api_csrf(client)})


def _pickups(response) -> dict[str, str]:
    found = re.findall(r'name="pickup" value="([^"]+)"', response.text)
    assert len(found) == 2, response.text[:500]
    return {"cards": found[0], "slips": found[1]}


def _download(kit, client, token):
    return client.post("/estate/alpha/cards/download", data={"pickup": token},
                       headers={"X-CSRF-Token": kit.api_csrf(client)})


def _cards(session, *, in_force: bool = False) -> int:
    query = select(func.count()).select_from(OwnerCard)
    return session.scalar(query.where(OwnerCard.revoked_at.is_(None)) if in_force else query)


def _entries(web, type_: str) -> list[dict]:
    with web.session() as session:
        bodies = session.scalars(select(AuditEntry.body).where(AuditEntry.type == type_).order_by(AuditEntry.idx))
        return [json.loads(bytes(body)) for body in bodies]


def test_print_page_lists_the_owners_of_record_with_checkboxes(web, kit):
    client = _staff(web, kit)
    page = client.get("/estate/alpha/cards")
    assert page.status_code == 200
    boxes = re.findall(r'type="checkbox" id="[^"]+" name="person" value="([^"]+)"', page.text)
    assert boxes == [owner.person.pseudonym for owner in web.world.alpha.owners]
    assert mask_name(web.world.alpha.owners[0].person.name) in page.text
    assert web.world.alpha.owners[0].person.name not in page.text
    assert "4 位，其中 4 位尚未发卡" in page.text


def test_print_then_download_each_document_once_with_an_audit_entry_each(web, kit):
    client = _staff(web, kit)
    owners = web.world.alpha.owners[:2]
    response = _print(web, kit, client, [owner.person.pseudonym for owner in owners])
    assert response.status_code == 200 and "已发卡 2 张" in response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = _pickups(response)
    assert not _entries(web, "cards.printed")  # nothing handed over yet

    sheet = _download(kit, client, tokens["cards"])
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "application/pdf"
    assert sheet.headers["content-disposition"].startswith('attachment; filename="owner-cards-')
    assert sheet.headers["cache-control"] == "no-store"
    urls = _qr_urls(sheet.content)
    assert len(urls) == 2 and all(url.startswith("http://testserver/c/ac_") for url in urls)

    again = _download(kit, client, tokens["cards"])
    assert again.status_code == 410 and "只能下载一次" in again.text

    slips = _download(kit, client, tokens["slips"])
    assert slips.status_code == 200
    codes = slips_of(slips.content)
    assert len(codes) == 2

    [printed] = _entries(web, "cards.printed")
    [sealed] = _entries(web, "slips.printed")
    assert printed["count"] == sealed["count"] == 2
    assert sorted(printed["cards"]) == sorted(sealed["cards"]) == sorted(codes)
    assert printed["batch"] == sealed["batch"] and printed["actor"]["role"] == "residents_committee"
    assert printed["reissued"] == []
    # never a code or a token in the log
    with web.session() as session:
        everything = b"".join(bytes(body) for body in session.scalars(select(AuditEntry.body)))
    for secret in [*codes.values(), *(url.rsplit("/", 1)[1] for url in urls), tokens["cards"], tokens["slips"]]:
        assert secret.encode() not in everything


def test_the_downloads_belong_to_the_session_that_printed_and_expire(web, kit):
    client = _staff(web, kit)
    tokens = _pickups(_print(web, kit, client, [web.world.alpha.owners[0].person.pseudonym]))
    colleague = _staff(web, kit, username="rc-colleague")
    assert _download(kit, colleague, tokens["cards"]).status_code == 410  # another login, same estate and role
    assert _download(kit, client, tokens["cards"]).status_code == 200  # still there for the one who printed
    web.clock.advance(minutes=11)
    gone = _download(kit, client, tokens["slips"])
    assert gone.status_code == 410 and "10 分钟" in gone.text
    assert not _entries(web, "slips.printed")
    with unit_of_work(web.engine) as session:
        assert pickups.waiting(session) == 1  # the unclaimed slips, sealed, until the job runner purges them
        assert pickups.purge(session, now=web.clock.now) == 1
        assert pickups.waiting(session) == 0  # nothing of the batch is held any longer


def test_reprinting_reissues_and_the_old_card_stops_working(web, kit):
    client = _staff(web, kit)
    owner = web.world.alpha.owners[0]
    first = _pickups(_print(web, kit, client, [owner.person.pseudonym]))
    old_url = _qr_urls(_download(kit, client, first["cards"]).content)[0]
    second = _print(web, kit, client, [owner.person.pseudonym])
    assert "补办了 1 张" in second.text
    new_url = _qr_urls(_download(kit, client, _pickups(second)["cards"]).content)[0]
    assert new_url != old_url
    assert client.get(old_url.removeprefix("http://testserver")).status_code == 410
    assert client.get(new_url.removeprefix("http://testserver")).status_code == 200
    [_, reprint] = _entries(web, "cards.printed")
    assert len(reprint["reissued"]) == 1 and reprint["reissued"] != reprint["cards"]


def test_print_all_without_a_card_skips_owners_who_have_one(web, kit):
    client = _staff(web, kit)
    _print(web, kit, client, [web.world.alpha.owners[0].person.pseudonym])
    response = _print(web, kit, client, [], mode="all_new")
    assert "已发卡 3 张" in response.text
    with web.session() as session:
        assert _cards(session, in_force=True) == 4


@pytest.mark.parametrize(
    ("pseudonyms", "status", "message"),
    [
        ([], 422, "请至少选择一位业主"),
        (["p0000000000000000"], 404, "所选业主不在本小区名册中"),
        (["<script>"], 404, "所选业主不在本小区名册中"),
    ],
)
def test_bad_choices_get_a_chinese_message_and_issue_nothing(web, kit, pseudonyms, status, message):
    client = _staff(web, kit)
    response = _print(web, kit, client, pseudonyms)
    assert response.status_code == status and message in response.text
    with web.session() as session:
        assert _cards(session) == 0


def test_another_estates_owner_cannot_be_printed_here(web, kit):
    client = _staff(web, kit)
    response = _print(web, kit, client, [web.world.beta.owners[0].person.pseudonym])
    assert response.status_code == 404
    with web.session() as session:
        assert _cards(session) == 0


def test_too_many_chosen_is_refused_without_a_500(web, kit):
    client = _staff(web, kit)
    response = _print(web, kit, client, [f"p{index:016x}" for index in range(printing.MAX_BATCH + 1)])
    assert response.status_code == 422 and "一次最多打印" in response.text
    flood = _print(web, kit, client, [f"p{index:016x}" for index in range(3 * printing.MAX_BATCH)])
    assert flood.status_code == 422


@pytest.mark.parametrize("token", ["", "dl_forged", "x" * 900])
def test_forged_or_empty_download_tokens_are_gone(web, kit, token):
    client = _staff(web, kit)
    response = _download(kit, client, token)
    assert response.status_code == 410 and "下载已失效" in response.text
    api_style = client.post("/estate/alpha/cards/download", data={"pickup": token},
                            headers={"X-CSRF-Token": kit.api_csrf(client), "Accept": "application/json"})
    assert api_style.status_code == 410 and api_style.json()["error"]["code"] == "download_gone"


def test_the_committee_never_sees_the_print_page(web, kit):
    client = _staff(web, kit, role=Role.COMMITTEE_CHAIR, username="chair-print")
    assert client.get("/estate/alpha/cards").status_code == 403
    assert _print(web, kit, client, [web.world.alpha.owners[0].person.pseudonym]).status_code == 403
