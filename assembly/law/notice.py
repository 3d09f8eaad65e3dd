"""The notice period 公告期 as pure functions (no clock, no database): when voting may open at the
earliest after a notice was given, counted as the Civil Code counts periods.

- 物业管理条例 Art. 14: the meeting is notified to all owners 15 days before it is held.
- 民法典 Art. 201: a period counted in days starts the day after the notice (its day is not counted).
- 民法典 Art. 203 ¶1: when the period's last day is a 法定休假日, the day after the rest days ends is
  the last day; ¶2: the last day ends at 24:00.
Rest days are those of China's official calendar (weekends and statutory holidays, less the
adjusted working days 调休上班), read from the maintained `chinese-calendar` package; a year it
does not cover is refused, never guessed. Days are counted in China's one legal time, Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from chinese_calendar import constants as official

LOCAL = ZoneInfo("Asia/Shanghai")  # 北京时间: the one legal time of the whole country
NOTICE_DAYS = 15  # 物业管理条例第十四条：会议召开15日以前通知全体业主，并同时告知居委会
BASIS = "《物业管理条例》第十四条、《民法典》第二百零一条、第二百零三条"


class CalendarNotCovered(ValueError):
    """The holiday calendar has no data for a day the period needs: refuse rather than guess."""

    def __init__(self, day: dt.date, first: int, last: int) -> None:
        self.day, self.first, self.last = day, first, last
        super().__init__(
            f"通知期的最后一日 {day:%Y年%m月%d日} 所在年份的法定节假日安排尚未收入平台的节假日日历"
            f"（目前收录 {first}–{last} 年），无法按《民法典》第二百零三条确定通知期届满之日；"
            f"请平台运营方更新节假日日历（chinese-calendar）后再试"
            f" / the holiday calendar covers {first}-{last} only: the notice period ending {day:%Y-%m-%d}"
            f" cannot be computed until the platform's holiday calendar is updated")


@dataclass(frozen=True)
class HolidayCalendar:
    """China's rest days: weekends and statutory holidays, less the adjusted working days, for the
    years the data covers (`first`..`last`)."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]  # weekend days made working days 调休上班
    first: int
    last: int

    def rest_day(self, day: dt.date) -> bool:
        """Whether `day` is a 法定休假日 (weekend or statutory holiday, not an adjusted working day)."""
        if not self.first <= day.year <= self.last:
            raise CalendarNotCovered(day, self.first, self.last)
        if day in self.workdays:
            return False
        return day in self.holidays or day.weekday() >= 5


def official_calendar() -> HolidayCalendar:
    """The packaged calendar, as the `chinese-calendar` release pinned in requirements/runtime.txt has it."""
    years = [day.year for day in official.holidays]
    return HolidayCalendar(frozenset(official.holidays), frozenset(official.workdays), min(years), max(years))


CHINA = official_calendar()


@dataclass(frozen=True)
class NoticePeriod:
    """The notice period that runs from one notice."""

    given: dt.datetime  # when the notice was given (published, posted or sent)
    counted_last_day: dt.date  # the 15th day after the notice's day
    last_day: dt.date  # after Art. 203 ¶1: the first working day once the rest days after it end
    earliest_open: dt.datetime  # 00:00 local time the day after `last_day`, as an aware UTC datetime

    @property
    def extended(self) -> bool:
        """True when the last day fell on rest days and the period runs on to a working day."""
        return self.last_day != self.counted_last_day


def notice_period(given: dt.datetime, *, days: int = NOTICE_DAYS,
                  calendar: HolidayCalendar | None = None) -> NoticePeriod:
    """The period from a notice given at `given` (aware): the day of the notice is not counted,
    `days` calendar days follow; a last day that is a rest day moves to the first working day after
    the rest days; the period ends at 24:00 of its last day, so voting opens at 00:00 the next day.
    Published 1 March 2026 (a Sunday) → last day Monday 16 March → voting from 17 March 00:00.
    CalendarNotCovered when the calendar does not cover the days needed."""
    if given.tzinfo is None:
        raise ValueError("the notice time must be timezone-aware")
    calendar = calendar or CHINA
    counted = given.astimezone(LOCAL).date() + dt.timedelta(days=days)
    last = counted
    while calendar.rest_day(last):
        last += dt.timedelta(days=1)
    opens = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), LOCAL).astimezone(dt.UTC)
    return NoticePeriod(given, counted, last, opens)


def earliest_open(*given: dt.datetime, calendar: HolidayCalendar | None = None) -> dt.datetime:
    """The first moment voting may open when the period must have run from every one of these
    notices (to all owners, to the residents' committee, posted in the estate): the latest of
    their periods' ends."""
    return max(notice_period(moment, calendar=calendar).earliest_open for moment in given)
