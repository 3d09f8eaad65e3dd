"""The proxy's login slip 代理人登录单 as a PDF (A4, one slip, Chinese in the shipped font): the
estate, the meeting, the proxy's name, the code in large type and a QR code of the login page.

Nothing is stored to make it: the committee member's browser, which was shown the code once,
posts it back; the route checks it against the argon2id hash before printing.
"""

from __future__ import annotations

from assembly.pdf import BRAND, INK, MUTED, Sheet

SLIP_STEPS = (
    "1. 用手机打开上面的网址，或扫描右侧二维码；",
    "2. 输入本单上的登录码和您身份证号码的后四位；",
    "3. 登录后可以看到您代理的业主，并逐项代为投票。",
    "登录码只适用于本次会议。业主本人投票的，以业主本人的投票为准。",
    "请妥善保管，勿告诉他人；遗失请联系业主委员会补发，旧码立即作废。",
)


def slip_pdf(*, estate: str, meeting: str, proxy_name: str, code: str, login_url: str, issued: str) -> bytes:
    pdf = Sheet(f"代理人登录单 · {estate} · {meeting}")
    pdf.add_page()
    x, width = 20.0, 170.0
    pdf.dashed_box(12, 12, 186, 130, radius=3)
    pdf.text_at(x, 20, "代理人登录单", size=20, color=BRAND)
    pdf.text_at(x, 32, f"{estate} · {meeting}", size=11, width=width)
    pdf.text_at(x, 42, f"代理人：{proxy_name}", size=12, width=120)
    pdf.text_at(x, 52, "登录码", size=9, color=MUTED)
    pdf.text_at(x, 57, code, size=26, color=INK, width=125)
    pdf.text_at(x, 72, "登录网址", size=9, color=MUTED)
    pdf.text_at(x, 77, login_url, size=11, width=125)
    pdf.qr(150, 45, 36, login_url)
    for line, text in enumerate(SLIP_STEPS):
        pdf.text_at(x, 92 + line * 6, text, size=9.5, color=INK if line < 3 else MUTED, width=width)
    pdf.text_at(x, 126, f"业主委员会确认授权委托后发放 · {issued}", size=8, color=MUTED, width=width)
    return bytes(pdf.output())
