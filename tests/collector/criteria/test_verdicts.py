"""Verdicts: the national pass decides colours and statuses from each host's verdict (a few
bytes) instead of its findings; reasons and evidence follow. One interpreter decides both,
over two algebras (verdict characters, findings): the statuses must be exactly those of the
full evaluation, whatever the hosts say. (The store's use of verdicts:
tests/collector/service/test_verdicts_store.py.)"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from collector.criteria.catalogue import COMMUNE_KINDS, Severity, load_catalogue, parse_catalogue
from collector.criteria.engine import (
    Attestation,
    Colour,
    CommuneEvaluation,
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
from tests.collector.criteria.test_engine import all_ok, attested, obs, replace

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


def random_commune(
    rng: random.Random,
) -> tuple[str, list[list[Observation]], list[Attestation], list[Waiver]]:
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
    return rng.choice(COMMUNE_KINDS), hosts, atts, waivers


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
            colour,
            statuses,
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
    other = CAT.model_copy(update={"criteria": [c for c in CAT.criteria if c.id != "EQ-02"]})
    assert not verdict_is_current(Rules.of(other), verdict)
    assert not verdict_is_current(RULES, None)
    # No host: every automated criterion unknown, as in the full evaluation.
    colour, statuses = evaluate_verdicts(RULES, "xã", [], (), (), NOW)
    assert colour is Colour.YELLOW
    assert statuses["NET-01"][0] == "unknown" and statuses["EQ-02"][0] == "unknown"


def test_a_memo_never_answers_for_other_rules_and_stays_bounded() -> None:
    """Two snapshots whose verdicts pool to the same characters (same rule positions, one
    severity changed) share a memo without sharing answers; a full memo is emptied."""
    critical = Rules.of(
        CAT.model_copy(
            update={
                "criteria": [
                    c.model_copy(update={"severity": Severity.CRITICAL}) if c.id == "EQ-01" else c
                    for c in CAT.criteria
                ]
            }
        )
    )
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


# ----------------------------------------------------------------- each rule, both algebras

SEMANTICS = Rules.of(
    parse_catalogue("""
profile: semantics
criteria:
  - id: OPT-1
    title: {vi: t, en: a measured value and an optional device}
    basis: test
    kind: automated
    severity: major
    rules:
      - {check: a.one, value: x, warn_below: 2, fail_below: 1}
      - {check: a.switch, optional: true}
  - id: OPT-2
    title: {vi: t, en: only optional devices}
    basis: test
    kind: automated
    severity: minor
    rules:
      - {check: a.switch, optional: true}
  - id: ANY-1
    title: {vi: t, en: one meeting protocol}
    basis: test
    kind: automated
    severity: critical
    rules:
      - any_of: [{check: b.sip}, {check: b.h323}, {check: b.stun}]
  - id: WARD-1
    title: {vi: t, en: wards only}
    basis: test
    kind: automated
    severity: critical
    applies_to: [phường]
    rules:
      - {check: a.one}
  - id: ATT-1
    title: {vi: t, en: attested}
    basis: test
    kind: attested
    severity: critical
    validity_days: 30
""")
)
_ALL_FINE = [obs("a.one", x=5), obs("b.sip")]
_SIGNED = (
    Attestation(
        "ATT-1", "pass", "decision", "op", NOW - timedelta(days=1), NOW + timedelta(days=29)
    ),
)


def both(
    observations: list[Observation],
    atts: Sequence[Attestation] = _SIGNED,
    waivers: tuple[Waiver, ...] = (),
    kind: str = "xã",
) -> CommuneEvaluation:
    """The detailed evaluation under SEMANTICS, once the compact one said the same."""
    full = evaluate_commune(SEMANTICS, kind, observations, atts, waivers, NOW)
    by_host: dict[str, list[Observation]] = {}
    for o in observations:
        by_host.setdefault(o.host, []).append(o)
    verdicts = [host_verdict(SEMANTICS, host_findings(SEMANTICS, h)) for h in by_host.values()]
    colour, statuses = evaluate_verdicts(SEMANTICS, kind, verdicts, atts, waivers, NOW)
    assert statuses == {cid: (o.status.value, o.severity.value) for cid, o in full.criteria.items()}
    assert colour is full.colour
    return full


def test_an_optional_rule_without_result_is_left_out() -> None:
    ev = both(_ALL_FINE)
    assert ev.criteria["OPT-1"].status is CriterionStatus.PASS
    assert ev.criteria["OPT-1"].reason_en == "x = 5 on pc-1"
    # A criterion of optional rules only, none with a result: unknown, not pass.
    assert ev.criteria["OPT-2"].status is CriterionStatus.UNKNOWN
    assert ev.criteria["OPT-2"].reason_en == "no result from any of its checks"
    assert ev.criteria["OPT-2"].reason_vi == "chưa có kết quả kiểm tra nào"
    # A result that does arrive counts, on whichever host.
    ev = both([*_ALL_FINE, obs("a.switch", status="fail", host="pc-2")])
    assert ev.criteria["OPT-1"].status is CriterionStatus.FAIL
    assert ev.criteria["OPT-1"].reason_en == "a.switch fail on pc-2"
    assert ev.criteria["OPT-2"].status is CriterionStatus.FAIL


def test_any_of_keeps_the_best_measured_alternative() -> None:
    sip_down = [obs("a.one", x=5), obs("b.sip", status="fail")]
    ev = both(sip_down)  # H.323 and STUN not used here: they do not make it unknown
    assert ev.criteria["ANY-1"].status is CriterionStatus.FAIL
    assert ev.criteria["ANY-1"].reason_en == "b.sip fail on pc-1"
    assert ev.colour is Colour.RED
    ev = both([*sip_down, obs("b.stun", host="pc-2")])  # one measured alternative passes
    assert ev.criteria["ANY-1"].status is CriterionStatus.PASS
    assert ev.criteria["ANY-1"].reason_en == "b.stun ok on pc-2"
    assert len(ev.criteria["ANY-1"].evidence) == 2  # every measured alternative's evidence
    ev = both([*sip_down, obs("b.stun", status="unknown")])  # might still be fine
    assert ev.criteria["ANY-1"].status is CriterionStatus.UNKNOWN
    ev = both([obs("a.one", x=5)])  # none measured: every alternative, each unknown
    assert ev.criteria["ANY-1"].status is CriterionStatus.UNKNOWN
    assert ev.criteria["ANY-1"].reason_en == (
        "no result from check b.sip; no result from check b.h323; no result from check b.stun"
    )


def test_a_waiver_turns_a_failure_into_waived_until_it_expires() -> None:
    failing = [obs("a.one", x=0.5), obs("b.sip")]
    waiver = Waiver("OPT-1", "new PC ordered", "director", NOW + timedelta(days=3))
    ev = both(failing, waivers=(waiver,))
    assert ev.criteria["OPT-1"].status is CriterionStatus.WAIVED
    assert ev.criteria["OPT-1"].reason_en == (
        "waived by director until 2025-08-03: new PC ordered (x = 0.5 < 1 on pc-1)"
    )
    assert ev.criteria["OPT-1"].evidence[0]["values"] == {"x": 0.5}
    expired = Waiver("OPT-1", "new PC ordered", "director", NOW)
    assert both(failing, waivers=(expired,)).criteria["OPT-1"].status is CriterionStatus.FAIL
    # A passing criterion stays a pass under a waiver.
    ev = both(_ALL_FINE, waivers=(Waiver("ANY-1", "r", "d", NOW + timedelta(days=3)),))
    assert ev.criteria["ANY-1"].status is CriterionStatus.PASS


def test_attestations_latest_decides_and_expires() -> None:
    ev = both(_ALL_FINE, atts=())
    assert ev.criteria["ATT-1"].status is CriterionStatus.UNKNOWN
    assert ev.criteria["ATT-1"].reason_en == "no attestation entered"
    expired = [
        Attestation(
            "ATT-1", "pass", "decision", "op", NOW - timedelta(days=31), NOW - timedelta(days=1)
        )
    ]
    ev = both(_ALL_FINE, atts=expired)
    assert ev.criteria["ATT-1"].status is CriterionStatus.UNKNOWN
    assert ev.criteria["ATT-1"].reason_en == "attestation expired on 2025-07-30"
    assert ev.criteria["ATT-1"].evidence[0]["entered_by"] == "op"
    assert ev.colour is Colour.YELLOW
    not_met = Attestation(
        "ATT-1",
        "fail",
        "inspection",
        "inspector",
        NOW - timedelta(hours=1),
        NOW + timedelta(days=29),
    )
    ev = both(_ALL_FINE, atts=[not_met, *_SIGNED])  # the newer one decides, in any order
    assert ev.criteria["ATT-1"].status is CriterionStatus.FAIL
    assert ev.criteria["ATT-1"].reason_en == "attested as not met by inspector"
    assert ev.colour is Colour.RED


def test_not_applicable_to_this_kind_of_commune() -> None:
    ev = both([obs("a.one", status="fail"), obs("b.sip")])
    assert ev.criteria["WARD-1"].status is CriterionStatus.NOT_APPLICABLE
    assert ev.criteria["WARD-1"].reason_en == "does not apply to a xã"
    assert ev.colour is Colour.YELLOW  # OPT-1 fails (major); WARD-1 does not count
    ev = both([obs("a.one", status="fail"), obs("b.sip")], kind="phường")
    assert ev.criteria["WARD-1"].status is CriterionStatus.FAIL
    assert ev.colour is Colour.RED
    # A waiver in force covers anything but a pass, "not applicable" included.
    waiver = Waiver("WARD-1", "r", "d", NOW + timedelta(days=1))
    assert both(_ALL_FINE, waivers=(waiver,)).criteria["WARD-1"].status is (CriterionStatus.WAIVED)


def test_colour_red_for_a_critical_failure_yellow_for_anything_else_not_met() -> None:
    fine = both(_ALL_FINE, waivers=(Waiver("OPT-2", "r", "d", NOW + timedelta(days=1)),))
    assert fine.colour is Colour.GREEN  # pass, waived and not applicable only
    assert both(_ALL_FINE).colour is Colour.YELLOW  # OPT-2 unknown
    assert both([obs("a.one", x=1.5), obs("b.sip")]).colour is Colour.YELLOW  # a warning
    assert both([obs("a.one", x=0.5), obs("b.sip")]).colour is Colour.YELLOW  # major fails
    assert both([obs("a.one", x=5), obs("b.sip", status="fail")]).colour is Colour.RED
