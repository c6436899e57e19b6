"""Ingest judges a host's report for its verdict alone, from its latest results as kept
(their figures), without building an Observation per result
(:func:`collector.criteria.engine.host_statuses`). The statuses, the verdict and the timed
rules' conditions must be those the full interpreter gives: every simulator fault's
commune, judged both ways."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from checks.model import CheckResult
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import host_findings, host_statuses, host_verdict
from collector.criteria.rules import Rules
from collector.demo.simulator import FAULTS, CommunePlan, office_results, simulated_results
from collector.service.evaluation import judge, observations
from collector.storage.codecs import LatestResult, encode_latest, latest_key

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
RULES = Rules.of(load_catalogue())
CASES = [(), *((f,) for f in sorted(FAULTS)), tuple(sorted(FAULTS))]


def _latest(results: list[CheckResult], at: datetime) -> dict[str, LatestResult]:
    return {latest_key(r.check, r.target): LatestResult.of(r, 1, at) for r in results}


def _hosts(faults: tuple[str, ...], seed: int, at: datetime) -> dict[str, dict[str, LatestResult]]:
    rng = random.Random(seed)
    plan = CommunePlan("00001", "01", False, faults)
    return {
        "pasc-1": _latest(simulated_results(plan, rng), at),
        "pc-1": _latest(office_results(rng), at),
    }


def _figured(latest: dict[str, LatestResult]) -> list[tuple[str, str, str, dict]]:
    return [(e.check, e.target, e.status, e.figures) for e in latest.values()]


@pytest.mark.parametrize("faults", CASES, ids=lambda f: "+".join(f) or "ready")
def test_statuses_from_figures_are_the_interpreters(faults: tuple[str, ...]) -> None:
    judged_rules = 0
    for seed in (1, 2, 3):
        for host, latest in _hosts(faults, seed, NOW).items():
            quick = host_statuses(RULES, _figured(latest))
            obs = observations(host, latest)
            assert quick == host_findings(RULES, obs, detail=False)
            full = host_findings(RULES, obs)
            assert {k: [f[0] for f in fs] for k, fs in quick.rules.items()} == {
                k: [f[0] for f in fs] for k, fs in full.rules.items()
            }
            assert host_verdict(RULES, quick) == host_verdict(RULES, full)
            judged_rules += len(quick.rules)
    assert judged_rules > 0


@pytest.mark.parametrize("faults", CASES, ids=lambda f: "+".join(f) or "ready")
def test_a_verdict_judged_at_ingest_is_the_full_judgements(faults: tuple[str, ...]) -> None:
    """Reports a minute apart, the conditions of each judgement carried to the next: the
    timed rules (``for:``, ``recover:``) pending, then counted, the same both ways."""
    quick_cond = full_cond = None
    for minute in range(0, 8):
        at = NOW + timedelta(minutes=minute)
        for host, latest in _hosts(faults, 5, at).items():
            quick = judge(RULES, host, latest, quick_cond, detail=False)
            full = judge(RULES, host, latest, full_cond)
            assert (quick.verdict, quick.conditions) == (full.verdict, full.conditions)
            if host == "pasc-1":
                quick_cond, full_cond = quick.conditions, full.conditions
    if faults:
        assert quick_cond  # a timed rule was judged


def test_the_newest_measurement_whatever_its_stored_form() -> None:
    """A host's latest results may mix times written with and without a UTC offset (rows
    stored before every time carried one) and with or without microseconds: the newest
    measurement times the durations as the full judgement does."""
    rng = random.Random(9)
    plan = CommunePlan("00001", "01", False, tuple(sorted(FAULTS)))
    latest = _latest(simulated_results(plan, rng), NOW)
    keys = sorted(latest)
    stamps = [
        "2026-12-05T08:03:00",
        "2026-12-05T08:03:00.250000+00:00",
        "2026-12-05T10:01:00+07:00",
    ]
    for key, stamp in zip(keys, stamps, strict=False):
        latest[key] = latest[key]._replace(observed_at=stamp)
    before = judge(RULES, "pasc-1", latest, None, detail=False).conditions
    quick = judge(RULES, "pasc-1", latest, before, detail=False)
    full = judge(RULES, "pasc-1", latest, before)
    assert (quick.verdict, quick.conditions) == (full.verdict, full.conditions)
    # The newest is 08:03:00.25 UTC: a condition entered now is stamped with its second.
    newest = int(datetime(2026, 12, 5, 8, 3, tzinfo=UTC).timestamp())
    assert any(c[1] == newest for c in quick.conditions.values())


@pytest.mark.parametrize("status", ["ok", "warn", "fail", "unknown"])
def test_a_result_without_its_figures(status: str) -> None:
    """A result the rules read a figure of, sent without it (a device unreachable): failed
    when the check failed, not measured otherwise; a rule on the check's status with
    ``levels:`` judges the status alone. Each result of every fault, stripped in turn."""
    rng = random.Random(4)
    plan = CommunePlan("00001", "01", False, tuple(sorted(FAULTS)))
    latest = _latest(simulated_results(plan, rng), NOW)
    stripped = {k: e._replace(status=status, figures={}) for k, e in latest.items()}
    quick = host_statuses(RULES, _figured(stripped))
    full = host_findings(RULES, observations("pasc-1", stripped))
    assert {k: [f[0] for f in fs] for k, fs in quick.rules.items()} == {
        k: [f[0] for f in fs] for k, fs in full.rules.items()
    }
    judged = {str(f[0]) for fs in quick.rules.values() for f in fs}
    if status == "fail":
        assert judged == {"fail"}
    else:  # a figure not measured
        assert "unknown" in judged


def test_an_entry_merged_as_stored_is_the_stored_form_of_the_latest_result() -> None:
    """Ingest merges a report into the host's latest results in their stored form
    (``LatestResult.entry``): the same JSON as ``encode_latest`` of ``LatestResult.of``,
    with a message id and without (an older agent's), an agent's clock ahead of ours
    clamped to now."""
    rng = random.Random(6)
    plan = CommunePlan("00001", "01", False, tuple(sorted(FAULTS)))
    results = simulated_results(plan, rng) + office_results(rng)
    ahead = NOW + timedelta(minutes=3)
    variants = [
        *results,
        *(r.model_copy(update={"msg": None}) for r in results),
        *(r.model_copy(update={"observed_at": ahead}) for r in results),
    ]
    assert any(r.msg is not None for r in variants) and any(r.msg is None for r in variants)
    for r in variants:
        key = latest_key(r.check, r.target)
        entry = LatestResult.entry(r, 7, NOW)
        assert orjson.dumps(entry) == orjson.dumps(
            encode_latest({key: LatestResult.of(r, 7, NOW)})[key]
        )
        assert entry[5] <= NOW.isoformat()
