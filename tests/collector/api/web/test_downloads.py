"""Downloads that never break, over real HTTP: a commune with 500 results whose messages hold
terminal colour codes and bells, evidence files named in Vietnamese, Chinese and emoji, and
operators' texts that look like spreadsheet formulas, in every format (PDF, XLSX, CSV) and
as evidence downloads; ids out of range are 404."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import unquote

import httpx
import openpyxl
import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from checks.model import AgentReport, Category, CheckResult, ReportBatch, Status
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.reports.cells import FORMULA_START
from collector.reports.i18n import ICT
from collector.service import Services
from collector.service.attestations import EvidenceFile
from tests.conftest import Clock, app_config
from tests.peers.site import PASSWORDS, csrf_of, login

HK = "00070"  # Phường Hoàn Kiếm
DIRTY = "\x1b[31mkẹt giấy\x1b[0m\x07 khay {i}\x00\x0b\x1b]0;title\x07"
NAMES = ["Quyết định số 118.pdf", "证明文件.pdf", "📄 biên bản 🎉.png"]
FORMULAS = [
    '=HYPERLINK("http://ke-gian.example/","Bấm vào đây")',
    "+1+2",
    "@SUM(1,2)",
]
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _results(n: int) -> list[CheckResult]:
    """``n`` printer results, failing or warning, each message full of control characters."""
    return [
        CheckResult(
            check="eq.printer",
            category=Category.EQUIPMENT,
            target=f"may-in-{i:03d}\x07",
            status=Status.FAIL if i % 2 else Status.WARN,
            message=DIRTY.format(i=i),
        )
        for i in range(n)
    ]


def _report(url: str, services: Services) -> None:
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    agent = httpx.post(f"{url}/api/v1/enroll", json={"code": code, "host": "pasc-hk"}).json()
    batch = ReportBatch(
        reports=[
            AgentReport(
                agent_id=agent["agent_id"],
                seq=1,
                commune_code=HK,
                host="pasc-hk",
                observed_at=services.clock(),
                results=_results(500),
            )
        ]
    )
    r = httpx.post(
        f"{url}/api/v1/reports",
        content=batch.model_dump_json(),
        headers={"Authorization": f"Bearer {agent['token']}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text


def _enter_evidence(operator: httpx.Client, services: Services) -> None:
    csrf = csrf_of(operator.get(f"/commune/{HK}").text)
    for criterion, name, text in zip(("ATT-01", "ATT-02", "ATT-03"), NAMES, FORMULAS, strict=True):
        kind = "image/png" if name.endswith(".png") else "application/pdf"
        r = operator.post(
            f"/commune/{HK}/attestations",
            data={"csrf": csrf, "criterion": criterion, "status": "pass", "evidence": text},
            files={"file": (name, f"nội dung {name}".encode(), kind)},
        )
        assert r.status_code == 303, r.text
    for criterion, reason in (("EQ-02", "=1+2"), ("EQ-04", "-2+3\x07 thay \x1b[1mmực\x1b[0m")):
        r = operator.post(
            f"/commune/{HK}/waivers",
            data={"csrf": csrf, "criterion": criterion, "reason": reason, "valid_days": "9"},
        )
        assert r.status_code == 303, r.text
    services.attestations.record_attestation(
        commune=HK,
        criterion="ATT-01",
        status="pass",
        evidence="Biên bản\x07 \x1b[32mđã ký\x1b[0m",
        actor="operator",
        file=EvidenceFile("biên\x07bản\x1b[31m đỏ.txt", "text/plain", b"ky roi"),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Services]]:
    from collector.criteria.catalogue import load_catalogue
    from collector.domain.units import load_units
    from collector.service import services_for
    from collector.storage.connect import create_schema, make_engine

    engine = make_engine(str(tmp_path_factory.mktemp("downloads") / "ioc.db"))
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units(), clock=Clock())
    for role, password in PASSWORDS.items():
        services.accounts.add_user(role, password, role)
    with BackgroundServer(create_app(services, app_config())) as url:
        _report(url, services)
        _enter_evidence(login(url, "operator"), services)
        yield url, services


@pytest.fixture(scope="module")
def viewer(site: tuple[str, Services]) -> httpx.Client:
    return login(site[0], "viewer")


def _download(client: httpx.Client, path: str) -> tuple[bytes, str]:
    """The body and the exact file name (``filename*``) of a download; the ASCII
    ``filename`` is there too."""
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    disposition = r.headers["content-disposition"]
    assert disposition.isascii()
    assert re.search(r'filename="[\x20-\x7e]+"', disposition), disposition
    exact = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert exact is not None, disposition
    return r.content, unquote(exact.group(1))


def test_evidence_files_named_in_any_script_download_under_their_names(
    site: tuple[str, Services], viewer: httpx.Client
) -> None:
    files = {a["filename"]: a["file_id"] for a in site[1].attestations.attestations([HK])}
    assert set(NAMES) <= set(files)
    for name in NAMES:
        body, got = _download(viewer, f"/evidence/{files[name]}")
        assert got == name and body == f"nội dung {name}".encode()
    dirty = next(n for n in files if "\x07" in n)
    body, got = _download(viewer, f"/evidence/{files[dirty]}")
    assert body == b"ky roi" and got == "biênbản đỏ.txt"


def test_commune_xlsx_has_no_formula_and_no_illegal_character(viewer: httpx.Client) -> None:
    data, name = _download(viewer, f"/reports?scope=commune&code={HK}&format=xlsx")
    assert name.endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not ILLEGAL_CHARACTERS_RE.search(cell.value), cell.value
                    assert "\x1b" not in cell.value and "[31m" not in cell.value
                    assert len(cell.value) <= 32767
                    texts.append(cell.value)
    for text in (*FORMULAS, "=1+2"):
        assert text in texts, text  # kept as entered, as text
    evidence = wb["Bằng chứng"]
    # the check's own message is engineering text: in the raw-values column (I), not in
    # the evidence in words (F)
    assert evidence["I1"].value == "Số liệu gốc"
    assert any("kẹt giấy khay 499" in (c.value or "") for c in evidence["I"])
    assert not any("kẹt giấy khay 499" in (c.value or "") for c in evidence["F"])
    # a criterion not met says what to do (column H), numbered; one met says nothing
    assert evidence["H1"].value == "Việc cần làm"
    rows = [[c.value for c in row] for row in evidence.iter_rows(min_row=2)]
    not_met = [r for r in rows if r[3] in ("Không đạt", "Cảnh báo", "Không rõ") and r[7]]
    assert not_met and all(r[7].startswith("1. ") and "\n2. " in r[7] for r in not_met)
    assert not any(r[7] for r in rows if r[3] == "Đạt")


def test_commune_xlsx_speaks_vietnamese_with_local_times(viewer: httpx.Client) -> None:
    data, _ = _download(viewer, f"/reports?scope=commune&code={HK}&format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data))["Xã phường đặc khu"]
    header = [c.value for c in ws[1]]
    assert len(set(header)) == len(header), header
    assert header[:2] == ["Mã xã", "Xã, phường, đặc khu"] and header[3] == "Mã tỉnh"
    assert "Báo cáo gần nhất (UTC+7)" in header
    row = dict(zip(header, (c.value for c in ws[2]), strict=True))
    assert row["Màu"] in ("Đỏ", "Vàng") and row["Loại"] == "phường"
    assert row["EQ-01"] in ("Đạt", "Không đạt", "Cảnh báo", "Không rõ")
    when = row["Báo cáo gần nhất (UTC+7)"]
    assert isinstance(when, datetime) and when.microsecond == 0
    cell = ws.cell(2, header.index("Báo cáo gần nhất (UTC+7)") + 1)
    assert cell.number_format == "dd/mm/yyyy hh:mm"


def test_csv_has_a_bom_translated_headings_and_no_formula(viewer: httpx.Client) -> None:
    for lang, first, colours in (
        ("vi", "Mã xã", {"Đỏ", "Vàng"}),
        ("en", "Commune code", {"Red", "Yellow"}),
    ):
        data, _ = _download(viewer, f"/reports?scope=commune&code={HK}&format=csv&lang={lang}")
        assert data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0][0] == first and len(set(rows[0])) == len(rows[0])
        assert rows[1][5] in colours
        assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[1][6]), rows[1][6]
        for field in (f for row in rows for f in row):
            assert not CONTROL.search(field) and field[:1] not in FORMULA_START


def test_province_csv_in_english_translates_values(viewer: httpx.Client) -> None:
    data, _ = _download(viewer, "/reports?scope=province&code=01&format=csv&lang=en")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    hk = next(r for r in rows if r["Commune code"] == HK)
    assert hk["Kind"] == "ward" and hk["NET-01"] in ("Pass", "Fail", "Warning", "Unknown")
    grey = next(r for r in rows if r["Commune code"] != HK)
    assert grey["Colour"] == "Grey" and grey["Last report (UTC+7)"] == ""


def test_commune_pdf_renders(viewer: httpx.Client) -> None:
    for lang in ("vi", "en"):
        data, name = _download(viewer, f"/reports?scope=commune&code={HK}&format=pdf&lang={lang}")
        assert data.startswith(b"%PDF") and name.endswith(".pdf")


def test_report_times_are_local_without_microseconds(
    site: tuple[str, Services], viewer: httpx.Client
) -> None:
    data, _ = _download(viewer, f"/reports?scope=commune&code={HK}&format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data))["Xác nhận"]
    header = [c.value for c in ws[1]]
    entered = ws.cell(2, header.index("Ngày nhập (UTC+7)") + 1).value
    newest = site[1].attestations.attestations([HK])[0]["entered_at"]
    assert entered == newest.astimezone(ICT).replace(tzinfo=None, microsecond=0)


@pytest.mark.parametrize(
    "file_id",
    ["99999999999999999999", "9223372036854775808", "9223372036854775807", "0", "-1", "abc"],
)
def test_evidence_ids_out_of_range_are_404(viewer: httpx.Client, file_id: str) -> None:
    r = viewer.get(f"/evidence/{file_id}")
    assert r.status_code == 404
    assert "Không có tệp bằng chứng số" in r.text
