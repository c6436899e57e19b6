"""The working calendar: when a province's offices are open (docs/CRITERIA.md, "Working time").

A commune is judged against its centre's opening hours: its PCs are switched off after work,
so silence at night or on a holiday says nothing about its readiness. Each province has an
:class:`OfficeCalendar`: sessions per weekday (by default the civil service's Monday to Friday,
07:30-11:30 and 13:30-17:00, ``Asia/Ho_Chi_Minh``), Vietnam's public holidays from the
``holidays`` package (lunar Tết and the Hùng Kings' day included), and the province's own
extra days off and make-up working days (a make-up day keeps Monday's sessions).

Pure: no database and no clock. Every answer is for an instant passed in, so the rules are
tested with plain data; intervals are computed per local day and cached.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

#: A session of one day: (opens, closes), local wall-clock times; ``closes`` may be
#: ``time.max`` for "until midnight".
Session = tuple[time, time]

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
#: The civil service's working day: 8 hours, Monday to Friday.
CIVIL_SERVICE_DAY: tuple[Session, ...] = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
#: Sessions per weekday, Monday first.
CIVIL_SERVICE_WEEK: tuple[tuple[Session, ...], ...] = (CIVIL_SERVICE_DAY,) * 5 + ((), ())
ROUND_THE_CLOCK_WEEK: tuple[tuple[Session, ...], ...] = (((time(0, 0), time.max),),) * 7

#: How far a search for the next or previous session goes before giving up (a calendar with
#: no session at all never has one).
_HORIZON_DAYS = 400


@lru_cache(maxsize=32)
def public_holidays(year: int) -> frozenset[date]:
    """Vietnam's public holidays of ``year`` (days off, substituted days included)."""
    return frozenset(holidays.country_holidays("VN", years=year))


@dataclass(frozen=True)
class OfficeCalendar:
    """One province's working time."""

    #: Sessions per weekday, Monday (0) to Sunday (6).
    week: tuple[tuple[Session, ...], ...] = CIVIL_SERVICE_WEEK
    timezone: str = DEFAULT_TIMEZONE
    #: Extra days off of the province (besides the public holidays).
    days_off: frozenset[date] = frozenset()
    #: Make-up working days (e.g. a Saturday worked for a bridged holiday): Monday's sessions.
    working_days: frozenset[date] = frozenset()
    #: Whether Vietnam's public holidays are days off (a round-the-clock calendar says no).
    public_holidays: bool = True

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has 7 days of sessions, Monday first")
        ZoneInfo(self.timezone)  # an unknown zone is refused here, not at the first report

    def sessions_on(self, day: date) -> tuple[Session, ...]:
        """The sessions of a local day."""
        if day in self.working_days:
            return self.week[0] or CIVIL_SERVICE_DAY
        if day in self.days_off or (self.public_holidays and day in public_holidays(day.year)):
            return ()
        return self.week[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.sessions_on(day))

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The sessions of a local day as UTC instants."""
        return _intervals(self, day)

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(ZoneInfo(self.timezone)).date()

    def forward(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Sessions that end after ``instant``, earliest first."""
        day = self._local_day(instant)
        for n in range(_HORIZON_DAYS):
            for start, end in self.intervals(day + timedelta(days=n)):
                if end > instant:
                    yield start, end

    def backward(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Sessions that start before ``instant``, latest first."""
        day = self._local_day(instant)
        for n in range(_HORIZON_DAYS):
            for start, end in reversed(self.intervals(day - timedelta(days=n))):
                if start < instant:
                    yield start, end

    def is_working_time(self, instant: datetime) -> bool:
        return any(s <= instant < e for s, e in self.intervals(self._local_day(instant)))

    def next_boundary(self, instant: datetime) -> datetime | None:
        """The next instant after ``instant`` at which working time starts or ends."""
        for start, end in self.forward(instant):
            return start if start > instant else end
        return None

    def previous_boundary(self, instant: datetime) -> datetime | None:
        """The latest instant at or before ``instant`` at which working time started or
        ended."""
        for start, end in self.backward(instant):
            return end if end <= instant else start
        return None

    def working_seconds(self, start: datetime, end: datetime, cap: float | None = None) -> float:
        """Seconds of working time between ``start`` and ``end``; counting stops once past
        ``cap`` (enough to tell "more than")."""
        total = 0.0
        if end <= start:
            return total
        for s, e in self.backward(end):
            if e <= start:
                break
            total += (min(e, end) - max(s, start)).total_seconds()
            if cap is not None and total > cap:
                break
        return total

    def is_silent(self, last: datetime | None, now: datetime, stale_after_s: float) -> bool:
        """Whether something last heard from at ``last`` is silent at ``now``: more than
        ``stale_after_s`` seconds of working time have passed since."""
        if last is None:
            return True
        if (now - last).total_seconds() <= stale_after_s:
            return False
        return self.working_seconds(last, now, cap=stale_after_s) > stale_after_s

    def after_working(self, start: datetime, seconds: float) -> datetime | None:
        """The instant at which ``seconds`` of working time have passed since ``start``."""
        left = timedelta(seconds=seconds)
        for s, e in self.forward(start):
            begin = max(s, start)
            if e - begin >= left:
                return begin + left
            left -= e - begin
        return None

    def after_working_days(self, start: datetime, days: int) -> datetime | None:
        """The local midnight that ends the ``days``-th working day after ``start``'s own
        day: when something silent since ``start`` has missed ``days`` whole working days
        (a holiday or a weekend does not count). None if the calendar has too few working
        days ahead."""
        return _after_working_days(self, self._local_day(start), days)


@lru_cache(maxsize=8192)
def _after_working_days(cal: OfficeCalendar, day: date, days: int) -> datetime | None:
    """:meth:`OfficeCalendar.after_working_days` of a local day (the same for every host
    last heard from that day: the national pass asks it for thousands)."""
    left = days
    for n in range(1, _HORIZON_DAYS):
        if cal.is_working_day(day + timedelta(days=n)):
            left -= 1
            if left <= 0:
                end = day + timedelta(days=n + 1)
                return datetime.combine(end, time(), ZoneInfo(cal.timezone)).astimezone(UTC)
    return None


@lru_cache(maxsize=8192)
def _intervals(cal: OfficeCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    tz = ZoneInfo(cal.timezone)
    out = []
    for opens, closes in cal.sessions_on(day):
        start = datetime.combine(day, opens, tz).astimezone(UTC)
        if closes == time.max:
            end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
        else:
            end = datetime.combine(day, closes, tz).astimezone(UTC)
        out.append((start, end))
    return tuple(out)


ROUND_THE_CLOCK = OfficeCalendar(week=ROUND_THE_CLOCK_WEEK, timezone="UTC", public_holidays=False)


@dataclass(frozen=True)
class WorkingCalendar:
    """Every province's :class:`OfficeCalendar`: its own, or the default."""

    default: OfficeCalendar = field(default_factory=OfficeCalendar)
    provinces: Mapping[str, OfficeCalendar] = field(default_factory=dict)

    def of(self, province: str) -> OfficeCalendar:
        return self.provinces.get(province, self.default)

    def is_working_time(self, province: str, instant: datetime) -> bool:
        """Whether ``instant`` is within the working time of ``province``."""
        return self.of(province).is_working_time(instant)

    def next_boundary(self, province: str, instant: datetime) -> datetime | None:
        return self.of(province).next_boundary(instant)

    def previous_boundary(self, province: str, instant: datetime) -> datetime | None:
        return self.of(province).previous_boundary(instant)

    def is_silent(
        self, province: str, last: datetime | None, now: datetime, stale_after_s: float
    ) -> bool:
        """Whether a host or commune last heard from at ``last`` is silent at ``now``: more
        than ``stale_after_s`` seconds of the province's working time have passed since."""
        return self.of(province).is_silent(last, now, stale_after_s)

    def retire_at(self, province: str, last: datetime, days: int) -> datetime | None:
        """When a host last heard from at ``last`` is retired for silence: once it has missed
        ``days`` whole working days of ``province`` (docs/CRITERIA.md, "Silent hosts")."""
        return self.of(province).after_working_days(last, days)

    def silent_from(self, province: str, last: datetime, stale_after_s: float) -> datetime | None:
        """The instant just after which a host last heard from at ``last`` is silent."""
        return self.of(province).after_working(last, stale_after_s)


#: Every instant is working time: staleness by the wall clock alone.
ALWAYS = WorkingCalendar(default=ROUND_THE_CLOCK)
