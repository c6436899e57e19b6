"""``ioc-collector catalogue check``: validate a catalogue before `serve` reloads it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from collector.cli import main
from tests.fuzz.test_catalogue_reload import CATALOGUE, SEVERITY_LINE


def check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["catalogue", "check", *args])
    return result.exit_code, result.output


def test_the_built_in_catalogue_checks_ok() -> None:
    code, out = check()
    assert code == 0, out
    assert out.startswith("OK: profile decree118, ")
    assert "rules fingerprint " in out


def test_a_good_file_and_a_broken_one(tmp_path: Path) -> None:
    good = tmp_path / "criteria.yaml"
    good.write_text(CATALOGUE.format(severity="major", warn=0.2), encoding="utf-8")
    code, out = check(str(good))
    assert code == 0, out
    assert "1 criteria (1 automated, 0 attested)" in out

    bad = tmp_path / "bad.yaml"
    bad.write_text(CATALOGUE.format(severity="urgent", warn=0.2), encoding="utf-8")
    code, out = check(str(bad))
    assert code == 1
    assert f"line {SEVERITY_LINE}" in out and "severity" in out and str(bad) in out
    assert "Traceback" not in out

    code, out = check(str(tmp_path / "missing.yaml"))
    assert code == 1 and "missing.yaml" in out and "Traceback" not in out
