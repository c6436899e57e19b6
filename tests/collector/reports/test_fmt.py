"""Figures in the reader's locale (collector/reports/fmt.py): Babel's numbers, the project's
duration words, times in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collector.reports import fmt
from collector.reports.pdf_parts import pct


@pytest.mark.parametrize(
    ("lang", "expected"), [("vi", "61,9 %"), ("en", "61.9 %")], ids=["vi", "en"]
)
def test_percent_has_one_decimal_in_the_locale(lang: str, expected: str) -> None:
    assert fmt.percent(0.6189, lang) == expected
    assert pct(lang, 0.6189) == expected  # the PDF's percentages are the same
    assert fmt.percent(1.0, lang) == "100.0 %".replace(".", "," if lang == "vi" else ".")


def test_ratio_in_a_sentence_keeps_a_decimal_only_when_it_has_one() -> None:
    assert fmt.ratio(0.31, "vi") == "31 %"
    assert fmt.ratio(0.012, "vi") == "1,2 %"
    assert fmt.ratio(0.012, "en") == "1.2 %"


def test_bitrate_in_the_largest_unit() -> None:
    assert fmt.bitrate(164.812e6, "vi") == "164,8 Mbit/s"
    assert fmt.bitrate(164.812e6, "en") == "164.8 Mbit/s"
    assert fmt.bitrate(1.5e9, "vi") == "1,5 Gbit/s"
    assert fmt.bitrate(64_000, "en") == "64 kbit/s"
    assert fmt.bitrate(0, "en") == "0 bit/s"


def test_numbers_are_grouped_in_the_locale() -> None:
    assert fmt.number(1234567.25, "vi") == "1.234.567,2"
    assert fmt.number(1234567.25, "en") == "1,234,567.2"
    assert fmt.number(3, "vi") == "3"


@pytest.mark.parametrize(
    ("seconds", "vi", "en"),
    [
        (2 * 3600 + 17 * 60, "2 giờ 17 phút", "2 h 17 min"),
        (3 * 86400 + 4 * 3600 + 59, "3 ngày 4 giờ", "3 d 4 h"),
        (900, "15 phút", "15 min"),
        (45, "45 giây", "45 s"),
        (0.15, "150 ms", "150 ms"),
    ],
)
def test_durations_in_their_two_largest_units(seconds: float, vi: str, en: str) -> None:
    assert fmt.duration(seconds, "vi") == vi
    assert fmt.duration(seconds, "en") == en


def test_days() -> None:
    assert fmt.days(31, "vi") == "31 ngày"
    assert fmt.days(31, "en") == "31 days"
    assert fmt.days(1, "en") == "1 day"
    assert fmt.days(9.67329e-05, "vi") == "8,4 giây"  # under a day: as a duration


def test_times_are_read_in_ho_chi_minh_city() -> None:
    at = datetime(2026, 12, 5, 17, 3, 30, 123456, tzinfo=UTC)
    assert fmt.when(at, "vi") == "06/12/2026 00:03"
    assert fmt.when(at, "en") == "06/12/2026 00:03"
    assert fmt.when(None, "vi") == ""


def test_the_briefing_bar_labels_read_in_the_language() -> None:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart

    from collector.reports.pdf_parts import bar_chart

    for lang, expected in (("vi", "61,9"), ("en", "61.9")):
        drawing = bar_chart(["Cao Bằng"], [0.619], 400, lang)
        chart = next(c for c in drawing.contents if isinstance(c, HorizontalBarChart))
        assert chart.barLabelFormat(chart.data[0][0]) == expected


def test_days_of_period_reports() -> None:
    from datetime import date

    assert fmt.day(date(2026, 11, 1), "vi") == "01/11/2026"
    assert fmt.day(date(2026, 11, 1), "en") == "01/11/2026"
