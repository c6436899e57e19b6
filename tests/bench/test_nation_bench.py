"""The national benchmark at a small scale: it runs, its figures are consistent, and its
report says what was measured."""

from __future__ import annotations

from bench.nation import bench_nation_at_scale
from bench.run import national_section


def test_nation_benchmark_measures_statuses_then_details(tmp_path) -> None:
    n = bench_nation_at_scale(tmp_path, hosts=4000)
    communes = n["communes"]
    assert n["hosts"] == 4000 and communes > 3000
    # Every commune's statuses from verdicts, then every commune's details.
    assert n["all_statuses"][1] == communes == n["all_details"][1] == n["all_from_findings"][1]
    assert n["steady_pass"][1] == 0
    # The evening pass re-evaluated the communes of the hosts switched off, and the
    # details that followed were exactly those communes'.
    assert 0 < n["evening_pass"][1] <= n["switched_off"] == 400
    assert n["evening_details"][1] == n["evening_pass"][1]
    for key in ("steady_pass", "evening_pass", "all_statuses", "all_details", "full_rejudge"):
        assert n[key][0] > 0, key
    text = national_section(n, {"s": 0.04, "series": 500})
    assert "every commune's colour and statuses, from its hosts' verdicts" in text
    assert f"| {communes:,} |" in text
    assert "national evaluation ≤ 1 s:" in text
