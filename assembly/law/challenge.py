"""The year in which an owner may ask a court to revoke a decision 撤销权的一年期间, as a pure function
(no clock, no database): what the platform keeps for a possible case is kept at least that long.

- 法释〔2009〕7号 Art. 12 (as amended 2020): an owner asks the court to revoke a decision within a
  year of the day they knew or should have known of it; the announcement 公告 is that day at the
  latest for every owner of the estate.
- 民法典 Art. 201: the day of the announcement is not counted; Art. 202: a period in years ends on the
  corresponding day (the last day of the month when there is none: 29 February → 28 February);
  Art. 203: a last day that is a 法定休假日 moves to the first working day after, and ends at 24:00.
We count the year from the day after the announcement to the same day a year on (announced 1 March
2026 → last day 2 March 2027): of the two readings of "corresponding day" the later one, so that
nothing is erased while a court could still take the case.
"""

from __future__ import annotations

import calendar as months
import datetime as dt

from assembly.law.notice import CHINA, LOCAL, CalendarNotCovered, HolidayCalendar

BASIS = "法释〔2009〕7号第十二条、《民法典》第二百零一条至第二百零三条"
# When the holiday calendar does not cover the last day's year yet, its rest days cannot be known:
# wait this many days more, longer than any run of rest days China's calendar has had (the Spring
# Festival and National Day weeks run 8 or 9 days with the weekends next to them).
UNKNOWN_REST_DAYS = 15


def _year_on(day: dt.date) -> dt.date:
    """The corresponding day a year on (Art. 202); 29 February → the month's last day."""
    year = day.year + 1
    return dt.date(year, day.month, min(day.day, months.monthrange(year, day.month)[1]))


def challenge_year_ends(announced: dt.datetime, *, calendar: HolidayCalendar | None = None) -> dt.datetime:
    """00:00 Asia/Shanghai after the last day on which an owner may still sue over a decision
    announced at `announced` (aware), as an aware UTC datetime."""
    if announced.tzinfo is None:
        raise ValueError("the announcement time must be timezone-aware")
    calendar = calendar or CHINA
    counted = _year_on(announced.astimezone(LOCAL).date() + dt.timedelta(days=1))
    last = counted
    try:
        while calendar.rest_day(last):
            last += dt.timedelta(days=1)
    except CalendarNotCovered:
        last = counted + dt.timedelta(days=UNKNOWN_REST_DAYS)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), LOCAL).astimezone(dt.UTC)
