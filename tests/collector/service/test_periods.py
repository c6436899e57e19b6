"""Period figures from the daily roll-ups equal the ones computed by hand from the fixture
(tests/collector/service/period_fixture.py), on both databases: working days, ready days,
availability, green coverage per working day and over the period, the criteria failed most,
the ready share, and a person's province scope."""

from __future__ import annotations

from datetime import date

import pytest

from collector.domain.periods import Period
from collector.domain.scope import NATIONAL, Scope
from collector.reports.period import build_period_report
from collector.service.periods import Tally
from tests.collector.service.period_fixture import A1, A2, A3, B1, MON, SAT, TUE, W, fill

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture
def filled(services):
    fill(services)
    return services


def test_commune_figures_equal_the_hand_computed_ones(filled) -> None:
    f = filled.periods.figures(NOVEMBER, NATIONAL)
    assert f.communes[A1] == Tally(2, 2, 2 * W, 51_300, 0, 2_700, 0)
    assert f.communes[A1].availability == pytest.approx(0.95)
    assert f.communes[A2] == Tally(2, 0, 2 * W, 24_299, 2_701, 0, W)
    assert f.communes[A2].availability == pytest.approx(24_299 / 54_000)
    assert f.communes[B1] == Tally(1, 0, W, 20_000, 0, 7_000, 0)
    assert A3 not in f.communes  # no row: no data, not a failure


def test_province_and_nation_coverage(filled) -> None:
    f = filled.periods.figures(NOVEMBER, NATIONAL)
    assert (f.provinces["01"].working_days, f.provinces["01"].ready_days) == (4, 2)
    assert f.provinces["01"].ready_ratio == pytest.approx(0.5)
    assert f.provinces["01"].availability == pytest.approx(75_599 / 108_000)
    assert (f.provinces["04"].working_days, f.provinces["04"].ready_days) == (1, 0)
    assert (f.total.working_days, f.total.ready_days) == (5, 2)
    assert f.total.ready_ratio == pytest.approx(0.4)
    assert f.total.availability == pytest.approx(95_599 / 135_000)
    # Green coverage per working day; Saturday (no working time) is no point of the trend.
    assert [(d.day, d.tally.working_days, d.tally.ready_days) for d in f.days] == [
        (MON, 3, 1),
        (TUE, 2, 1),
    ]
    assert SAT not in [d.day for d in f.days]


def test_criteria_failed_most(filled) -> None:
    f = filled.periods.figures(NOVEMBER, NATIONAL)
    assert [(s.id, s.pass_share) for s in f.worst[A1]] == [("NET-01", pytest.approx(0.95))]
    assert [(s.id, s.pass_share) for s in f.worst[A2]] == [("NET-01", 0.5), ("EQ-01", 0.75)]
    assert [(s.id, s.pass_share) for s in f.worst[B1]] == [("NET-01", 0.0)]
    # Over the nation: never-assessed SIG-01 is left out, always-passed VC-01 comes last.
    assert [(s.id, s.assessed_s, s.passed_s) for s in f.criteria] == [
        ("NET-01", 108_000, 64_800),
        ("EQ-01", 54_000, 40_500),
        ("VC-01", 54_000, 54_000),
    ]
    hanoi = filled.periods.figures(NOVEMBER, NATIONAL, communes=[A1, A2, A3])
    assert [s.id for s in hanoi.criteria] == ["EQ-01", "NET-01", "VC-01"]  # 75 % < 80 %


def test_ready_share_moves_the_ready_days(filled) -> None:
    looser = filled.periods.figures(NOVEMBER, NATIONAL, ready_share=0.8)
    assert looser.communes[A2].ready_days == 1  # Monday, 89.996 % green
    assert (looser.total.working_days, looser.total.ready_days) == (5, 3)
    assert [d.tally.ready_days for d in looser.days] == [2, 1]
    strict = filled.periods.figures(NOVEMBER, NATIONAL, ready_share=1.0)
    assert strict.communes[A1].ready_days == 1  # Tuesday's 90 % is not 100 %
    with pytest.raises(ValueError, match="ready_share"):
        filled.periods.figures(NOVEMBER, NATIONAL, ready_share=0)


def test_period_bounds_are_both_included(filled) -> None:
    f = filled.periods.figures(Period(TUE, SAT), NATIONAL)
    assert (f.communes[A1].working_days, f.communes[A1].ready_days) == (1, 1)
    assert f.communes[B1] == Tally()  # only its Saturday: a row, but no working time
    assert [d.day for d in f.days] == [TUE]
    assert filled.periods.figures(Period(MON, MON), NATIONAL).total.working_days == 3


def test_a_provincial_person_sees_their_provinces_only(filled) -> None:
    f = filled.periods.figures(NOVEMBER, Scope.of(["04"]))
    assert set(f.communes) == {B1} and set(f.provinces) == {"04"}
    assert [s.id for s in f.criteria] == ["NET-01"]
    report = build_period_report(filled, "national", None, NOVEMBER, within=Scope.of(["04"]))
    assert {c.province_code for c in report.communes} == {"04"}
    assert report.scope_label == "Cao Bằng"


def test_report_names_every_commune_of_the_scope(filled) -> None:
    report = build_period_report(filled, "province", "01", NOVEMBER, lang="vi")
    by_code = {c.code: c for c in report.communes}
    assert len(by_code) == len(filled.units.by_province["01"])
    assert by_code[A3].tally == Tally() and by_code[A3].failed == []
    assert by_code[A2].failed_text("vi") == (
        "NET-01 Kết nối mạng truyền số liệu chuyên dùng hoạt động (50,0 %); "
        "EQ-01 Máy tính của cán bộ hoạt động tốt (75,0 %)"
    )
    assert [d.coverage for d in report.days] == [0.5, 0.5]  # A1 of A1, A2 each day
    assert report.total.ready_ratio == pytest.approx(0.5)
    data = report.to_json()
    assert data["total"]["ready_days"] == 2 and data["total"]["ready_ratio"] == 0.5
    assert data["days"][0] == {
        "day": "2026-11-02",
        "communes": 2,
        "working_days": 2,
        "ready_days": 1,
        "working_s": 2 * W,
        "green_s": W + 24_299,
        "yellow_s": 2_701,
        "red_s": 0,
        "grey_s": 0,
        "ready_ratio": 0.5,
        "availability": round((W + 24_299) / (2 * W), 4),
    }
