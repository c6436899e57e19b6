"""Durations in the rule language: ``for:`` (a failure counts once it has lasted) and
``recover:`` (a recovery counts once it has been clear that long), judged per host from a
few bytes of state, with the clock of the measurements (time-compressed: no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.criteria.catalogue import CatalogueError, load_catalogue, parse_catalogue
from collector.criteria.engine import (
    Conditions,
    HostFindings,
    Observation,
    advance_conditions,
    apply_durations,
    evaluate_findings,
    host_findings,
)
from collector.criteria.rules import Rules
from tests import paths

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Nội
RULES = Rules.of(load_catalogue())


def link(up: bool, at: datetime) -> Observation:
    return Observation(
        "pasc-00070",
        "net.dedicated",
        "provincial-gateway:443",
        "ok" if up else "fail",
        {"tcp_up": 1.0 if up else 0.0},
        "" if up else "connection timed out",
        at,
    )


class Host:
    """One host reporting every minute; its conditions kept between reports, as
    agents.conditions keeps them."""

    def __init__(self) -> None:
        self.conditions: Conditions | None = None

    def report(self, up: bool, at: datetime) -> str:
        found = host_findings(RULES, [link(up, at)])
        found, self.conditions = apply_durations(RULES, found, self.conditions, at)
        return self.net01(found)

    @staticmethod
    def net01(found: HostFindings) -> str:
        ev = evaluate_findings(RULES, "phường", [found], now=T0)
        return ev.criteria["NET-01"].status.value


def test_the_catalogue_gives_net01_its_five_minutes() -> None:
    [step] = [s for s in RULES.compiled.timed if s.key == "NET-01#0"]
    assert (step.for_s, step.recover_s) == (300, 120)
    assert "5" in RULES.catalogue.by_id()["NET-01"].basis


def test_a_link_down_for_two_minutes_is_not_red_six_minutes_is() -> None:
    host = Host()
    assert host.report(True, T0) == "pass"
    # Down for 2 minutes (3 reports), then up again: never counted.
    for m in (1, 2, 3):
        assert host.report(False, T0 + timedelta(minutes=m)) == "pass"
    assert host.report(True, T0 + timedelta(minutes=4)) == "pass"
    # Down from minute 10: pending until it has lasted 5 minutes, failing from then on.
    statuses = [host.report(False, T0 + timedelta(minutes=m)) for m in range(10, 17)]
    assert statuses == ["pass"] * 5 + ["fail", "fail"]


def test_recovery_needs_the_clear_period() -> None:
    host = Host()
    for m in range(0, 7):
        host.report(False, T0 + timedelta(minutes=m))
    assert host.report(False, T0 + timedelta(minutes=7)) == "fail"
    # Up again at minute 8: still failing until it has been up for 2 minutes.
    assert [host.report(True, T0 + timedelta(minutes=m)) for m in (8, 9, 10, 11)] == [
        "fail",
        "fail",
        "pass",
        "pass",
    ]
    # A flap during recovery starts the clear period again; a short failure never counts.
    host.report(False, T0 + timedelta(minutes=12))
    assert host.report(True, T0 + timedelta(minutes=13)) == "pass"


def test_a_first_report_with_a_failed_probe_is_pending_and_says_so() -> None:
    found = host_findings(RULES, [link(False, T0)])
    timed, cond = apply_durations(RULES, found, None, T0)
    assert cond == {"NET-01#0": ["3", int(T0.timestamp()), "0"]}
    ev = evaluate_findings(RULES, "phường", [timed], now=T0)
    outcome = ev.criteria["NET-01"]
    assert outcome.status.value == "pass"
    assert "pending: counts after 5 min (0 s so far)" in outcome.reason_en
    assert "đang chờ: chỉ tính khi kéo dài 5 phút" in outcome.reason_vi
    assert outcome.evidence[0]["status"] == "fail"  # the measurement itself is kept
    # Without durations the same result fails at once (the engine's own rule).
    plain = evaluate_findings(RULES, "phường", [found], now=T0)
    assert plain.criteria["NET-01"].status.value == "fail"


def test_a_drained_backlog_counts_its_duration() -> None:
    """A spool of reports delivered at once after the outage: each advances the condition
    in order, so six minutes of failures in one batch count."""
    cond: Conditions | None = None
    for m in range(0, 6):
        cond = advance_conditions(
            RULES, [link(False, T0 + timedelta(minutes=m))], cond, T0 + timedelta(minutes=m)
        )
    at = T0 + timedelta(minutes=6)
    found, _ = apply_durations(RULES, host_findings(RULES, [link(False, at)]), cond, at)
    assert Host.net01(found) == "fail"


def test_the_state_is_a_few_bytes_per_timed_rule() -> None:
    host = Host()
    host.report(False, T0)
    assert host.conditions is not None
    assert list(host.conditions) == ["NET-01#0"]  # EQ-03 has no result: nothing kept
    assert len(repr(host.conditions)) < 40


CATALOGUE = (paths.ROOT / "collector" / "criteria" / "decree118.yaml").read_text("utf-8")


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("for: 5 minutes", "duration '5 minutes': expected a number and a unit, e.g. 30s, 5m"),
        ("for: 5", "duration 5: expected a number and a unit"),
        ("for: 0s", "must be from 1s to 24h"),
        ("for: 2d", "expected a number and a unit"),
        ("for: 25h", "must be from 1s to 24h"),
    ],
)
def test_a_malformed_duration_is_refused_with_its_line(bad: str, said: str) -> None:
    text = CATALOGUE.replace("\n        for: 5m\n", f"\n        {bad}\n", 1)
    line = text.splitlines().index("        " + bad) + 1
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(text, "province.yaml")
    msg = str(err.value)
    assert f"line {line}, criteria[0] (NET-01).rules[0].for: " in msg
    assert said in msg


def test_durations_are_written_as_prometheus_writes_them() -> None:
    text = CATALOGUE.replace("        for: 5m\n", "        for: 1h30m\n", 1)
    text = text.replace("        recover: 2m\n", "        recover: 45s\n", 1)
    rules = Rules.of(parse_catalogue(text))
    [step] = [s for s in rules.compiled.timed if s.key == "NET-01#0"]
    assert (step.for_s, step.recover_s) == (5400, 45)
    assert rules.fingerprint != RULES.fingerprint  # agents' stored judgements are redone


def test_judged_at_ingest_without_reasons_then_in_full_when_read_is_the_same() -> None:
    """Ingest judges a host's verdict alone and keeps the conditions; its findings are
    judged when first read, from the same results and the conditions kept. Along a link
    that flaps (pending, failing, recovering, passing), that reading gives every time the
    findings, verdict and conditions a full judgement at ingest gave."""
    from collector.criteria.engine import host_verdict

    ups = [True, False, False, True, False, False, False, False, False, False, True, True]
    ups += [False, True, True, True, False]
    before: Conditions | None = None
    seen = set()
    for m, up in enumerate(ups):
        at = T0 + timedelta(minutes=m)
        full, want = apply_durations(RULES, host_findings(RULES, [link(up, at)]), before, at)
        light, kept = apply_durations(
            RULES, host_findings(RULES, [link(up, at)], detail=False), before, at, detail=False
        )
        assert kept == want and host_verdict(RULES, light) == host_verdict(RULES, full)
        assert all(f.en == f.vi == "" for fs in light.rules.values() for f in fs)
        # Read later: judged in full from the conditions ingest kept.
        read, again = apply_durations(RULES, host_findings(RULES, [link(up, at)]), kept, at)
        assert (read, again) == (full, want), m
        before = kept
        seen.add(tuple(kept["NET-01#0"][::2]))  # (status seen, status counted)
    # pending, failing, recovering and passing were all met on the way
    assert {("3", "0"), ("3", "3"), ("0", "3"), ("0", "0")} <= seen
