"""The printed side of 业主一卡通: the A4 card sheet (QR codes) and the sealed activation slips.

Pure rendering: dataclasses in, PDF bytes out; no database, no clock. Chinese is set in the Noto
Sans SC subset shipped in web/static/fonts/ (GB 2312 coverage), embedded as a font subset of the
glyphs used, so the PDF prints the same on any printer. QR codes are drawn as vector squares
(sharp at any printer resolution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF

from assembly.qr import dark_runs
from assembly.resources import web_dir

FONT_FILE = "NotoSansSC-Regular-GB2312.otf"
FONT = "noto-sc"
MISSING = "□"  # what a character outside the shipped font prints as

A4_W, A4_H = 210.0, 297.0
# ISO/IEC 7810 ID-1, the size of a bank card: it fits a wallet and a card holder.
CARD_W, CARD_H = 85.6, 54.0
CARD_COLS, CARD_ROWS, CARD_GAP_X, CARD_GAP_Y = 2, 4, 8.0, 6.0
SLIP_COLS, SLIP_ROWS = 2, 2  # four A6 slips per A4 sheet
BRAND = (164, 22, 26)  # the site's --brand red
INK, MUTED, LINE = (26, 26, 26), (80, 80, 80), (170, 170, 170)


@dataclass(frozen=True)
class CardFace:
    """What one printed card shows. `url` is the QR code's content ({site_url}/c/{token})."""

    number: str  # formatted, "0001 2345 6789"
    url: str
    holder: str  # the owner's name, masked (张*明)
    units: tuple[str, ...]
    estate: str
    issuer: str  # where a lost card is replaced (the residents' committee)


@dataclass(frozen=True)
class Slip:
    """One sealed slip: the addressee outside, the one-time activation code inside."""

    number: str
    activation_code: str  # formatted, "1234 5678"
    holder: str
    units: tuple[str, ...]
    estate: str
    issuer: str


def font_path() -> Path:
    return web_dir() / "static" / "fonts" / FONT_FILE


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    with TTFont(str(font_path()), lazy=True) as font:
        return frozenset(font.getBestCmap())


def printable(text: str) -> str:
    """`text` with every character the shipped font lacks replaced by □ (printing never fails)."""
    covered = _covered()
    return "".join(char if ord(char) in covered or char in "\n" else MISSING for char in text)


def units_line(units: Sequence[str], *, limit: int = 3) -> str:
    shown = "、".join(units[:limit])
    return f"{shown} 等 {len(units)} 套" if len(units) > limit else shown


class Sheet(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margin(0)
        self.add_font(FONT, fname=str(font_path()))
        self.set_title(title)
        self.set_creator("Assembly 业主共同决策平台")
        self.set_lang("zh-CN")

    def text_at(self, x: float, y: float, text: str, *, size: float, color=INK, width: float | None = None,
                align: str = "L") -> None:
        """One line of text with its top at (x, y), shrunk to fit `width` when given."""
        self.set_font(FONT, size=size)
        text = printable(text)
        if width is not None:
            while size > 4 and self.get_string_width(text) > width:
                size -= 0.25
                self.set_font(FONT, size=size)
        self.set_text_color(*color)
        self.set_xy(x, y)
        self.cell(w=width or self.get_string_width(text), h=size * 0.3528 * 1.25, text=text, align=align)

    def qr(self, x: float, y: float, size: float, content: str) -> None:
        """A QR code of `content`, `size` mm square, drawn as filled squares (no quiet zone: keep 4 modules free)."""
        modules, runs = dark_runs(content)
        module = size / modules
        overlap = module * 0.04  # adjacent squares overlap a hair, so no seams show when rasterised
        self.set_fill_color(0, 0, 0)
        for row, start, length in runs:
            self.rect(x + start * module, y + row * module, length * module + overlap, module + overlap, style="F")

    def dashed_box(self, x: float, y: float, w: float, h: float, *, radius: float = 0) -> None:
        self.set_draw_color(*LINE)
        self.set_line_width(0.2)
        self.set_dash_pattern(dash=1.5, gap=1.2)
        self.rect(x, y, w, h, round_corners=bool(radius), corner_radius=radius)
        self.set_dash_pattern()

    def page_header(self, line: str) -> None:
        self.text_at(12, 8, line, size=8, color=MUTED, width=A4_W - 24)


def _pages(items: Sequence, per_page: int) -> list[Sequence]:
    return [items[start : start + per_page] for start in range(0, len(items), per_page)] or [[]]


def card_sheet(faces: Sequence[CardFace], *, batch: str) -> bytes:
    """A4 sheets of cards, 2 × 4 per page, with cutting lines. The QR code is the card's URL."""
    estate = faces[0].estate if faces else ""
    pdf = Sheet(f"业主一卡通 · {estate} · 批次 {batch}")
    per_page = CARD_COLS * CARD_ROWS
    pages = _pages(list(faces), per_page)
    left = (A4_W - CARD_COLS * CARD_W - (CARD_COLS - 1) * CARD_GAP_X) / 2
    top = (A4_H - CARD_ROWS * CARD_H - (CARD_ROWS - 1) * CARD_GAP_Y) / 2
    for number, page_faces in enumerate(pages, 1):
        pdf.add_page()
        pdf.page_header(f"业主一卡通 · {estate} · 批次 {batch} · 第 {number}/{len(pages)} 页 · 共 {len(faces)} 张 · "
                        "沿虚线裁开；激活码密封条另行打印、分开发放")
        for position, face in enumerate(page_faces):
            x = left + (position % CARD_COLS) * (CARD_W + CARD_GAP_X)
            y = top + (position // CARD_COLS) * (CARD_H + CARD_GAP_Y)
            _card(pdf, x, y, face)
    return bytes(pdf.output())


def _card(pdf: Sheet, x: float, y: float, face: CardFace) -> None:
    pdf.dashed_box(x, y, CARD_W, CARD_H, radius=3)
    pdf.set_fill_color(*BRAND)
    pdf.rect(x, y, CARD_W, 9, style="F", round_corners=("TOP_LEFT", "TOP_RIGHT"), corner_radius=3)
    pdf.text_at(x + 3, y + 1.6, "业主一卡通", size=11, color=(255, 255, 255))
    pdf.text_at(x + 27, y + 2.6, face.estate, size=7.5, color=(255, 255, 255), width=CARD_W - 30, align="R")
    qr_size = 29.0
    pdf.qr(x + 3.5, y + 12.5, qr_size, face.url)
    right = x + 3.5 + qr_size + 4
    width = CARD_W - (right - x) - 3
    pdf.text_at(right, y + 11.5, "业主", size=6.5, color=MUTED)
    pdf.text_at(right, y + 14.2, face.holder, size=12, width=width)
    pdf.text_at(right, y + 21.5, "房屋", size=6.5, color=MUTED)
    pdf.text_at(right, y + 24.2, units_line(face.units), size=9, width=width)
    pdf.text_at(right, y + 30.5, "卡号", size=6.5, color=MUTED)
    pdf.text_at(right, y + 33.2, face.number, size=11, width=width)
    pdf.text_at(x + 3.5, y + 44, "用手机扫描二维码登录。首次使用需要另行密封发放的激活码和身份证号码后四位。", size=5.6,
                color=MUTED, width=CARD_W - 7)
    pdf.text_at(x + 3.5, y + 47.6, f"请妥善保管，勿拍照外传。遗失请到{face.issuer}补办，旧卡立即作废。", size=5.6,
                color=MUTED, width=CARD_W - 7)


def slip_sheet(slips: Sequence[Slip], *, batch: str) -> bytes:
    """A4 sheets of four A6 slips. Each is cut out, folded back along its dashed line so that the
    code faces the blank back of the addressee half, and sealed; a hatched block on the addressee
    half lies over the code, so it cannot be read against the light."""
    estate = slips[0].estate if slips else ""
    pdf = Sheet(f"激活码密封条 · {estate} · 批次 {batch}")
    slip_w, slip_h = A4_W / SLIP_COLS, A4_H / SLIP_ROWS
    pages = _pages(list(slips), SLIP_COLS * SLIP_ROWS)
    for number, page_slips in enumerate(pages, 1):
        pdf.add_page()
        for position, slip in enumerate(page_slips):
            x = (position % SLIP_COLS) * slip_w
            y = (position // SLIP_COLS) * slip_h
            _slip(pdf, x, y, slip_w, slip_h, slip, page=f"批次 {batch} · 第 {number}/{len(pages)} 页")
    return bytes(pdf.output())


def _hatch(pdf: Sheet, x: float, y: float, w: float, h: float) -> None:
    """A dense cross-hatch: printed over the spot where the folded-back code lies."""
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(0.35)
    step = 1.1
    offset = -h
    while offset < w:
        # Lines at ±45°, clipped to the box by hand (fpdf2 clipping is not needed for straight lines).
        x0, y0 = max(x, x + offset), y + max(0.0, -offset)
        x1, y1 = min(x + w, x + offset + h), y + min(h, w - offset)
        if x1 > x0:
            pdf.line(x0, y0, x1, y1)
            pdf.line(x0, y + h - (y0 - y), x1, y + h - (y1 - y))
        offset += step


def _slip(pdf: Sheet, x: float, y: float, w: float, h: float, slip: Slip, *, page: str) -> None:
    pad = 9.0
    inner = w - 2 * pad
    fold = y + h / 2
    pdf.dashed_box(x + 3, y + 3, w - 6, h - 6)
    # outside: the addressee
    pdf.text_at(x + pad, y + 8, f"{slip.estate} · {page}", size=6.5, color=MUTED, width=inner)
    pdf.text_at(x + pad, y + 12, "业主一卡通激活码 · 密封件", size=13, color=BRAND)
    pdf.text_at(x + pad, y + 20, f"收件人：{slip.holder}", size=10.5, width=inner)
    pdf.text_at(x + pad, y + 26, f"房屋：{units_line(slip.units)}", size=9.5, width=inner)
    pdf.text_at(x + pad, y + 31.5, f"业主一卡通 {slip.number}", size=9.5, width=inner)
    pdf.text_at(x + pad, y + 37, "仅限业主本人拆阅。如封口已被拆开，请勿使用，", size=7, color=MUTED, width=inner)
    pdf.text_at(x + pad, y + 40.5, f"请到{slip.issuer}补办（旧卡作废）。", size=7, color=MUTED, width=inner)
    # the fold
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.3)
    pdf.set_dash_pattern(dash=2, gap=1.5)
    pdf.line(x + 3, fold, x + w - 3, fold)
    pdf.set_dash_pattern()
    pdf.text_at(x + pad, fold - 3.6, "沿此虚线向后对折，印字朝外，封口", size=6, color=MUTED)
    # inside: the code, mirrored by the hatch above the fold
    code_top, code_bottom = fold + 14, fold + 30
    _hatch(pdf, x + pad, fold - (code_bottom - fold), inner, code_bottom - code_top)
    pdf.text_at(x + pad, fold + 6, f"卡号：{slip.number}", size=9.5, width=inner)
    pdf.text_at(x + pad, fold + 14, "激活码：", size=9.5)
    pdf.text_at(x + pad, fold + 19, slip.activation_code, size=24, width=inner)
    steps = (
        "1. 用手机扫描业主一卡通上的二维码；",
        "2. 输入上面的 8 位激活码和您身份证号码的后四位；",
        "3. 设置 6 位以上的数字 PIN，以后扫码输入 PIN 即可登录。",
        "激活码只能使用一次，激活后即失效。请勿告诉任何人，",
        "工作人员不会向您索要激活码或 PIN。",
    )
    for line, text in enumerate(steps):
        pdf.text_at(x + pad, fold + 33 + line * 4.6, text, size=7.5, color=INK if line < 3 else MUTED, width=inner)
