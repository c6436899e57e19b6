"""The working calendar: office hours, Vietnam's public holidays (lunar ones included), a
province's own days off and make-up working days, and its configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.config import ConfigError, load_config
from collector.domain.calendar import ALWAYS, OfficeCalendar, WorkingCalendar

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN).astimezone(UTC)


@pytest.mark.parametrize(
    ("when", "working"),
    [
        (local(2026, 12, 7, 7, 29), False),  # Monday, before the office opens
        (local(2026, 12, 7, 7, 30), True),
        (local(2026, 12, 7, 11, 29), True),
        (local(2026, 12, 7, 11, 30), False),  # lunch
        (local(2026, 12, 7, 13, 30), True),
        (local(2026, 12, 7, 16, 59), True),
        (local(2026, 12, 7, 17, 0), False),
        (local(2026, 12, 5, 9, 0), False),  # Saturday
        (local(2026, 12, 6, 9, 0), False),  # Sunday
        (local(2026, 12, 7, 3, 0), False),  # night
    ],
)
def test_civil_service_hours(when: datetime, working: bool) -> None:
    assert CAL.is_working_time("01", when) is working


def test_public_holidays_come_from_the_holidays_package_with_the_lunar_ones() -> None:
    # Tết 2027 (lunar new year on 6 February 2027) and the Hùng Kings' day (10th day of the
    # 3rd lunar month: 16 April 2027), both weekdays; 2 September is National Day.
    for day in (date(2027, 2, 5), date(2027, 2, 8), date(2027, 4, 16), date(2026, 9, 2)):
        assert day.weekday() < 5
        assert not CAL.is_working_time("01", local(day.year, day.month, day.day, 9))
    assert CAL.is_working_time("01", local(2027, 2, 11, 9))  # back at work after Tết


def test_next_and_previous_boundaries() -> None:
    friday_evening = local(2026, 12, 4, 20)
    assert CAL.next_boundary("01", friday_evening) == local(2026, 12, 7, 7, 30)
    assert CAL.previous_boundary("01", friday_evening) == local(2026, 12, 4, 17)
    morning = local(2026, 12, 7, 9)
    assert CAL.next_boundary("01", morning) == local(2026, 12, 7, 11, 30)
    assert CAL.previous_boundary("01", morning) == local(2026, 12, 7, 7, 30)


def test_silence_counts_only_working_time() -> None:
    last = local(2026, 12, 4, 16, 59)  # Friday, a minute before closing
    # 60 s on Friday and 120 s on Monday: not yet more than 180 s of working time.
    assert not CAL.is_silent("01", last, local(2026, 12, 7, 7, 32), 180)
    assert CAL.is_silent("01", last, local(2026, 12, 7, 7, 32) + timedelta(seconds=1), 180)
    assert not CAL.is_silent("01", last, local(2026, 12, 6, 23, 59), 180)  # the whole weekend
    assert CAL.silent_from("01", last, 180) == local(2026, 12, 7, 7, 32)
    # Round the clock: the wall clock alone.
    assert ALWAYS.is_silent("01", last, last + timedelta(seconds=181), 180)
    assert not ALWAYS.is_silent("01", last, last + timedelta(seconds=180), 180)


def write(tmp_path, text: str):
    path = tmp_path / "collector.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_province_configures_saturday_mornings_days_off_and_make_up_days(tmp_path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "calendar:\n"
            "  days_off: [2026-12-31]\n"
            "  provinces:\n"
            '    "04":\n'
            "      hours: {sat: ['07:30-11:30']}\n"
            "      days_off: [2026-12-08]\n"
            "      working_days: [2026-12-13]\n",
        )
    )
    cal = cfg.calendar.working_calendar()
    saturday = local(2026, 12, 12, 9)
    assert cal.is_working_time("04", saturday)  # its one-stop shop opens on Saturday mornings
    assert not cal.is_working_time("04", local(2026, 12, 12, 14))
    assert not cal.is_working_time("01", saturday)  # others do not
    assert not cal.is_working_time("04", local(2026, 12, 8, 9))  # its own day off
    assert cal.is_working_time("01", local(2026, 12, 8, 9))
    sunday = local(2026, 12, 13, 9)  # a make-up working day: Monday's sessions
    assert cal.is_working_time("04", sunday) and not cal.is_working_time("01", sunday)
    assert not cal.is_working_time("04", local(2026, 12, 13, 12))  # lunch, as on Monday
    # The default's day off holds in every province.
    assert not cal.is_working_time("04", local(2026, 12, 31, 9))
    assert not cal.is_working_time("01", local(2026, 12, 31, 9))


def test_the_default_configuration_is_civil_service_hours(tmp_path) -> None:
    cal = load_config(None).calendar.working_calendar()
    assert cal.default.week[0] == ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    assert cal.default.week[5] == cal.default.week[6] == ()
    assert cal.default.timezone == "Asia/Ho_Chi_Minh"
    always = load_config(write(tmp_path, "calendar: {round_the_clock: true}\n"))
    assert always.calendar.working_calendar().is_working_time("01", local(2027, 2, 6, 3))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("calendar: {hours: {mon: ['7h30-11h30']}}\n", "expected HH:MM-HH:MM"),
        ("calendar: {hours: {mon: ['11:30-07:30']}}\n", "must close after it opens"),
        ("calendar: {hours: {mon: ['07:30-12:00', '11:00-17:00']}}\n", "not overlap"),
        ("calendar: {hours: {monday: ['07:30-11:30']}}\n", "calendar.hours.monday"),
        ("calendar: {timezone: Asia/Hanoi_City}\n", "unknown time zone"),
        ("calendar: {provinces: {'4': {days_off: [2026-12-08]}}}\n", "2-digit province code"),
        ("calendar: {days_off: [31/12/2026]}\n", "calendar.days_off.0"),
    ],
)
def test_a_bad_calendar_is_refused_with_what_to_write(tmp_path, text: str, said: str) -> None:
    with pytest.raises(ConfigError, match="calendar") as err:
        load_config(write(tmp_path, text))
    assert said in str(err.value)


def test_an_office_calendar_is_checked_when_made() -> None:
    with pytest.raises(ValueError, match="7 days"):
        OfficeCalendar(week=((),) * 6)


def test_retirement_counts_whole_working_days_not_holidays() -> None:
    """A host last heard from on Friday 24 April 2026 has missed 7 working days at the
    midnight ending Friday 8 May: the Hùng Kings' day (Monday 27), 30 April, 1 May and the
    weekends do not count (docs/CRITERIA.md, "Silent hosts")."""
    last = datetime(2026, 4, 24, 16, 0, tzinfo=VN)
    assert CAL.retire_at("01", last, 7) == datetime(2026, 5, 9, 0, 0, tzinfo=VN)
    assert CAL.retire_at("01", last, 1) == datetime(2026, 4, 29, 0, 0, tzinfo=VN)
    # Round the clock every day counts: 7 calendar days after the day of the last report.
    assert ALWAYS.retire_at("01", last, 7) == datetime(2026, 5, 2, 0, 0, tzinfo=UTC)
    # A make-up Saturday counts as a working day.
    made_up = WorkingCalendar(
        provinces={"01": OfficeCalendar(working_days=frozenset({date(2026, 5, 2)}))}
    )
    assert made_up.retire_at("01", last, 7) == datetime(2026, 5, 8, 0, 0, tzinfo=VN)
