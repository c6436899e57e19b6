"""Verdicts: the national pass decides colours and statuses from each host's verdict (a few
bytes) instead of its findings; reasons and evidence follow. The statuses must be exactly
those of the full evaluation, whatever the hosts say. (The store's use of verdicts:
tests/collector/test_verdicts_store.py.)"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from collector.criteria.catalogue import UNIT_KINDS, Severity, load_catalogue
from collector.criteria.engine import (
    Attestation,
    Colour,
    CriterionStatus,
    Observation,
    VerdictMemo,
    Waiver,
    evaluate_commune,
    evaluate_verdicts,
    host_findings,
    host_verdict,
    verdict_is_current,
)
from collector.criteria.rules import Rules
from tests.collector.test_engine import all_ok, attested, obs, replace

NOW = datetime(2025, 7, 31, 8, 0, tzinfo=UTC)
BASE = load_catalogue()
#: The default catalogue, with one criterion that does not apply to wards (so that "not
#: applicable", and a waiver over it, are exercised too).
CAT = BASE.model_copy(
    update={
        "criteria": [
            c.model_copy(update={"applies_to": ["xã", "đặc khu"]}) if c.id == "EQ-02" else c
            for c in BASE.criteria
        ]
    }
)
RULES = Rules.of(CAT)
STATUSES = ("ok", "warn", "fail", "unknown")


def random_host(rng: random.Random, name: str) -> list[Observation]:
    """Some of the checks of a healthy commune, each with a random status, values scaled
    across the thresholds, sometimes a second target, sometimes a target no rule names."""
    out = []
    # all_ok() has SIP only: add VC-01's other alternatives (any_of) and the optional switch.
    extra = [Observation(name, c, "", "ok", {}, "", NOW) for c in ("vc.h323", "vc.stun")]
    extra.append(Observation(name, "eq.switch", "sw-1", "ok", {}, "", NOW))
    for o in all_ok() + extra:
        if rng.random() < 0.3:
            continue  # this host does not run that check
        values = {k: v * rng.choice((0.0, 0.01, 0.5, 1.0, 3.0, 20.0)) for k, v in o.values.items()}
        if rng.random() < 0.2:
            values.pop(next(iter(values)), None) if values else None
        target = o.target if rng.random() < 0.9 else "other"
        out.append(Observation(name, o.check, target, rng.choice(STATUSES), values, "", NOW))
        if rng.random() < 0.1:  # the same check for a second target
            out.append(Observation(name, o.check, "second", rng.choice(STATUSES), {}, "", NOW))
    return out


def random_commune(rng: random.Random) -> tuple[
    str, list[list[Observation]], list[Attestation], list[Waiver]
]:
    hosts = [random_host(rng, f"pc-{i}") for i in range(rng.choice((0, 1, 1, 2, 3, 6)))]
    atts = []
    for cid in ("ATT-01", "ATT-02", "ATT-03"):
        for k in range(rng.choice((0, 1, 1, 2))):  # none, one, or a newer one over an older
            atts.append(
                Attestation(
                    cid,
                    rng.choice(("pass", "fail")),
                    "decision",
                    "op",
                    NOW - timedelta(days=10 - k),
                    NOW + timedelta(days=rng.choice((-1, 30))),  # some expired
                )
            )
    waivers = [
        Waiver(c.id, "reason", "op", NOW + timedelta(days=rng.choice((-1, 30))))
        for c in CAT.criteria
        if rng.random() < 0.08
    ]
    return rng.choice(UNIT_KINDS), hosts, atts, waivers


def test_statuses_from_verdicts_are_those_of_the_full_evaluation() -> None:
    """3,000 random communes (0-6 hosts each, every status, thresholds on either side,
    missing and extra targets, optional and any_of rules, attestations old, new and expired,
    waivers, a criterion not applicable): same colour and same status for every criterion."""
    rng = random.Random(118)
    seen: set[tuple[str, str]] = set()
    memo = VerdictMemo()
    for _ in range(3000):
        kind, hosts, atts, waivers = random_commune(rng)
        full = evaluate_commune(RULES, kind, [o for h in hosts for o in h], atts, waivers, NOW)
        verdicts = [host_verdict(RULES, host_findings(RULES, h)) for h in hosts if h]
        colour, statuses = evaluate_verdicts(RULES, kind, verdicts, atts, waivers, NOW)
        expected = {cid: (o.status.value, o.severity.value) for cid, o in full.criteria.items()}
        assert statuses == expected
        assert colour is full.colour
        # A memo's answer is the same (its key holds everything the statuses depend on).
        assert evaluate_verdicts(RULES, kind, verdicts, atts, waivers, NOW, memo) == (
            colour, statuses
        )
        seen.update((cid, st) for cid, (st, _) in statuses.items())
    # The cases really cover every outcome of the criteria that decide colours.
    assert {st for _, st in seen} == {s.value for s in CriterionStatus}
    for cid in ("VC-01", "NET-01", "EQ-04", "ATT-02"):
        assert {(cid, s) for s in ("pass", "fail", "unknown", "waived")} <= seen, cid
    assert ("EQ-02", "not_applicable") in seen


def test_a_verdict_is_short_and_names_its_catalogue() -> None:
    findings = host_findings(RULES, all_ok())
    verdict = host_verdict(RULES, findings)
    fingerprint, rules, checks = verdict.split(":")
    assert fingerprint == RULES.fingerprint
    assert len(rules) == len(RULES.compiled.rules) and len(checks) == len(RULES.compiled.checks)
    assert set(rules) <= set(".0123") and set(checks) <= {"0", "1"}
    assert len(verdict) < 120 < len(str(findings.to_json()))
    assert verdict_is_current(RULES, verdict)
    other = CAT.model_copy(
        update={"criteria": [c for c in CAT.criteria if c.id != "EQ-02"]}
    )
    assert not verdict_is_current(Rules.of(other), verdict)
    assert not verdict_is_current(RULES, None)
    # No host: every automated criterion unknown, as in the full evaluation.
    colour, statuses = evaluate_verdicts(RULES, "xã", [], (), (), NOW)
    assert colour is Colour.YELLOW
    assert statuses["NET-01"][0] == "unknown" and statuses["EQ-02"][0] == "unknown"


def test_a_memo_never_answers_for_other_rules_and_stays_bounded() -> None:
    """Two snapshots whose verdicts pool to the same characters (same rule positions, one
    severity changed) share a memo without sharing answers; a full memo is emptied."""
    critical = Rules.of(CAT.model_copy(update={"criteria": [
        c.model_copy(update={"severity": Severity.CRITICAL}) if c.id == "EQ-01" else c
        for c in CAT.criteria
    ]}))
    assert critical.fingerprint != RULES.fingerprint
    failing = replace(all_ok(), obs("host.disk", target="/", disk_free_ratio=0.05))
    memo = VerdictMemo(max_entries=2)
    answers = {}
    for rules in (RULES, critical, RULES, critical):
        verdict = host_verdict(rules, host_findings(rules, failing))
        answer = evaluate_verdicts(rules, "xã", [verdict], attested(), (), NOW, memo)
        assert answers.setdefault(rules.fingerprint, answer) is answer  # memo hit: same answer
    assert answers[RULES.fingerprint][0] is Colour.YELLOW
    assert answers[critical.fingerprint][0] is Colour.RED
    assert len(memo) == 2
    evaluate_verdicts(RULES, "phường", [], (), (), NOW, memo)
    assert len(memo) == 1  # was full: emptied, then this answer kept

