"""Reports of the nation, a province and a commune: the same data as the pages, in PDF (with
an embedded font and correct Vietnamese), XLSX (one sheet per level, autofilters), CSV (one row
per commune) and JSON; and the ``report`` / ``user`` commands."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from collector.cli import main
from collector.domain.units import UnknownUnitError
from collector.reports import build_report, render
from collector.reports.model import ReportError
from tests import paths
from tests.conftest import require_binary
from tests.peers.site import Site

ARTIFACTS = paths.ARTIFACTS
HK = "00070"


def test_report_matches_the_summary(site: Site) -> None:
    rep = build_report(site.services, "national")
    summary = site.services.readiness.summary()
    assert rep.totals.communes == summary["communes"] == 3321
    assert (rep.totals.green, rep.totals.red, rep.totals.grey) == (
        summary["green"],
        summary["red"],
        summary["grey"],
    )
    assert len(rep.provinces) == 34
    cao_bang = next(p for p in rep.provinces if p.code == "04")
    row = next(r for r in summary["by_province"] if r["code"] == "04")
    assert cao_bang.green == row["green"] and cao_bang.communes == row["communes"]
    assert rep.history, "the fixture took one coverage snapshot"


def test_statuses_agree_with_the_settled_details(site: Site) -> None:
    full = {s.code: s for s in site.services.readiness.settled_states("04")}
    light = site.services.readiness.commune_states("04")
    assert [s.code for s in light] == list(full)
    for s in light:
        f = full[s.code]
        assert (s.colour, s.last_report_at) == (f.colour, f.last_report_at)
        assert s.criteria == {
            cid: {k: v[k] for k in ("status", "severity", "since")} for cid, v in f.criteria.items()
        }


def test_bad_scope_or_code(site: Site) -> None:
    with pytest.raises(ReportError, match="scope"):
        build_report(site.services, "district", "01")
    with pytest.raises(ReportError, match="needs a code"):
        build_report(site.services, "province")
    with pytest.raises(UnknownUnitError, match="unknown province code"):
        build_report(site.services, "province", "99")
    with pytest.raises(ReportError, match="format"):
        render(build_report(site.services, "commune", HK), "docx")


def test_csv_one_row_per_commune(site: Site) -> None:
    text = render(build_report(site.services, "province", "04"), "csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(site.services.units.by_province["04"])
    assert {r["Mã tỉnh"] for r in rows} == {"04"}
    assert all(r["Tỉnh, thành phố"] == "Cao Bằng" for r in rows)
    red = next(r for r in rows if r["Màu"] == "Đỏ")
    assert red["Tiêu chí chưa đạt"]  # a red commune names what it misses
    assert set(rows[0]) >= {"NET-01", "ATT-03"}


def test_xlsx_one_sheet_per_level_with_autofilters(site: Site) -> None:
    data = render(build_report(site.services, "national", lang="en"), "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Provinces", "Communes", "Criteria"]
    provinces, communes = wb["Provinces"], wb["Communes"]
    assert provinces.max_row - 1 == 34 and provinces.auto_filter.ref == "A1:H35"
    assert communes.max_row - 1 == 3321 and communes.auto_filter.ref
    assert wb["Criteria"].max_row - 1 == 16
    names = {row[1] for row in provinces.iter_rows(min_row=2, values_only=True)}
    assert "Thành phố Hà Nội" in names


def test_commune_report_shows_evidence_attestations_and_waivers(site: Site) -> None:
    site.services.attestations.record_waiver(
        commune=HK,
        criterion="EQ-04",
        reason="Camera đang thay thế",
        actor="operator",
        valid_days=10,
    )
    rep = build_report(site.services, "commune", HK)
    assert [d.id for d in rep.detail][:2] == ["NET-01", "NET-02"]
    assert all(d.evidence for d in rep.detail if d.kind == "automated")
    assert any(a["criterion_id"] == "ATT-01" for a in rep.attestations)
    assert rep.waivers and rep.waivers[0]["reason"] == "Camera đang thay thế"
    wb = openpyxl.load_workbook(io.BytesIO(render(rep, "xlsx")))
    assert {"Bằng chứng", "Xác nhận", "Miễn trừ"} <= set(wb.sheetnames)
    doc = json.loads(render(rep, "json"))
    assert doc["scope"] == "commune" and doc["communes"][0]["name"] == "Phường Hoàn Kiếm"
    assert doc["waivers"][0]["granted_by"] == "operator"


@pytest.mark.integration
def test_pdf_embeds_its_font_and_keeps_vietnamese(site: Site, tmp_path: Path) -> None:
    pdffonts = require_binary("pdffonts")
    pdftotext = require_binary("pdftotext")
    pdftoppm = require_binary("pdftoppm")
    ARTIFACTS.mkdir(exist_ok=True)
    for scope, code, name in (
        ("national", None, "report-national"),
        ("province", "04", "report-province-04"),
        ("commune", HK, "report-commune-00070"),
    ):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(render(build_report(site.services, scope, code), "pdf"))
        fonts = subprocess.run(
            [pdffonts, str(pdf)], capture_output=True, text=True, check=True
        ).stdout
        dejavu = [line for line in fonts.splitlines() if "DejaVuSans" in line]
        assert dejavu and all(" yes " in line for line in dejavu), fonts  # emb yes
        text = subprocess.run(
            [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for words in (
            "Báo cáo mức độ sẵn sàng phục vụ người dân",
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Nghị định 118/2025/NĐ-CP",
            "CĂN CỨ CÁC TIÊU CHÍ" if scope != "commune" else "Căn cứ các tiêu chí",
            "Tỷ lệ xanh" if scope != "commune" else "VIỆC CẦN LÀM",
        ):
            assert words in text, (name, words)
        if scope == "national":
            assert "Thành phố Hà Nội" in text and "Cao Bằng" in text
        if scope == "commune":
            assert "Phường Hoàn Kiếm, Thành phố Hà Nội" in text
            assert "Không đạt" in text or "Đạt" in text
        subprocess.run(
            [pdftoppm, "-r", "80", "-png", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / name)],
            check=True,
        )
    assert list(ARTIFACTS.glob("report-national*.png"))


def test_english_report(site: Site) -> None:
    doc = json.loads(render(build_report(site.services, "province", "01", lang="en"), "json"))
    assert doc["title"] == "Readiness report" and doc["scope_label"] == "Thành phố Hà Nội"
    assert doc["catalogue"][0]["title"] == "Dedicated data network link up"


# ------------------------------------------------------------------------------ CLI
def test_report_cli_writes_each_format(site: Site, tmp_path: Path) -> None:
    runner = CliRunner()
    for args, fmt in (
        (["--scope", "national"], "csv"),
        (["--scope", "province", "04"], "xlsx"),
        (["--scope", "commune", HK, "--lang", "en"], "json"),
        (["--scope", "province", "01"], "pdf"),
    ):
        out = tmp_path / f"r.{fmt}"
        r = runner.invoke(
            main, ["report", "--db", str(site.db_path), *args, "--format", fmt, "-o", str(out)]
        )
        assert r.exit_code == 0, r.output
        assert out.stat().st_size > 0
    assert len(list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig"))))) == 3322
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "district", "01", "--format", "pdf"], "'district' is not one of"),
        (["--scope", "national", "--format", "docx"], "'docx' is not one of"),
        (["--scope", "province", "--format", "pdf"], "needs a code"),
        (["--scope", "national", "01", "--format", "pdf"], "takes no code"),
        (["--scope", "province", "99", "--format", "pdf"], "unknown province code '99'"),
        (["--scope", "commune", "123", "--format", "csv"], "unknown commune code '123'"),
        (["--scope", "national"], "give --format"),
    ],
)
def test_report_cli_bad_input_is_a_clean_error(
    site: Site, tmp_path: Path, args: list[str], message: str
) -> None:
    r = CliRunner().invoke(
        main, ["report", "--db", str(site.db_path), *args, "-o", str(tmp_path / "out.bin")]
    )
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert not (tmp_path / "out.bin").exists()


def test_user_cli(tmp_path: Path) -> None:
    db = str(tmp_path / "users.db")
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "--db", db]).exit_code == 0
    add = ["user", "add", "--db", db, "--username", "can-bo", "--role", "operator"]
    r = runner.invoke(main, [*add, "--password-stdin"], input="mat-khau-123\n")
    assert r.exit_code == 0, r.output
    assert "can-bo added with role operator" in r.output
    again = runner.invoke(main, [*add, "--password-stdin"], input="mat-khau-123\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(
        main,
        ["user", "add", "--db", db, "--username", "x2", "--role", "viewer", "--password-stdin"],
        input="ngan\n",
    )
    assert short.exit_code == 1 and "too short" in short.output
    role = runner.invoke(main, ["user", "add", "--db", db, "--username", "y", "--role", "boss"])
    assert role.exit_code == 2
    prompt = runner.invoke(
        main,
        ["user", "add", "--db", db, "--username", "admin1", "--role", "admin"],
        input="mat-khau-456\nmat-khau-456\n",
    )
    assert prompt.exit_code == 0, prompt.output
    listed = runner.invoke(main, ["user", "list", "--db", db, "--json"])
    users = {u["username"]: u["role"] for u in json.loads(listed.output)}
    assert users == {"can-bo": "operator", "admin1": "admin"}
