"""In a real headless Chromium: log in, drill from the nation to a commune, find a failing
criterion with its evidence. Screenshots are kept in artifacts/ for people to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import paths
from tests.conftest import require_binary
from tests.peers.site import PASSWORDS, Site

pytestmark = pytest.mark.integration

ARTIFACTS = paths.ARTIFACTS


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    chromium = require_binary("chromium")
    chromedriver = require_binary("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager is not asked to download anything.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def navigate(driver, element) -> None:
    """Click something that loads a new page, and wait until the old page is gone (on a
    busy machine the next lookup would otherwise find elements of the page being left)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def old_page_gone(_driver: object) -> bool:
        # selenium's staleness_of, plus the other way chromedriver says the same thing
        # while the old document is being torn down (seen on a busy CI machine).
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc.msg):
                return True
            raise
        return False

    WebDriverWait(driver, 30).until(old_page_gone)


def test_login_and_drill_down_to_failing_criterion(site: Site, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(site.url + "/")
    assert "/login" in d.current_url  # pages need a login

    # A wrong password first: a clear message, no session.
    d.find_element(By.ID, "username").send_keys("viewer")
    d.find_element(By.ID, "password").send_keys("wrong-password")
    navigate(d, d.find_element(By.ID, "login-button"))
    assert "Sai tên đăng nhập hoặc mật khẩu." in d.find_element(By.ID, "login-error").text

    d.find_element(By.ID, "password").send_keys(PASSWORDS["viewer"])
    navigate(d, d.find_element(By.ID, "login-button"))
    assert d.find_element(By.TAG_NAME, "h1").text == "Tổng quan toàn quốc"
    rows = d.find_elements(By.CSS_SELECTOR, "#provinces tbody tr")
    assert len(rows) == 34

    # Nation -> province (Cao Bằng, far behind) -> only its red communes.
    navigate(d, d.find_element(By.LINK_TEXT, "Cao Bằng"))
    assert d.find_element(By.TAG_NAME, "h1").text == "Cao Bằng"
    Select(d.find_element(By.ID, "colour-filter")).select_by_value("red")
    navigate(d, d.find_element(By.CSS_SELECTOR, "form.inline button"))
    assert "colour=red" in d.current_url
    badges = d.find_elements(By.CSS_SELECTOR, "#communes .badge")
    assert badges and all(b.text == "Đỏ" for b in badges)
    d.save_screenshot(str(_artifact("web-province-red.png")))

    # Province -> commune: a failing criterion with the evidence that decided it.
    link = d.find_element(By.CSS_SELECTOR, "#communes tbody a")
    name = link.text
    navigate(d, link)
    assert d.find_element(By.TAG_NAME, "h1").text.startswith(name)
    assert d.find_element(By.ID, "commune-colour").text == "Đỏ"
    failing = d.find_elements(By.CSS_SELECTOR, "#criteria tr.status-fail")
    assert failing, "a red commune has a failing criterion"
    row = failing[0]
    assert "Không đạt" in row.text
    evidence = row.find_elements(By.CSS_SELECTOR, "ul.evidence li")
    assert evidence and evidence[0].text.startswith("Máy ")  # one sentence per host
    # the raw values, with when they were observed, open behind the disclosure
    raw = row.find_element(By.CSS_SELECTOR, "details.raw")
    assert not raw.find_element(By.CSS_SELECTOR, "li").is_displayed()
    raw.find_element(By.TAG_NAME, "summary").click()
    line = raw.find_element(By.CSS_SELECTOR, "li")
    assert line.is_displayed()
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d \(UTC\+7\)", line.text)
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    d.save_screenshot(str(_artifact("web-commune.png")))

    # The same page on a phone-sized screen, in English.
    d.set_window_size(412, 915)
    d.get(d.current_url.split("?")[0] + "?lang=en")
    assert "Fail" in d.find_element(By.CSS_SELECTOR, "#criteria tr.status-fail").text
    d.save_screenshot(str(_artifact("web-commune-phone-en.png")))


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
