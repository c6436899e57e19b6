"""`make demo`'s summary table writes green coverage as Vietnamese does (61,9 %)."""

from __future__ import annotations

from rich.console import Console

from collector.demo.run import _summary_table


def test_summary_table_writes_percentages_in_vietnamese() -> None:
    row = {
        "code": "04",
        "name": "Cao Bằng",
        "communes": 56,
        "green": 0,
        "yellow": 30,
        "red": 20,
        "grey": 6,
        "green_ratio": 0.0,
    }
    summary = {
        **row,
        "communes": 3321,
        "green": 2056,
        "green_ratio": 0.619,
        "by_province": [
            {**row, "green_ratio": 0.25},
        ],
    }
    console = Console(width=120, record=True)
    console.print(_summary_table(summary))
    text = console.export_text()
    assert "61,9 %" in text and "25,0 %" in text
    assert "61.9" not in text
