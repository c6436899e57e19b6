"""The national report on the full simulated nation (3,321 communes): under 10 s per format.

The nation is simulated ONCE for this module (~90 s through the real HTTP API); the XLSX and
CSV checks reuse it. Measured times are written to artifacts/report-timings.json.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator

import openpyxl
import pytest

from collector.reports import build_report, render
from tests import paths
from tests.peers.site import Site, database_for, open_site

ARTIFACTS = paths.ARTIFACTS
BUDGET_S = 10.0


@pytest.fixture(scope="module")
def nation(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    db = database_for(request, tmp_path_factory.mktemp("nation"))
    yield from open_site(db, None, users=False)


@pytest.fixture(scope="module")
def national_files(nation: Site) -> dict[str, tuple[bytes, float]]:
    out = {}
    for fmt in ("pdf", "xlsx", "csv", "json"):
        started = time.perf_counter()
        data = render(build_report(nation.services, "national"), fmt)
        out[fmt] = (data, time.perf_counter() - started)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-timings.json").write_text(
        json.dumps({f: round(s, 3) for f, (_, s) in out.items()}, indent=2)
    )
    return out


@pytest.mark.timeout(600)
def test_national_report_under_ten_seconds(national_files: dict[str, tuple[bytes, float]]) -> None:
    slow = {f: round(s, 2) for f, (_, s) in national_files.items() if s >= BUDGET_S}
    assert not slow, f"national report over {BUDGET_S} s: {slow}"


def test_national_data_is_mostly_reported(nation: Site) -> None:
    s = nation.services.readiness.summary()
    assert s["communes"] == 3321
    assert s["grey"] < 0.05 * 3321  # the simulation reached nearly every commune
    assert 0.4 < s["green_ratio"] < 0.8


def test_national_xlsx_has_34_provinces(national_files: dict[str, tuple[bytes, float]]) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(national_files["xlsx"][0]), read_only=True)
    provinces = list(wb["Tỉnh, thành phố"].iter_rows(min_row=2, values_only=True))
    assert len(provinces) == 34
    assert sum(row[2] for row in provinces) == 3321
    communes = list(wb["Xã phường đặc khu"].iter_rows(min_row=2, values_only=True))
    assert len(communes) == 3321


def test_national_csv_has_3321_communes(national_files: dict[str, tuple[bytes, float]]) -> None:
    rows = list(csv.DictReader(io.StringIO(national_files["csv"][0].decode("utf-8-sig"))))
    assert len(rows) == 3321
    assert len({r["Mã xã"] for r in rows}) == 3321
    colours = {r["Màu"] for r in rows}
    assert colours == {"Xanh", "Vàng", "Đỏ", "Xám"}


def test_national_pdf_is_a_document(national_files: dict[str, tuple[bytes, float]]) -> None:
    data = national_files["pdf"][0]
    assert data.startswith(b"%PDF") and b"DejaVuSans" in data
