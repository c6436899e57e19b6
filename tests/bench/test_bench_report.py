"""docs/BENCHMARKS.md is rewritten one section at a time: ``--only`` must keep the sections it
did not measure, in their place, and refuse a benchmark name it does not know."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench import report
from bench.run import _only


def test_a_partial_run_replaces_its_sections_and_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    report.write(
        out,
        {
            "ingest": f"{report.HEADINGS['ingest']}\n\ningest v1\n",
            "nation": f"{report.HEADINGS['nation']}\n\nnation v1\n",
        },
    )
    report.write(
        out,
        {
            "drain": f"{report.HEADINGS['drain']}\n\ndrain v1\n",
            "ingest": f"{report.HEADINGS['ingest']}\n\ningest v2\n",
        },
    )
    text = out.read_text(encoding="utf-8")
    assert "ingest v2" in text and "ingest v1" not in text
    assert "nation v1" in text and "drain v1" in text
    # File order, whatever the order of the run; intro once, closing section last.
    positions = [text.index(report.HEADINGS[k]) for k in ("ingest", "nation", "drain")]
    assert positions == sorted(positions)
    assert text.count("# Benchmarks\n") == 1
    assert text.rstrip().endswith("lists the sizes that can be changed.")
    closing = "## Where an ingested report's time goes"
    assert text.count(closing) == 1 and text.index(closing) > positions[-1]


def test_only_names_known_benchmarks() -> None:
    assert _only("footprint, drain") == ["footprint", "drain"]
    with pytest.raises(argparse.ArgumentTypeError, match="choose from ingest, nation"):
        _only("footprint,speed")


def test_the_last_run_line_is_kept_until_a_run_says_its_own(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    drain = f"{report.HEADINGS['drain']}\n\ndrain v1\n"
    report.write(out, {"drain": drain}, "This run took 8 min 00 s in all.")
    report.write(out, {"drain": drain})  # a writer that times nothing keeps the line
    text = out.read_text(encoding="utf-8")
    assert text.count("**Last run.** This run took 8 min 00 s in all.") == 1
    assert text.index("**Last run.**") < text.index(report.HEADINGS["drain"])
    report.write(out, {"drain": drain}, "This run took 1 min 00 s in all.")
    text = out.read_text(encoding="utf-8")
    assert "8 min" not in text and text.count("**Last run.**") == 1
