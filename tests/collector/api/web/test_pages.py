"""The officials' pages over real HTTP: login, drill-down, filters, search, language, 404s,
attestation and waiver forms with roles and CSRF, agent tokens refused."""

from __future__ import annotations

import html
import re
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from collector.domain.errors import BadRequestError
from collector.reports.i18n import ict
from collector.service.accounts import hash_password, verify_password
from collector.service.attestations import MAX_FILE_BYTES
from collector.storage import schema as db
from tests.peers.site import PASSWORDS, Site, csrf_of, login

HK = "00070"  # Phường Hoàn Kiếm (Hà Nội)
CUA_NAM = "00073"  # Phường Cửa Nam (Hà Nội): the commune the forms below write to


@pytest.fixture(scope="module")
def viewer(site: Site) -> httpx.Client:
    return login(site.url, "viewer")


@pytest.fixture(scope="module")
def operator(site: Site) -> httpx.Client:
    return login(site.url, "operator")


def red_commune(site: Site) -> str:
    return next(
        s.code for s in site.services.readiness.settled_states("04") if s.colour.value == "red"
    )


# ------------------------------------------------------------------------------ access
def test_password_hash_is_scrypt_and_verifies() -> None:
    h = hash_password("đúng-mật-khẩu")
    assert h.startswith("scrypt$16384$8$1$") and "đúng" not in h
    assert verify_password("đúng-mật-khẩu", h)
    assert not verify_password("sai-mật-khẩu", h)
    assert not verify_password("x", "garbage")


def test_pages_need_login(site: Site) -> None:
    for path in ("/", "/province/04", f"/commune/{HK}", "/search?q=a", "/history", "/reports"):
        r = httpx.get(site.url + path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")


def test_agent_token_reads_nothing(site: Site) -> None:
    [(_, code)] = site.services.identities.create_enrollment_codes([CUA_NAM])
    agent = httpx.post(f"{site.url}/api/v1/enroll", json={"code": code, "host": "pc"}).json()
    headers = {"Authorization": f"Bearer {agent['token']}"}
    for path in (
        "/",
        "/province/01",
        f"/commune/{HK}",
        "/reports?scope=national&format=csv",
        "/admin/users",
        "/history",
    ):
        r = httpx.get(site.url + path, headers=headers)
        assert r.status_code == 401, path
        assert "agent tokens cannot read" in r.json()["detail"]


def test_wrong_password_says_so_clearly(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    csrf = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "viewer", "password": "nope", "csrf": csrf})
    assert r.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in r.text
    assert "ioc_session" not in r.cookies
    csrf = csrf_of(r.text)
    r = client.post("/login?lang=en", data={"username": "nobody", "password": "nope", "csrf": csrf})
    assert r.status_code == 401 and "Wrong username or password." in r.text


def test_login_form_needs_its_csrf_token(site: Site) -> None:
    r = httpx.post(
        f"{site.url}/login", data={"username": "viewer", "password": PASSWORDS["viewer"]}
    )
    assert r.status_code == 400 and "CSRF" in r.text


def test_session_cookie_is_httponly_samesite_and_server_side(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    csrf = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORDS["viewer"], "csrf": csrf, "next": "/x"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/x"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("ioc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with site.services.engine.connect() as conn:
        hashes = list(conn.execute(select(db.sessions.c.token_hash)).scalars())
    assert token not in hashes and len(hashes) >= 1
    # Log out: the server forgets the session, the old cookie opens nothing.
    page = client.get("/")
    assert page.status_code == 200
    out = client.post("/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    again = httpx.get(f"{site.url}/", cookies={"ioc_session": token})
    assert again.status_code == 303


def test_open_redirect_refused(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    csrf = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORDS["viewer"],
            "csrf": csrf,
            "next": "//evil.example/",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_json_api_needs_the_same_login_as_the_pages(site: Site, viewer: httpx.Client) -> None:
    assert httpx.get(f"{site.url}/api/v1/summary").status_code == 401
    summary = viewer.get("/api/v1/summary").json()
    assert (summary["provinces"], summary["communes"]) == (34, 3321)


# ------------------------------------------------------------------------------ pages
def test_national_overview_sortable(site: Site, viewer: httpx.Client) -> None:
    r = viewer.get("/")
    assert r.status_code == 200
    assert "Tổng quan toàn quốc" in r.text and "Tỷ lệ xanh" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    rows = re.findall(r'<a href="/province/(\d\d)">', r.text)
    assert len(rows) == 34
    # Default: lowest green coverage first — Cao Bằng (simulated at 5 %) comes before Hà Nội.
    assert rows.index("04") < rows.index("01")
    by_code = viewer.get("/?sort=code&dir=desc").text
    codes = re.findall(r'<a href="/province/(\d\d)">', by_code)
    assert codes == sorted(codes, reverse=True)


def test_province_page_filters(site: Site, viewer: httpx.Client) -> None:
    r = viewer.get("/province/04")
    assert r.status_code == 200 and "Cao Bằng" in r.text
    all_rows = re.findall(r'<a href="/commune/(\d{5})">', r.text)
    assert len(all_rows) == len(site.services.units.by_province["04"])
    reds = re.findall(r'<a href="/commune/(\d{5})">', viewer.get("/province/04?colour=red").text)
    expected = {
        s.code for s in site.services.readiness.settled_states("04") if s.colour.value == "red"
    }
    assert set(reds) == expected and expected
    failing = viewer.get("/province/04?criterion=NET-02").text
    codes = re.findall(r'<a href="/commune/(\d{5})">', failing)
    assert codes
    for code in codes:
        crit = site.services.readiness.settled_state(
            code
        ).criteria  # silent communes: no criteria yet
        assert crit.get("NET-02", {}).get("status", "unknown") in ("fail", "warn", "unknown")


def test_commune_page_shows_failing_criterion_with_evidence(
    site: Site, viewer: httpx.Client
) -> None:
    code = red_commune(site)
    state = site.services.readiness.settled_state(code)
    cid = next(
        c
        for c, v in state.criteria.items()
        if v["status"] == "fail" and v["severity"] == "critical" and v["evidence"]
    )
    r = viewer.get(f"/commune/{code}")
    assert r.status_code == 200
    row = re.search(rf'<tr id="crit-{cid}" class="status-fail">(.*?)</tr>', r.text, re.S)
    assert row is not None
    assert "Không đạt" in row.group(1)
    ev = state.criteria[cid]["evidence"][0]
    assert ev["check"] in row.group(1)
    observed = ict(datetime.fromisoformat(ev["observed_at"]))
    assert f"{observed} (UTC+7)" in row.group(1)  # when the deciding value was observed
    # what commune IT staff do about it: the catalogue's remediation steps, in order
    steps = site.services.rules.current().catalogue.guidance[cid].remediation
    todo = re.search(r'<div class="todo"><strong>Việc cần làm</strong><ol>(.*?)</ol>', row.group(1))
    assert todo is not None
    items = [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", todo.group(1))]
    assert items == list(steps.vi)
    passing = re.search(r'<tr id="crit-[^"]+" class="status-pass">(.*?)</tr>', r.text, re.S)
    assert passing is None or 'class="todo"' not in passing.group(1)
    en = viewer.get(f"/commune/{code}?lang=en").text
    assert f"<li>{steps.en[0]}</li>" in html.unescape(en) and "What to do" in en
    viewer.get(f"/commune/{code}?lang=vi")  # the language is kept: back to the default


def test_unknown_codes_are_404_pages(site: Site, viewer: httpx.Client) -> None:
    for path, words in (
        ("/province/99", "unknown province code '99'"),
        ("/commune/99999", "unknown commune code '99999'"),
        ("/reports?scope=commune&code=12&format=pdf", "unknown commune code '12'"),
        ("/history?scope=77", "unknown province code"),
        ("/evidence/424242", "Không có tệp bằng chứng số 424242"),
    ):
        r = viewer.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]
        assert words in html.unescape(r.text) and "Traceback" not in r.text
        assert "Không tìm thấy" in r.text
    bad = viewer.get("/reports?scope=galaxy&format=pdf")
    assert bad.status_code == 400 and "scope" in bad.text
    assert viewer.get("/reports?format=docx").status_code == 400


def test_search_with_and_without_diacritics(viewer: httpx.Client) -> None:
    for q in ("Hoàn Kiếm", "hoan kiem", "HOAN KIEM", HK):
        r = viewer.get("/search", params={"q": q})
        assert r.status_code == 200
        assert f'href="/commune/{HK}"' in r.text, q
    assert "Không tìm thấy" in viewer.get("/search?q=zzzzqqq").text


def test_language_switch_sticks(site: Site) -> None:
    client = login(site.url, "viewer")
    assert "Tổng quan toàn quốc" in client.get("/").text
    en = client.get("/?lang=en")
    assert "National overview" in en.text and "Green coverage" in en.text
    assert "National overview" in client.get("/").text  # the cookie remembers
    assert "Tổng quan toàn quốc" in client.get("/?lang=vi").text


def test_coverage_history_page(viewer: httpx.Client) -> None:
    r = viewer.get("/history")
    assert r.status_code == 200
    # green coverage as Vietnamese writes it: 61,9 %
    assert re.search(r'<table id="history"[^>]*>.*?\d+,\d %', r.text, re.S)
    assert viewer.get("/history?scope=04").status_code == 200


def test_report_download_from_page(viewer: httpx.Client) -> None:
    r = viewer.get("/reports?scope=province&code=04&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert "Cao Bằng" in r.content.decode("utf-8-sig")


# ------------------------------------------------------------------------------ forms
def test_viewer_cannot_use_operator_forms(site: Site, viewer: httpx.Client) -> None:
    page = viewer.get(f"/commune/{CUA_NAM}")
    assert 'id="attest-form"' not in page.text
    r = viewer.post(
        f"/commune/{CUA_NAM}/waivers",
        data={"csrf": csrf_of(page.text), "criterion": "EQ-04", "reason": "x", "valid_days": "5"},
    )
    assert r.status_code == 403
    assert viewer.get("/admin/users").status_code == 403


def test_operator_attestation_with_file_is_stored_audited_and_shown(
    site: Site, operator: httpx.Client
) -> None:
    page = operator.get(f"/commune/{CUA_NAM}")
    assert 'id="attest-form"' in page.text
    csrf = csrf_of(page.text)
    pdf = b"%PDF-1.4\n% bien ban kiem tra\n"
    r = operator.post(
        f"/commune/{CUA_NAM}/attestations",
        data={
            "csrf": csrf,
            "criterion": "ATT-03",
            "status": "pass",
            "evidence": "Biên bản kiểm tra bố trí số 12/BB-UBND",
            "valid_days": "200",
        },
        files={"file": ("bien-ban.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 303, r.text
    shown = operator.get(f"/commune/{CUA_NAM}").text
    assert "Biên bản kiểm tra bố trí số 12/BB-UBND" in shown
    file_id = re.search(r'href="/evidence/(\d+)">bien-ban.pdf', shown)
    assert file_id is not None
    got = operator.get(f"/evidence/{file_id.group(1)}")
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    audit = site.services.accounts.audit_entries(target=CUA_NAM)
    assert any(
        e["action"] == "attestation.add"
        and e["actor"] == "operator"
        and e["detail"]["criterion"] == "ATT-03"
        for e in audit
    )
    assert site.services.readiness.settled_state(CUA_NAM).criteria["ATT-03"]["status"] == "pass"


def test_attestation_form_refuses_bad_input(site: Site, operator: httpx.Client) -> None:
    csrf = csrf_of(operator.get(f"/commune/{CUA_NAM}").text)
    url = f"/commune/{CUA_NAM}/attestations"
    base = {"csrf": csrf, "criterion": "ATT-01", "status": "pass", "evidence": "QĐ 1"}
    big = b"x" * (MAX_FILE_BYTES + 1)
    r = operator.post(url, data=base, files={"file": ("scan.pdf", big, "application/pdf")})
    assert r.status_code == 400 and "MiB" in r.text
    r = operator.post(url, data={**base, "csrf": "forged"})
    assert r.status_code == 400 and "CSRF" in r.text
    r = operator.post(url, data={**base, "criterion": "NET-01"})
    assert r.status_code == 400 and "only attested criteria" in r.text
    r = operator.post(url, data={**base, "evidence": "  "})
    assert r.status_code == 400
    for days in ("²", "9" * 5000):  # a digit that is not 0-9; more digits than int() reads
        r = operator.post(url, data={**base, "valid_days": days})
        assert r.status_code == 400 and "whole number of days" in r.text
    r = operator.post("/commune/99999/attestations", data=base)
    assert r.status_code == 404


def test_operator_waiver_is_stored_audited_and_shown(site: Site, operator: httpx.Client) -> None:
    csrf = csrf_of(operator.get(f"/commune/{CUA_NAM}").text)
    r = operator.post(
        f"/commune/{CUA_NAM}/waivers",
        data={
            "csrf": csrf,
            "criterion": "EQ-04",
            "reason": "Máy lấy số đang bảo hành",
            "valid_days": "14",
        },
    )
    assert r.status_code == 303, r.text
    assert "Máy lấy số đang bảo hành" in operator.get(f"/commune/{CUA_NAM}").text
    assert "Máy lấy số đang bảo hành" in operator.get("/province/01").text
    audit = site.services.accounts.audit_entries(target=CUA_NAM)
    assert any(e["action"] == "waiver.add" and e["actor"] == "operator" for e in audit)


def test_admin_manages_users(site: Site) -> None:
    admin = login(site.url, "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "operator" in page.text
    r = admin.post(
        "/admin/users",
        data={
            "csrf": csrf_of(page.text),
            "username": "can-bo-tinh",
            "password": "mat-khau-dai",
            "role": "viewer",
        },
    )
    assert r.status_code == 303
    assert "can-bo-tinh" in admin.get("/admin/users").text
    login(site.url, "can-bo-tinh", "mat-khau-dai")


# ------------------------------------------------------------------ expiry, store level
def test_expired_attestation_and_waiver_stop_counting(collector) -> None:
    services, clock = collector.services, collector.clock
    services.attestations.record_attestation(
        commune=HK,
        criterion="ATT-02",
        status="pass",
        evidence="Danh sách cán bộ quầy",
        actor="op",
    )
    services.attestations.record_waiver(
        commune=HK, criterion="EQ-04", reason="bảo hành", actor="op", valid_days=3
    )
    crit = services.readiness.settled_state(HK).criteria
    assert crit["ATT-02"]["status"] == "pass" and crit["EQ-04"]["status"] == "waived"
    clock.advance(days=91)
    services.evaluation.reevaluate([HK])
    crit = services.readiness.settled_state(HK).criteria
    assert crit["ATT-02"]["status"] == "unknown" and "hết hạn" in crit["ATT-02"]["reason_vi"]
    assert crit["EQ-04"]["status"] != "waived"
    assert [a["active"] for a in services.attestations.attestations([HK])] == [False]
    with pytest.raises(BadRequestError, match="validity"):
        services.attestations.record_waiver(
            commune=HK, criterion="EQ-04", reason="r", actor="op", valid_days=999
        )
