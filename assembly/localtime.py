"""Times as people in the estate read them: Asia/Shanghai, in the platform's two Chinese forms."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def stamp(moment: datetime) -> str:
    """2026年03月01日 10:02: notices to the residents' committee, pages, refusals."""
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def month_day_time(moment: datetime) -> str:
    """11月24日 10:02: the short form owner notices use."""
    local = moment.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日 {local:%H:%M}"
