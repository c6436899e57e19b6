"""The period of a period report: calendar days [start, end], both included, in
``Asia/Ho_Chi_Minh`` (docs/ARCHITECTURE.md, "Period reports").

A period is given either by its two days (``--from 2026-11-01 --to 2026-11-30``) or as a
calendar month or quarter (``--period month --of 2026-11``, ``--period quarter --of
2026-Q4``); without ``--of``, the last *complete* month or quarter before today. Pure: today
is passed in. Every refusal is a :class:`PeriodError` that says what is expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from collector.domain.errors import InvalidInputError

KINDS = ("month", "quarter")
#: The longest period a report covers (a year and a bit: a leap year's 366 days and slack).
MAX_DAYS = 400
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")


class PeriodError(InvalidInputError):
    """A period that cannot be read or is not allowed, in words (Vietnamese / English)."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        """``01/11/2026 – 30/11/2026``: day/month/year, as officials write dates."""
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"

    def slug(self) -> str:
        """``20261101-20261130``, for file names."""
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def parse_day(text: str, option: str) -> date:
    """A day written ``YYYY-MM-DD`` (ISO 8601), or PeriodError naming ``option``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(
            f"{option} {text[:40]!r}: ngày không hợp lệ, cần dạng NNNN-TT-NN / "
            f"not a date, expected YYYY-MM-DD (e.g. 2026-11-01)"
        ) from None


def month_of(year: int, month: int) -> Period:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(first, following - timedelta(days=1))


def quarter_of(year: int, quarter: int) -> Period:
    first = month_of(year, 3 * quarter - 2)
    last = month_of(year, 3 * quarter)
    return Period(first.start, last.end)


def previous(kind: str, today: date) -> Period:
    """The last complete month or quarter before ``today``."""
    if kind == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return month_of(last.year, last.month)
    quarter = (today.month - 1) // 3 + 1
    year, quarter = (today.year, quarter - 1) if quarter > 1 else (today.year - 1, 4)
    return quarter_of(year, quarter)


def named(kind: str, of: str) -> Period:
    """The month ``2026-11`` or the quarter ``2026-Q4``."""
    text = of.strip()
    if kind == "month" and (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        return month_of(int(m[1]), int(m[2]))
    if kind == "quarter" and (m := _QUARTER.match(text)):
        return quarter_of(int(m[1]), int(m[2]))
    expected = "NNNN-TT (2026-11)" if kind == "month" else "NNNN-QN (2026-Q4)"
    example = "YYYY-MM (e.g. 2026-11)" if kind == "month" else "YYYY-QN (e.g. 2026-Q4)"
    raise PeriodError(
        f"--of {of[:40]!r}: cần dạng {expected} / expected a {kind} written {example}"
    )


def resolve(
    today: date,
    start: str | None = None,
    end: str | None = None,
    kind: str | None = None,
    of: str | None = None,
) -> Period:
    """The period the options name (see the module); refused when unreadable, when it ends
    before it starts, ends after ``today`` or is longer than :data:`MAX_DAYS`."""
    if kind is not None and (start or end):
        raise PeriodError(
            "cho --from/--to hoặc --period, không cả hai / give --from/--to or --period, not both"
        )
    if kind is not None:
        if kind not in KINDS:
            raise PeriodError(f"--period {kind[:20]!r}: month | quarter")
        period = named(kind, of) if of else previous(kind, today)
    elif of:
        raise PeriodError("--of cần --period month|quarter / --of needs --period month|quarter")
    elif start and end:
        period = Period(parse_day(start, "--from"), parse_day(end, "--to"))
    else:
        raise PeriodError(
            "cần cả --from và --to (hoặc --period) / give both --from and --to (or --period)"
        )
    return check(period, today)


def check(period: Period, today: date) -> Period:
    """``period`` if it is one a report can cover, else PeriodError."""
    if period.end < period.start:
        raise PeriodError(f"--from {period.start} sau --to {period.end} / --from is after --to")
    if period.end > today:
        raise PeriodError(
            f"kỳ báo cáo kết thúc {period.end:%d/%m/%Y}, sau hôm nay ({today:%d/%m/%Y}) / "
            f"the period ends {period.end}, after today ({today}): give an earlier --to"
        )
    if period.days > MAX_DAYS:
        raise PeriodError(
            f"kỳ báo cáo {period.days} ngày, tối đa {MAX_DAYS} / "
            f"the period has {period.days} days, at most {MAX_DAYS}"
        )
    return period
