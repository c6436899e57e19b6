"""``make bench`` keeps to its time budget: each section's time is printed and written under
its heading, the run's total under the introduction, and a run that will not fit in
``--budget-s`` says so before the section that overruns and again at the end."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pytest

from bench import budget, report, run


def _defaults(*argv: str) -> argparse.Namespace:
    return run._parser().parse_args(list(argv))


#: What each section took on the 2-core development machine (2026-12-05, other work beside
#: it) with the sizes before the budget: --duration 30, the paced minute 60 s, 50,000 hosts
#: on PostgreSQL too, 10 footprint cycles, a 45 s fleet window, retention 1,500 hosts for
#: 30 days with 20 s prune windows.
MEASURED_S = {"nation": 305, "footprint": 70, "drain": 107, "zabbix": 206, "retention": 146}
BEFORE = [
    "--duration", "30", "--nation-paced", "60", "--pg-hosts", "50000", "--cycles", "10",
    "--fleet-window", "45", "--retention-hosts", "1500", "--retention-days", "30",
    "--prune-window", "20",
]  # fmt: skip


def test_the_expectations_are_within_a_tenth_of_what_the_sections_took() -> None:
    args = _defaults(*BEFORE)
    for name, took in MEASURED_S.items():
        assert abs(budget.expected_s(name, args) - took) <= 0.1 * took, name


def test_the_defaults_are_expected_to_take_half_the_time_they_took_before() -> None:
    before, now = _defaults(*BEFORE), _defaults()
    each = {name: budget.expected_s(name, now) for name in run.BENCHMARKS}
    assert set(each) == set(report.HEADINGS)
    assert all(s > 10 for s in each.values()), each
    assert sum(each.values()) <= 0.6 * sum(budget.expected_s(n, before) for n in run.BENCHMARKS)


def test_expectations_follow_the_sizes() -> None:
    short, long = _defaults("--duration", "10"), _defaults("--duration", "40")
    # 4 collector runs and the pushgateway: 5 × 30 s more.
    assert budget.expected_s("ingest", long) - budget.expected_s("ingest", short) == 150
    assert budget.expected_s("ingest", _defaults("--nation-agents", "0")) < budget.expected_s(
        "ingest", _defaults()
    )
    assert budget.expected_s("nation", _defaults("--hosts", "5000")) < budget.expected_s(
        "nation", _defaults()
    )


def test_took_reads_as_minutes_and_seconds() -> None:
    assert budget.took(42.4) == "42 s"
    assert budget.took(185) == "3 min 05 s"
    assert budget.took(600) == "10 min 00 s"


def test_a_section_that_would_overrun_is_announced_and_the_total_reported() -> None:
    b = budget.Budget(100)
    assert b.before("ingest", 60) is None
    b.after("ingest", 70)
    warning = b.before("nation", 40)
    assert warning is not None
    assert "nation is expected to take about 40 s" in warning
    assert "1 min 50 s" in warning and "1 min 40 s" in warning
    assert b.overrun() is None
    b.after("nation", 45)
    assert b.summary() == (
        "This run took 1 min 55 s in all (budget 1 min 40 s): ingest 1 min 10 s, nation 45 s."
    )
    assert b.overrun() is not None and "over the budget of 1 min 40 s" in str(b.overrun())


def test_the_section_says_what_it_took_under_its_stamp() -> None:
    section = f"{report.HEADINGS['drain']}\n\n{report.stamp()}\n\nBody.\n"
    out = report.with_took(section, 75)
    lines = out.splitlines()
    assert lines[0] == report.HEADINGS["drain"]
    assert lines[2].startswith("_Measured") and lines[3] == "This run took 1 min 15 s."
    assert out.endswith("\n\nBody.\n")


def test_main_times_each_section_and_warns_past_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run itself, with two sections that each take 0.3 s (their measurements are
    tested in their own files) and a budget of 0.4 s."""

    def section(name: str):  # type: ignore[no-untyped-def]
        def measure(args: argparse.Namespace, work: Path) -> str:
            time.sleep(0.3)
            return f"{report.HEADINGS[name]}\n\n{report.stamp()}\n\n{name} figures\n"

        return measure

    monkeypatch.setattr(run, "RUNNERS", {n: section(n) for n in ("footprint", "drain")})
    monkeypatch.setattr(run, "expected_s", lambda name, args: 0.3)
    out = tmp_path / "BENCHMARKS.md"
    argv = ["bench.run", "--only", "footprint,drain", "--out", str(out), "--budget-s", "0.4"]
    monkeypatch.setattr(sys, "argv", argv)
    assert run.main() == 0
    err = capsys.readouterr().err
    assert "footprint, drain: expected to take about 1 s in all (budget 0 s)" in err
    assert "budget: drain is expected to take about 0 s" in err
    assert "footprint took 0 s" in err and "drain took 0 s" in err
    assert "WARNING: this run took 1 s, over the budget of 0 s" in err
    text = out.read_text(encoding="utf-8")
    assert text.count("This run took 0 s.") == 2
    assert (
        "**Last run.** This run took 1 s in all (budget 0 s): footprint 0 s, drain 0 s "
        "(`--only footprint,drain`).\n"
    ) in text


def test_help_names_the_budget_and_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run._parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--budget-s S" in text and "(default: 600.0)" in text
    assert (
        "--nation-paced S seconds of the national minute's next reports at the nation's own "
        in text
    )
    assert "own rate (default: 10.0)" in text


def test_a_failing_section_is_reported_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(args: argparse.Namespace, work: Path) -> str:
        raise TimeoutError("the collector did not answer /metrics within 60 s")

    def drain(args: argparse.Namespace, work: Path) -> str:
        return f"{report.HEADINGS['drain']}\n\n{report.stamp()}\n\ndrain figures\n"

    monkeypatch.setattr(run, "RUNNERS", {"footprint": failing, "drain": drain})
    out = tmp_path / "BENCHMARKS.md"
    argv = ["bench.run", "--only", "footprint,drain", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    assert run.main() == 1
    err = capsys.readouterr().err
    assert "footprint FAILED after 0 s (TimeoutError: the collector did not answer" in err
    assert "failed: footprint" in err and "Traceback" not in err
    text = out.read_text(encoding="utf-8")
    assert "drain figures" in text and report.HEADINGS["footprint"] not in text
