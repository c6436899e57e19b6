"""``ioc-collector report --from/--to`` and ``--period`` on a store holding the hand-made
roll-ups of tests/collector/service/period_fixture.py (both databases): every format (openpyxl
reads the XLSX, pdftotext finds the sections and the trend heading, the CSV header is
translated), Vietnamese by default and English; bad dates are one clean line, no traceback."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from collector.cli import main
from tests.collector.service.period_fixture import A1, A2, A3, B1, fill
from tests.conftest import require_binary

NOV = ("--from", "2026-11-01", "--to", "2026-11-30")


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(make_services, new_database) -> str:
    url = new_database("collector.db")
    fill(make_services(url=url))
    return url


def test_csv_in_vietnamese_and_english(db: str, tmp_path: Path) -> None:
    out = tmp_path / "nov.csv"
    r = cli("report", "--db", db, "--scope", "province", "01", *NOV, "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "2/4 commune-days ready" in r.output
    text = out.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Mã xã", "Xã, phường, đặc khu", "Loại"]
    assert rows[0][5:9] == [
        "Ngày làm việc",
        "Ngày sẵn sàng",
        "Giờ làm việc",
        "Tỷ lệ thời gian xanh (%)",
    ]
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code[A1][5:9] == ["2", "2", "15.0", "95.0"]
    assert by_code[A2][5:9] == ["2", "0", "15.0", "45.0"]  # 24,299 s of 54,000
    assert by_code[A3][5:9] == ["0", "0", "0.0", ""]
    assert B1 not in by_code  # Cao Bằng is not Hà Nội

    r = cli("report", "--db", db, *NOV, "--lang", "en", "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    header = next(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert header[5:] == [
        "Working days",
        "Days ready",
        "Working hours",
        "Availability (green time) (%)",
        "Criteria failed most",
    ]


def test_xlsx_sheets_and_figures(db: str, tmp_path: Path) -> None:
    out = tmp_path / "nov.xlsx"
    r = cli("report", "--db", db, "--period", "month", "--of", "2026-11", "-o", str(out))
    assert r.exit_code == 0, r.output
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Tóm tắt",
        "Tỷ lệ xanh theo ngày làm việc",
        "Tỉnh, thành phố",
        "Xã phường đặc khu",
        "Tiêu chí không đạt nhiều nhất",
    ]
    days = list(wb["Tỷ lệ xanh theo ngày làm việc"].iter_rows(values_only=True))
    assert [(d[0].date().isoformat(), d[1], d[2]) for d in days[1:]] == [
        ("2026-11-02", 3, 1),
        ("2026-11-03", 2, 1),
    ]
    assert days[1][3] == pytest.approx(1 / 3)
    communes = {row[0]: row for row in wb["Xã phường đặc khu"].iter_rows(values_only=True)}
    assert len(communes) == 3321 + 1  # every commune of the nation and the heading
    assert communes[A1][5:9] == (2, 2, 15, 0.95)
    crit = list(wb["Tiêu chí không đạt nhiều nhất"].iter_rows(values_only=True))
    assert [(c[0], c[3]) for c in crit[1:]] == [("NET-01", 0.6), ("EQ-01", 0.75), ("VC-01", 1)]


def test_pdf_has_the_sections_and_the_trend(db: str, tmp_path: Path) -> None:
    pdftotext = require_binary("pdftotext")
    for lang, words in (
        ("vi", ["TÓM TẮT", "TỶ LỆ XANH THEO NGÀY LÀM VIỆC", "Biểu đồ", "TIÊU CHÍ KHÔNG ĐẠT"]),
        ("en", ["SUMMARY", "GREEN COVERAGE PER WORKING DAY", "Chart", "CRITERIA FAILED MOST"]),
    ):
        out = tmp_path / f"nov-{lang}.pdf"
        r = cli("report", "--db", db, "--scope", "province", "01", *NOV, "--lang", lang,
                "-o", str(out))  # fmt: skip
        assert r.exit_code == 0, r.output
        text = subprocess.run(
            [pdftotext, "-layout", str(out), "-"], capture_output=True, text=True, timeout=60
        ).stdout
        for w in words:
            assert w in text, (lang, w)
    assert "33,3 %" not in text  # the province's days: 50 % each, in English figures
    assert "50.0 %" in text and "Phường Ngọc Hà" in text
    # Hà Nội's 126 communes: the table goes on over pages, its heading repeated on each.
    pages = text.split("\f")
    assert len([p for p in pages if "Availability" in p and "Criteria failed most" in p]) >= 2


def test_json_to_standard_output(db: str) -> None:
    r = CliRunner().invoke(
        main, ["report", "--db", db, "--scope", "commune", A1, *NOV, "--format", "json", "-o", "-"]
    )
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["from"] == "2026-11-01" and data["to"] == "2026-11-30"
    assert data["total"]["ready_days"] == 2 and data["total"]["availability"] == 0.95


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", "2026-11-30", "--to", "2026-11-01"), "--from is after --to"),
        (("--from", "2026-11-01", "--to", "30/11/2026"), "expected YYYY-MM-DD"),
        (("--from", "2099-01-01", "--to", "2099-01-31"), "after today"),
        (("--period", "month", "--of", "November"), "expected a month written YYYY-MM"),
        (("--from", "2026-11-01"), "give both --from and --to"),
        (("--period", "year"), "Invalid value for '--period'"),
        (("--ready-share", "0", "--period", "month"), "Invalid value for '--ready-share'"),
    ],
)
def test_bad_dates_are_one_clean_line(
    db: str, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    r = cli("report", "--db", db, *args, "-o", str(tmp_path / "x.csv"))
    assert r.exit_code == 2, r.output
    assert words in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.csv").exists()


def test_ready_share_from_the_configuration_or_the_option(db: str, tmp_path: Path) -> None:
    config = tmp_path / "collector.yaml"
    config.write_text(f"db: {json.dumps(db)}\nreports:\n  ready_share: 0.8\n")
    for args, ready in (
        (("--config", str(config)), 1),  # A2's Monday, 89.996 % green, is ready at 80 %
        (("--config", str(config), "--ready-share", "0.9"), 0),  # the option wins
        (("--db", db), 0),  # the default, 90 %
    ):
        r = CliRunner().invoke(
            main, ["report", *args, "--scope", "commune", A2, *NOV, "--format", "json", "-o", "-"]
        )
        assert r.exit_code == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["total"]["ready_days"] == ready, args


def test_help_explains_the_period() -> None:
    r = cli("report", "--help")
    assert r.exit_code == 0
    for words in ("--from YYYY-MM-DD", "--period [month|quarter]", "last", "ready-share"):
        assert words in r.output
