"""Every page type in a real headless Chromium at a phone's 390×844 and a laptop's 1366×768:
nothing wider than the screen, the colour legend and the criteria by name in Vietnamese and in
English, and a commune that never reported said to be so beside its recorded attestation.
Screenshots are kept in artifacts/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import paths
from tests.collector.api.web.test_browser import browser, navigate  # noqa: F401 (fixture)
from tests.peers.site import PASSWORDS, Site, csrf_of, login

# Page layout in a browser: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = [pytest.mark.integration, pytest.mark.any_engine]

SIZES = {"phone": (390, 844, True), "laptop": (1366, 768, False)}
#: Everything whose right edge must stay on the screen, besides the document itself.
OVERFLOW_JS = """
const vw = window.innerWidth;
const out = [];
const doc = document.documentElement.scrollWidth;
if (doc > vw) out.push('document ' + doc + ' > ' + vw);
for (const el of document.querySelectorAll(
    'header, main, table, form, input, select, textarea, button, .legend, .cards, svg')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > vw + 0.5) {
    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' right ' + r.right);
  }
}
return out;
"""


def silent_commune(site: Site) -> str:
    """A commune of a province the site does not simulate: it has never reported."""
    return next(
        c.code for c in site.services.units.communes.values() if c.province_code not in {"01", "04"}
    )


def red_commune(site: Site) -> str:
    return next(
        s.code for s in site.services.readiness.settled_states("04") if s.colour.value == "red"
    )


@pytest.fixture(scope="module")
def attested_silent(site: Site) -> str:
    """A never-reporting commune with an ATT-01 attestation entered through the form."""
    code = silent_commune(site)
    operator = login(site.url, "operator")
    page = operator.get(f"/commune/{code}")
    r = operator.post(
        f"/commune/{code}/attestations",
        data={
            "csrf": csrf_of(page.text),
            "criterion": "ATT-01",
            "status": "pass",
            "evidence": "Biên bản số 7/BB-UBND",
            "valid_days": "90",
        },
    )
    assert r.status_code == 303, r.text
    return code


def use_size(driver, size: str) -> None:
    width, height, mobile = SIZES[size]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def log_in(driver, url: str, role: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/login")
    driver.find_element(By.ID, "username").send_keys(role)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[role])
    navigate(driver, driver.find_element(By.ID, "login-button"))


def assert_fits(driver, name: str) -> None:
    over = driver.execute_script(OVERFLOW_JS)
    driver.save_screenshot(str(_artifact(f"web-fit-{name}.png")))
    assert over == [], f"{name}: wider than the screen: {over}"


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_type_fits_the_screen(
    site: Site,
    browser,  # noqa: F811
    attested_silent: str,
    size: str,
) -> None:
    from selenium.webdriver.common.by import By

    d = browser
    use_size(d, size)
    d.get(site.url + "/login")
    assert_fits(d, f"login-{size}")

    log_in(d, site.url, "admin")
    red = red_commune(site)
    pages = {
        "overview": "/",
        "province": "/province/04",
        "province-criterion": "/province/04?criterion=NET-01",
        "commune": f"/commune/{red}",  # with the operators' forms (admin is an operator too)
        "commune-silent": f"/commune/{attested_silent}",
        "search": "/search?q=cao",
        "history": "/history",
        "admin": "/admin/users",
        "not-found": "/commune/99999",
    }
    for name, path in pages.items():
        for lang in ("vi", "en"):
            d.get(f"{site.url}{path}{'&' if '?' in path else '?'}lang={lang}")
            assert d.find_elements(By.ID, "legend"), f"{name}: no colour legend"
            assert_fits(d, f"{name}-{size}-{lang}")
    d.get(f"{site.url}/commune/{red}?lang=vi")
    for form in ("attest-form", "waiver-form"):
        el = d.find_element(By.ID, form)
        d.execute_script("arguments[0].scrollIntoView()", el)
        d.save_screenshot(str(_artifact(f"web-fit-{form}-{size}.png")))


def test_green_coverage_column_visible_on_a_phone(site: Site, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    d = browser
    use_size(d, "phone")
    log_in(d, site.url, "viewer")
    width = d.execute_script("return window.innerWidth")
    rows = d.find_elements(By.CSS_SELECTOR, "#provinces tbody tr")
    assert len(rows) == 34
    for row in rows:
        ratio = row.find_element(By.CSS_SELECTOR, "td.ratio")
        assert ratio.is_displayed() and ratio.text.endswith("%")
        for cell in row.find_elements(By.TAG_NAME, "td"):
            assert cell.is_displayed()
            assert cell.rect["x"] + cell.rect["width"] <= width
    label = d.execute_script(
        "return getComputedStyle(arguments[0], '::before').content",
        rows[0].find_element(By.CSS_SELECTOR, "td.ratio"),
    )
    assert "Tỷ lệ xanh" in label  # each cell of a card says its heading


def test_legend_and_criterion_names_in_vietnamese_then_english(
    site: Site,
    browser,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    criteria = {c.id: c for c in site.services.rules.current().catalogue.criteria}
    guidance = site.services.rules.current().catalogue.guidance
    d = browser
    use_size(d, "phone")
    log_in(d, site.url, "viewer")
    d.get(site.url + "/province/04")
    legend = d.find_element(By.ID, "legend").text
    assert "Ý nghĩa các màu" in legend
    assert "Xanh mọi tiêu chí áp dụng cho xã đều đạt hoặc đang được miễn." in legend
    assert "Đỏ có ít nhất một tiêu chí nghiêm trọng không đạt" in legend
    assert "trong hơn 3 phút" in d.find_element(By.ID, "legend-grey").text
    summary = d.find_element(By.CSS_SELECTOR, "#communes details.crit summary")
    cid = summary.find_element(By.CSS_SELECTOR, ".cid").text
    assert summary.text == f"{criteria[cid].title.vi} {cid}"
    assert criteria[cid].basis in summary.get_attribute("title")
    explanation = " ".join(guidance[cid].explanation.vi.split())
    assert explanation in summary.get_attribute("title")  # hover: what it checks and why
    summary.click()  # a tap opens the explanation
    more = summary.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, ".crit-more")
    assert more.is_displayed() and f"Căn cứ: {criteria[cid].basis}" in more.text
    assert explanation in " ".join(more.text.split())
    d.save_screenshot(str(_artifact("web-criterion-open-phone-vi.png")))

    d.find_element(By.LINK_TEXT, "English").click()
    legend = d.find_element(By.ID, "legend").text
    assert "What the colours mean" in legend
    assert "Green every criterion that applies to the commune passes or is waived." in legend
    assert "Grey the commune has never reported" in legend
    summary = d.find_element(By.CSS_SELECTOR, "#communes details.crit summary")
    cid = summary.find_element(By.CSS_SELECTOR, ".cid").text
    assert summary.text == f"{criteria[cid].title.en} {cid}"
    d.save_screenshot(str(_artifact("web-criterion-phone-en.png")))


def test_attestation_without_reports_says_the_commune_has_not_reported(
    site: Site, attested_silent: str
) -> None:
    viewer = login(site.url, "viewer")
    vi = viewer.get(f"/commune/{attested_silent}?lang=vi").text
    assert 'id="commune-colour">Xám<' in vi
    assert "Chưa có máy nào của xã gửi báo cáo, nên màu là Xám" in vi
    assert "Các xác nhận bên dưới đã được ghi nhận" in vi
    assert "Đã ghi nhận xác nhận của operator" in vi
    assert "Chưa đánh giá: xã chưa gửi báo cáo." in vi
    assert "đã được xác nhận bởi" not in vi
    en = viewer.get(f"/commune/{attested_silent}?lang=en").text
    assert "No machine of this commune has reported yet, so its colour is Grey" in en
    assert "The attestations below are recorded" in en
    assert "Attestation by operator recorded" in en
    assert "attested by" not in en
    # A commune that reports keeps its verdicts and shows no such notice.
    assert 'id="no-reports"' not in viewer.get(f"/commune/{red_commune(site)}").text


def _artifact(name: str) -> Path:
    paths.ARTIFACTS.mkdir(exist_ok=True)
    return paths.ARTIFACTS / name
