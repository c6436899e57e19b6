"""The period report on the pages, over real HTTP on the hand-made roll-ups of
tests/collector/service/period_fixture.py (both databases): /history shows green coverage per
working day (a chart and its figures) for the chosen period, the last complete month by
default, with the communes of a province or the provinces of the nation; bad dates are said
on the page; the downloads give the period report in every format, within the person's
scope; and in a real Chromium at 390 and 1366 px nothing is wider than the screen."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from tests.collector.api.web.test_browser import browser  # noqa: F401 (fixture)
from tests.collector.api.web.test_phone import SIZES, assert_fits, log_in, use_size
from tests.collector.service.period_fixture import A1, A2, A3, fill
from tests.conftest import Clock, app_config
from tests.peers.site import PASSWORDS, login

NOV = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def site(make_services) -> Iterator[str]:
    clock = Clock(datetime(2026, 12, 5, 3, 0, tzinfo=UTC))  # Saturday 5 December, 10:00 ICT
    services = make_services(clock)
    fill(services)
    for role, password in PASSWORDS.items():
        services.accounts.add_user(role, password, role)
    services.accounts.add_user("caobang", "caobang-pass-1", "viewer", provinces=["04"])
    with BackgroundServer(create_app(services, app_config())) as url:
        yield url


def test_history_shows_the_period_of_a_province(site: str) -> None:
    client = login(site, "viewer")
    page = client.get(f"/history?scope=01&{NOV}")
    assert page.status_code == 200
    html = page.text
    assert "Tỷ lệ xanh theo ngày làm việc: 01/11/2026 – 30/11/2026" in html
    chart = re.search(r'<svg class="chart" id="period-chart".*?</svg>', html, re.S)
    assert chart is not None and chart[0].count("<circle") == 2  # a dot per working day
    assert "<title>02/11/2026: 50,0 %</title>" in chart[0]
    assert "02/11/2026" in html and "03/11/2026" in html
    # Hà Nội's days: A1 ready of A1, A2 on both; the period: 2 of 4 commune-days.
    assert html.count("50,0 %") >= 3
    assert "2/4 ngày-xã sẵn sàng" in html
    assert f'href="/commune/{A2}"' in html and f'href="/commune/{A3}"' in html
    assert "EQ-01 Máy tính của cán bộ hoạt động tốt (75,0 %)" in html
    assert f"/reports?scope=province&amp;code=01&amp;{NOV.replace('&', '&amp;')}" in html

    english = client.get(f"/history?scope=01&{NOV}&lang=en").text
    assert "Green coverage per working day: 01/11/2026 – 30/11/2026" in english
    assert "2 of 4 commune-days ready" in english and "50.0 %" in english


def test_history_defaults_to_the_last_complete_month(site: str) -> None:
    html = login(site, "viewer").get("/history").text
    assert 'value="2026-11-01"' in html and 'value="2026-11-30"' in html
    assert 'id="period-provinces"' in html  # the nation: one row per province
    assert "2/5 ngày-xã sẵn sàng" in html


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from=2026-11-30&to=2026-11-01", "--from is after --to"),
        ("from=2026-11-01&to=2099-01-01", "sau hôm nay (05/12/2026)"),
        ("from=hôm-qua&to=2026-11-30", "ngày không hợp lệ"),
        ("from=2026-11-01", "give both --from and --to"),
    ],
)
def test_bad_dates_are_said_on_the_page(site: str, query: str, words: str) -> None:
    page = login(site, "viewer").get(f"/history?scope=01&{query}")
    assert page.status_code == 200
    assert 'id="period-error"' in page.text and words in page.text
    assert 'id="history"' in page.text  # the snapshots are still shown


def test_downloads_of_the_period(site: str) -> None:
    client = login(site, "viewer")
    r = client.get(f"/reports?scope=province&code=01&{NOV}&format=csv")
    assert r.status_code == 200
    assert "ioc-period-province-01-20261101-20261130.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][5] == "Ngày làm việc"
    assert next(row for row in rows if row[0] == A1)[5:9] == ["2", "2", "15.0", "95.0"]
    for fmt in ("pdf", "xlsx"):
        r = client.get(f"/reports?scope=province&code=01&{NOV}&format={fmt}")
        assert r.status_code == 200 and len(r.content) > 1000
    r = client.get("/reports?period=month&of=2026-11&format=json")
    assert r.status_code == 200 and json.loads(r.content)["total"]["ready_days"] == 2
    r = client.get("/reports?scope=province&code=01&from=2026-11-30&to=2026-11-01&format=csv")
    assert r.status_code == 422 and "--from is after --to" in r.text


def test_a_provincial_person_reads_their_province_only(site: str) -> None:
    client = login(site, "caobang", "caobang-pass-1")
    assert client.get(f"/history?scope=01&{NOV}").status_code == 403
    assert client.get(f"/reports?scope=province&code=01&{NOV}&format=csv").status_code == 403
    data = json.loads(client.get(f"/reports?{NOV}&format=json").content)
    assert {c["province_code"] for c in data["communes"]} == {"04"}
    assert data["total"]["working_days"] == 1 and data["total"]["ready_days"] == 0


@pytest.mark.integration
@pytest.mark.any_engine  # layout: the same on either engine
@pytest.mark.parametrize("size", list(SIZES))
def test_period_page_fits_the_screen(site: str, browser, size: str) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    use_size(browser, size)
    log_in(browser, site, "viewer")
    for lang in ("vi", "en"):
        for scope in ("01", "00"):
            browser.get(f"{site}/history?scope={scope}&{NOV}&lang={lang}")
            chart = browser.find_element(By.ID, "period-chart")
            assert chart.is_displayed() and len(chart.find_elements(By.TAG_NAME, "circle")) == 2
            browser.execute_script("arguments[0].scrollIntoView()", chart)  # in the screenshot
            assert_fits(browser, f"period-{scope}-{lang}-{size}")
