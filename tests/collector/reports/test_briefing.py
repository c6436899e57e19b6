"""Briefing PDFs laid out as a Vietnamese administrative document: the agency and the
national emblem line, place and date, numbered sections, the summary paragraph, the charts,
the named red communes with the criteria they fail, the signature block; a commune report on
one page with its evidence in an appendix; and inputs that cannot make a report fail.

Read back with poppler's ``pdftotext`` and ``pdfinfo`` (real peers: skipped without them,
failing on CI)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.config import ReportsConfig, load_config
from collector.reports import build_report, render
from collector.reports.model import (
    CommuneRow,
    CriterionCount,
    CriterionInfo,
    CriterionResult,
    ProvinceRow,
    ReadinessReport,
)
from tests import paths
from tests.conftest import require_binary
from tests.peers.site import Site

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)  # 10:30 in Hà Nội
HEAD = ReportsConfig(
    agency="Sở Khoa học và Công nghệ tỉnh Cao Bằng",
    parent_agency="UBND tỉnh Cao Bằng",
    place="Cao Bằng",
    signer_title="Giám đốc",
    signer_name="Nguyễn Văn An",
)


def pdf_text(data: bytes, tmp_path: Path, first: int | None = None, last: int | None = None) -> str:
    """The PDF's text (pages ``first``..``last``), whitespace folded to single spaces."""
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(data)
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    out = subprocess.run(
        [require_binary("pdftotext"), *pages, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return " ".join(out.split())


def page_count(data: bytes, tmp_path: Path) -> int:
    pdf = tmp_path / "n.pdf"
    pdf.write_bytes(data)
    info = subprocess.run(
        [require_binary("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    assert match, info
    return int(match.group(1))


CATALOGUE = [
    CriterionInfo("NET-01", "Kết nối mạng truyền số liệu chuyên dùng", "automated", "critical",
                  "Quyết định 33/2025/QĐ-TTg", True, None),
    CriterionInfo("SIG-01", "Có thiết bị ký số, chứng thư số còn hiệu lực", "automated",
                  "critical", "Nghị định 118/2025/NĐ-CP", False, None),
    CriterionInfo("EQ-04", "Máy cấp số thứ tự kết nối được", "automated", "minor", "Đề xuất",
                  True, None),
]  # fmt: skip
CIDS = [c.id for c in CATALOGUE]


def commune(code: str, name: str, colour: str, fails: tuple[str, ...] = ()) -> CommuneRow:
    statuses = {c: ("fail" if c in fails else "pass") for c in CIDS}
    return CommuneRow(code, name, "xã", "04", "Cao Bằng", colour, AT, statuses, list(fails))


def synthetic(scope: str, lang: str = "vi", **extra: Any) -> ReadinessReport:
    """A report of chosen figures: 3 provinces (national) or 4 communes (province)."""
    rows = [
        commune("01234", "Xã Quang Hán", "red", ("NET-01", "SIG-01")),
        commune("01235", "Xã Trà Lĩnh", "red", ("SIG-01",)),
        commune("01236", "Xã Hạ Lang", "yellow", ("EQ-04",)),
        commune("01237", "Phường Thục Phán", "green"),
    ]
    provinces = [
        ProvinceRow("01", "Thành phố Hà Nội", 126, 100, 20, 4, 2),
        ProvinceRow("04", "Cao Bằng", 4, 1, 1, 2, 0),
        ProvinceRow("79", "Thành phố Hồ Chí Minh", 168, 150, 10, 0, 8),
    ]
    history = [
        {"taken_at": AT - timedelta(hours=6 - i), "communes": 4, "green": g, "green_ratio": g / 4}
        for i, g in enumerate((0, 0, 1, 1, 1, 1))
    ]
    counts = [
        CriterionCount("SIG-01", CATALOGUE[1].title, "critical", 2, 0, 0, 0),
        CriterionCount("NET-01", CATALOGUE[0].title, "critical", 1, 0, 0, 0),
        CriterionCount("EQ-04", CATALOGUE[2].title, "minor", 1, 0, 0, 0),
    ]
    report = ReadinessReport(
        scope=scope,  # type: ignore[arg-type]
        code=None if scope == "national" else "04",
        lang=lang,  # type: ignore[arg-type]
        scope_label="Toàn quốc" if scope == "national" else "Cao Bằng",
        generated_at=AT,
        totals=ProvinceRow("04", "Cao Bằng", 4, 1, 1, 2, 0),
        provinces=provinces if scope == "national" else provinces[1:2],
        communes=rows,
        catalogue=CATALOGUE,
        criterion_counts=counts,
        history=history,
    )
    for k, v in extra.items():
        setattr(report, k, v)
    return report


@pytest.mark.parametrize("scope", ["national", "province"])
def test_briefing_has_the_administrative_layout(scope: str, tmp_path: Path) -> None:
    data = render(synthetic(scope), "pdf", HEAD)
    text = pdf_text(data, tmp_path)
    for words in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND TỈNH CAO BẰNG",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ TỈNH CAO BẰNG",
        "Cao Bằng, ngày 05 tháng 12 năm 2026",
        "BÁO CÁO",
        "I. TÓM TẮT",
        "II. TỶ LỆ XANH THEO",
        "1. Biểu đồ",
        "2. Số liệu",
        "III. DIỄN BIẾN TỶ LỆ XANH",
        "IV. CÁC ĐƠN VỊ MÀU ĐỎ VÀ TIÊU CHÍ KHÔNG ĐẠT",
        "V. TIÊU CHÍ CHƯA ĐẠT NHIỀU NHẤT",
        "VI. CĂN CỨ CÁC TIÊU CHÍ",
        "GIÁM ĐỐC",
        "(Ký, ghi rõ họ tên)",
        "Nguyễn Văn An",
    ):
        assert words in text, words
    # the summary paragraph, with figures in the Vietnamese format
    assert "4 đơn vị hành chính cấp xã: 1 xanh, 1 vàng, 2 đỏ, 0 xám" in text
    assert "Tỷ lệ xanh đạt 25,0 %" in text and "độ phủ giám sát 100,0 %" in text
    # the red communes by name, with the names of the criteria they fail
    red = text[text.index("IV. CÁC ĐƠN VỊ") : text.index("V. TIÊU CHÍ CHƯA")]
    assert "Xã Quang Hán" in red and "Xã Trà Lĩnh" in red
    assert "NET-01 Kết nối mạng truyền số liệu chuyên dùng" in red
    assert red.count("SIG-01 Có thiết bị ký số") == 2
    assert "Xã Hạ Lang" not in red and "Phường Thục Phán" not in red
    # the most-failed criteria, the most failed first
    worst = text[text.index("V. TIÊU CHÍ CHƯA") :]
    assert worst.index("SIG-01") < worst.index("NET-01")
    if scope == "national":  # the bar chart's labels: the provinces, furthest behind first
        chart = text[text.index("1. Biểu đồ") : text.index("2. Số liệu")]
        assert "Cao Bằng" in chart and "Thành phố Hồ Chí Minh" in chart


def test_english_briefing_has_an_english_header(tmp_path: Path) -> None:
    text = pdf_text(render(synthetic("national", "en"), "pdf", HEAD), tmp_path)
    assert "SOCIALIST REPUBLIC OF VIET NAM" in text
    assert "Independence - Freedom - Happiness" in text
    assert "CỘNG HÒA" not in text
    assert "Cao Bằng, 5 December 2026" in text
    for words in ("I. SUMMARY", "IV. RED COMMUNES AND THE CRITERIA THEY FAIL", "(Signature"):
        assert words in text, words
    assert "Green coverage is 25.0 %" in text


def test_a_trend_needs_two_snapshots(tmp_path: Path) -> None:
    text = pdf_text(render(synthetic("province", history=[]), "pdf"), tmp_path)
    assert "Chưa đủ số liệu để vẽ diễn biến" in text


def test_a_report_of_no_unit_renders(tmp_path: Path) -> None:
    rep = synthetic("province")
    rep.communes, rep.provinces, rep.history = [], [], []
    rep.totals = ProvinceRow("04", "Cao Bằng", 0, 0, 0, 0, 0)
    text = pdf_text(render(rep, "pdf"), tmp_path)
    assert "0 đơn vị hành chính cấp xã" in text and "Không có đơn vị nào màu đỏ." in text


def test_no_red_commune_is_said(tmp_path: Path) -> None:
    rep = synthetic("province")
    rep.communes = [r for r in rep.communes if r.colour != "red"]
    assert "Không có đơn vị nào màu đỏ." in pdf_text(render(rep, "pdf"), tmp_path)


def _commune_report(results: int, message: str) -> ReadinessReport:
    rep = synthetic("commune")
    rep.communes = rep.communes[:1]
    ev = [
        {"check": "host.disk", "status": "fail", "host": f"pc-{i}", "message": message}
        for i in range(results)
    ]
    rep.detail = [
        CriterionResult("NET-01", CATALOGUE[0].title, "automated", "critical", "fail",
                        "mất kết nối " + message, ev, AT.isoformat(),
                        "Kiểm tra kết nối mạng chuyên dùng.",
                        ["Khởi động lại modem/router mạng chuyên dùng.", "Gọi nhà mạng."]),
        CriterionResult("SIG-01", CATALOGUE[1].title, "automated", "critical", "pass", "đạt",
                        [], None),
        CriterionResult("EQ-04", CATALOGUE[2].title, "automated", "minor", "unknown",
                        "không đo được", [], None, "", []),
    ]  # fmt: skip
    return rep


def test_commune_report_is_one_page_and_an_appendix(tmp_path: Path) -> None:
    data = render(_commune_report(3, "đĩa đầy"), "pdf", HEAD)
    assert page_count(data, tmp_path) == 2
    first = pdf_text(data, tmp_path, 1, 1)
    for words in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "I. TÌNH TRẠNG CHUNG",
        "1/3 tiêu chí đạt hoặc được miễn, 1 không đạt, 1 cảnh báo hoặc chưa rõ",
        "II. KẾT QUẢ THEO TIÊU CHÍ",
        "III. VIỆC CẦN LÀM",
        "1. Khởi động lại modem/router mạng chuyên dùng. 2. Gọi nhà mạng.",
        "EQ-04 Máy cấp số thứ tự kết nối được 1. không đo được",  # no steps: its reason
        "Nguyễn Văn An",
    ):
        assert words in first, words
    assert "PHỤ LỤC" not in first and "pc-0" not in first
    appendix = pdf_text(data, tmp_path, 2)
    assert "PHỤ LỤC" in appendix and "1. Bằng chứng của từng tiêu chí" in appendix
    assert "pc-2" in appendix
    assert (
        "2. Ý nghĩa các tiêu chí" in appendix and "Kiểm tra kết nối mạng chuyên dùng." in appendix
    )


def test_no_input_makes_a_report_fail(tmp_path: Path) -> None:
    """500 results, control characters, an ANSI escape and a 20,000-character word: the
    commune report renders, page 1 stays one page, the evidence runs over several pages."""
    nasty = "\x1b[31mđỏ\x1b[0m\x07 chuông\x00 " + "B" * 400
    rep = _commune_report(500, nasty)
    rep.detail[0] = replace(rep.detail[0], reason="mất kết nối " + "A" * 20_000)
    data = render(rep, "pdf", HEAD)
    pages = page_count(data, tmp_path)
    assert pages > 3
    first = pdf_text(data, tmp_path, 1, 1)
    assert "III. VIỆC CẦN LÀM" in first and "(xem Phụ lục)" in first
    rest = pdf_text(data, tmp_path, 2)
    assert "pc-499" in rest and "(đã cắt bớt" in rest
    assert "\x1b" not in rest and "[31m" not in rest and "\x07" not in rest
    # a province of 500 red communes with long names splits its tables across pages
    prov = synthetic("province")
    prov.communes = [
        commune(f"{i:05d}", f"Xã {nasty[:80]} {i}", "red", ("NET-01",)) for i in range(500)
    ]
    text = pdf_text(render(prov, "pdf", HEAD), tmp_path)
    assert "… và 200 đơn vị màu đỏ khác" in text


def test_letterhead_comes_from_the_collector_configuration(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "reports:\n  agency: SỞ KHOA HỌC VÀ CÔNG NGHỆ TỈNH LẠNG SƠN\n  place: Lạng Sơn\n",
        "utf-8",
    )
    cfg = load_config(path)
    assert cfg.reports.agency == "SỞ KHOA HỌC VÀ CÔNG NGHỆ TỈNH LẠNG SƠN"
    text = pdf_text(render(synthetic("province"), "pdf", cfg.reports), tmp_path)
    assert "TỈNH LẠNG SƠN" in text and "Lạng Sơn, ngày 05 tháng 12 năm 2026" in text


def test_real_province_report_names_its_red_communes(site: Site, tmp_path: Path) -> None:
    rep = build_report(site.services, "province", "04")
    red = [r for r in rep.communes if r.colour == "red"]
    assert red, "the fixture's Cao Bằng has red communes"
    data = render(rep, "pdf")
    text = pdf_text(data, tmp_path)
    titles = {c.id: c.title for c in rep.catalogue}
    section = text[text.index("IV. CÁC ĐƠN VỊ MÀU ĐỎ") :]
    for r in red[:20]:
        assert r.name in section, r.name
        failing = next(c for c, s in r.statuses.items() if s == "fail")
        assert f"{failing} {titles[failing].split()[0]}" in section
    paths.ARTIFACTS.mkdir(exist_ok=True)
    (paths.ARTIFACTS / "briefing-province-04.pdf").write_bytes(data)


def test_real_commune_report_lists_remediation_on_its_one_page(site: Site, tmp_path: Path) -> None:
    rep = build_report(site.services, "province", "04")
    code = next(r.code for r in rep.communes if r.colour == "red")
    one = build_report(site.services, "commune", code)
    failing = [d for d in one.detail if d.status == "fail"]
    assert failing and all(d.remediation for d in one.detail)
    data = render(one, "pdf")
    first = pdf_text(data, tmp_path, 1, 1)
    assert "III. VIỆC CẦN LÀM" in first
    assert " ".join(failing[0].remediation[0].split()) in first
    assert "PHỤ LỤC" in pdf_text(data, tmp_path, 2)
    paths.ARTIFACTS.mkdir(exist_ok=True)
    (paths.ARTIFACTS / f"briefing-commune-{code}.pdf").write_bytes(data)


def test_report_command_takes_the_letterhead_from_its_config(site: Site, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from collector.cli import main

    cfg = tmp_path / "collector.yaml"
    cfg.write_text(
        "reports:\n  agency: SỞ KHOA HỌC VÀ CÔNG NGHỆ THÀNH PHỐ HÀ NỘI\n"
        "  signer_title: Phó Giám đốc\n  signer_name: Trần Thị Bình\n",
        "utf-8",
    )
    out = tmp_path / "hn.pdf"
    args = ["report", "--config", str(cfg), "--db", str(site.db_path), "--scope", "province"]
    r = CliRunner().invoke(main, [*args, "01", "-o", str(out)])
    assert r.exit_code == 0, r.output
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "SỞ KHOA HỌC VÀ CÔNG NGHỆ THÀNH PHỐ HÀ NỘI" in text
    assert "PHÓ GIÁM ĐỐC" in text and "Trần Thị Bình" in text
