"""The period of a period report: two days, or a month or quarter (the last complete one by
default); refused with words when unreadable, reversed, in the future or too long."""

from __future__ import annotations

from datetime import date

import pytest

from collector.domain.periods import Period, PeriodError, resolve

TODAY = date(2026, 12, 5)


def test_two_days_both_included() -> None:
    p = resolve(TODAY, "2026-11-01", "2026-11-30")
    assert p == Period(date(2026, 11, 1), date(2026, 11, 30)) and p.days == 30
    assert p.label() == "01/11/2026 – 30/11/2026" and p.slug() == "20261101-20261130"
    assert resolve(TODAY, "2026-12-05", "2026-12-05").days == 1  # today may end a period


@pytest.mark.parametrize(
    ("kind", "of", "start", "end"),
    [
        ("month", "2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("month", "2024-2", date(2024, 2, 1), date(2024, 2, 29)),
        ("month", "2025-12", date(2025, 12, 1), date(2025, 12, 31)),
        ("quarter", "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("quarter", "2025q4", date(2025, 10, 1), date(2025, 12, 31)),
        ("month", None, date(2026, 11, 1), date(2026, 11, 30)),  # the last complete month
        ("quarter", None, date(2026, 7, 1), date(2026, 9, 30)),  # the last complete quarter
    ],
)
def test_month_and_quarter(kind: str, of: str | None, start: date, end: date) -> None:
    assert resolve(TODAY, kind=kind, of=of) == Period(start, end)


def test_the_previous_quarter_of_january_is_last_years_fourth() -> None:
    assert resolve(date(2027, 1, 2), kind="quarter") == Period(
        date(2026, 10, 1), date(2026, 12, 31)
    )
    assert resolve(date(2027, 1, 2), kind="month") == Period(date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"start": "2026-11-31", "end": "2026-12-01"}, "--from '2026-11-31': ngày không hợp lệ"),
        ({"start": "01/11/2026", "end": "2026-11-30"}, "expected YYYY-MM-DD"),
        ({"start": "2026-11-30", "end": "2026-11-01"}, "--from is after --to"),
        ({"start": "2026-11-01", "end": "2026-12-06"}, "after today (2026-12-05)"),
        ({"start": "2027-01-01", "end": "2027-01-31"}, "sau hôm nay (05/12/2026)"),
        ({"start": "2024-01-01", "end": "2026-11-30"}, "at most 400"),
        ({"start": "2026-11-01"}, "give both --from and --to"),
        ({"kind": "month", "of": "2026-13"}, "expected a month written YYYY-MM"),
        ({"kind": "quarter", "of": "2026-Q5"}, "expected a quarter written YYYY-QN"),
        ({"kind": "month", "of": "2026-12"}, "after today"),
        ({"kind": "week"}, "month | quarter"),
        ({"kind": "month", "start": "2026-11-01"}, "not both"),
        ({"of": "2026-11"}, "--of needs --period"),
    ],
)
def test_bad_periods_are_refused_in_words(args: dict[str, str], words: str) -> None:
    with pytest.raises(PeriodError) as err:
        resolve(TODAY, **args)
    assert words in err.value.message
