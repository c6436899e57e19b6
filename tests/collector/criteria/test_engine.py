from datetime import UTC, datetime, timedelta

import pytest

from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import (
    Attestation,
    Colour,
    CriterionStatus,
    Observation,
    Waiver,
    colour_at,
    evaluate_commune,
)
from collector.criteria.rules import Rules

NOW = datetime(2025, 7, 31, 8, 0, tzinfo=UTC)
RULES = Rules.of(load_catalogue())


def obs(
    check: str, status: str = "ok", target: str = "", host: str = "pc-1", **values: float
) -> Observation:
    return Observation(host, check, target, status, values, "", NOW)


def all_ok() -> list[Observation]:
    """Results that pass every automated criterion of the default catalogue."""
    return [
        obs("net.dedicated", tcp_up=1),
        obs("net.throughput", download_bandwidth=150e6),
        obs("net.portal", http_response_time=0.5),
        obs("vc.sip"),
        obs("vc.quality", rtt=0.04, jitter=0.005, loss=0.0),
        obs("vc.devices", camera_count=1, microphone_count=2, speaker_count=1),
        obs("host.disk", target="/", disk_free_ratio=0.5),
        obs("host.memory", memory_available_ratio=0.4),
        obs("host.clock", clock_offset_abs=0.02),
        obs("eq.printer", target="printer-1", supply_level_min=0.6),
        obs("eq.ups", target="ups-1", ups_on_line=1, ups_runtime=2400),
        obs("eq.device", target="queue-machine"),
        obs("sig.token"),
        obs("sig.certificate", cert_days_left=200),
        obs("svc.http", target="email", http_response_time=0.3),
        obs("sec.antivirus"),
        obs("sec.firewall"),
        obs("sec.updates", updates_age=3),
    ]


def attested(status: str = "pass", days: int = 100) -> list[Attestation]:
    return [
        Attestation(
            cid,
            status if cid == "ATT-02" else "pass",
            "decision no. 1",
            "op",
            NOW - timedelta(days=1),
            NOW + timedelta(days=days),
        )
        for cid in ("ATT-01", "ATT-02", "ATT-03")
    ]


def replace(items: list[Observation], new: Observation) -> list[Observation]:
    return [o for o in items if (o.check, o.target) != (new.check, new.target)] + [new]


def test_everything_measured_and_attested_is_green() -> None:
    ev = evaluate_commune(RULES, "xã", all_ok(), attested(), now=NOW)
    assert {o.status for o in ev.criteria.values()} == {CriterionStatus.PASS}
    assert ev.colour is Colour.GREEN


def test_criteria_without_results_are_unknown_never_pass() -> None:
    ev = evaluate_commune(RULES, "xã", [obs("host.disk", target="/", disk_free_ratio=0.5)], now=NOW)
    assert ev.criteria["SIG-01"].status is CriterionStatus.UNKNOWN
    assert "no result from check sig.token" in ev.criteria["SIG-01"].reason_en
    assert ev.criteria["ATT-01"].status is CriterionStatus.UNKNOWN
    assert ev.colour is Colour.YELLOW  # not green: nothing confirms readiness


@pytest.mark.parametrize(
    ("free", "expected"),
    [
        (0.25, CriterionStatus.PASS),
        (0.20, CriterionStatus.PASS),
        (0.19, CriterionStatus.WARN),
        (0.10, CriterionStatus.WARN),
        (0.09, CriterionStatus.FAIL),
    ],
)
def test_threshold_boundaries(free: float, expected: CriterionStatus) -> None:
    items = replace(all_ok(), obs("host.disk", target="/", disk_free_ratio=free))
    ev = evaluate_commune(RULES, "xã", items, attested(), now=NOW)
    assert ev.criteria["EQ-01"].status is expected
    assert ev.colour is (Colour.GREEN if expected is CriterionStatus.PASS else Colour.YELLOW)


def test_worst_host_decides_and_evidence_names_it() -> None:
    items = all_ok() + [obs("host.disk", target="C:\\", host="pc-2", disk_free_ratio=0.05)]
    ev = evaluate_commune(RULES, "xã", items, attested(), now=NOW)
    eq01 = ev.criteria["EQ-01"]
    assert eq01.status is CriterionStatus.FAIL
    assert "pc-2" in eq01.reason_en and "0.05 < 0.1" in eq01.reason_en
    assert any(
        e["host"] == "pc-2" and e["values"] == {"disk_free_ratio": 0.05} for e in eq01.evidence
    )


def test_critical_failure_is_red_major_failure_is_yellow() -> None:
    down = replace(all_ok(), obs("net.dedicated", status="fail", tcp_up=0))
    assert evaluate_commune(RULES, "xã", down, attested(), now=NOW).colour is Colour.RED
    slow = replace(all_ok(), obs("net.throughput", download_bandwidth=10e6))
    ev = evaluate_commune(RULES, "xã", slow, attested(), now=NOW)
    assert ev.criteria["NET-02"].status is CriterionStatus.FAIL
    assert ev.colour is Colour.YELLOW


def test_any_of_meeting_protocols() -> None:
    sip_down = replace(all_ok(), obs("vc.sip", status="fail"))
    ev = evaluate_commune(RULES, "xã", sip_down, attested(), now=NOW)
    assert ev.criteria["VC-01"].status is CriterionStatus.FAIL  # H.323/STUN not used: no rescue
    stun_ok = sip_down + [obs("vc.stun")]
    assert (
        evaluate_commune(RULES, "xã", stun_ok, attested(), now=NOW).criteria["VC-01"].status
        is CriterionStatus.PASS
    )
    none = [o for o in all_ok() if o.check != "vc.sip"]
    assert (
        evaluate_commune(RULES, "xã", none, attested(), now=NOW).criteria["VC-01"].status
        is CriterionStatus.UNKNOWN
    )


def test_failed_check_without_figure_fails_unknown_check_stays_unknown() -> None:
    gone = replace(all_ok(), Observation("pc-1", "eq.ups", "ups-1", "fail", {}, "no answer", NOW))
    assert (
        evaluate_commune(RULES, "xã", gone, attested(), now=NOW).criteria["EQ-03"].status
        is CriterionStatus.FAIL
    )
    unk = replace(all_ok(), Observation("pc-1", "eq.ups", "ups-1", "unknown", {}, "timeout", NOW))
    assert (
        evaluate_commune(RULES, "xã", unk, attested(), now=NOW).criteria["EQ-03"].status
        is CriterionStatus.UNKNOWN
    )


def test_attestations_expire_and_can_attest_failure() -> None:
    expired = attested(days=-1)
    ev = evaluate_commune(RULES, "xã", all_ok(), expired, now=NOW)
    assert ev.criteria["ATT-01"].status is CriterionStatus.UNKNOWN
    assert "expired" in ev.criteria["ATT-01"].reason_en
    assert ev.colour is Colour.YELLOW
    not_staffed = attested(status="fail")
    ev = evaluate_commune(RULES, "xã", all_ok(), not_staffed, now=NOW)
    assert ev.criteria["ATT-02"].status is CriterionStatus.FAIL and ev.colour is Colour.RED


def test_waiver_turns_failure_into_waived_until_it_expires() -> None:
    slow = replace(all_ok(), obs("net.throughput", download_bandwidth=10e6))
    w = Waiver("NET-02", "line upgrade scheduled", "director", NOW + timedelta(days=10))
    ev = evaluate_commune(RULES, "xã", slow, attested(), [w], now=NOW)
    assert ev.criteria["NET-02"].status is CriterionStatus.WAIVED
    assert ev.colour is Colour.GREEN
    later = NOW + timedelta(days=11)
    ev = evaluate_commune(RULES, "xã", slow, attested(days=100), [w], now=later)
    assert ev.criteria["NET-02"].status is CriterionStatus.FAIL


def test_grey_when_stale_whatever_the_colour() -> None:
    assert colour_at("green", NOW, NOW + timedelta(seconds=179), 180) is Colour.GREEN
    assert colour_at("green", NOW, NOW + timedelta(seconds=181), 180) is Colour.GREY
    assert colour_at("red", NOW, NOW + timedelta(hours=1), 180) is Colour.GREY
    assert colour_at(None, None, NOW, 180) is Colour.GREY


def test_vietnamese_reasons() -> None:
    ev = evaluate_commune(RULES, "xã", [], now=NOW)
    net01 = ev.criteria["NET-01"].reason_vi
    assert net01 == "chưa có kết quả kiểm tra Mạng truyền số liệu chuyên dùng"
    assert ev.criteria["ATT-01"].reason_vi == "chưa có xác nhận"


def test_reasons_are_rendered_from_the_catalogue_with_figures_in_the_locale() -> None:
    """Vietnamese reasons name the value and write its figures with their units (Babel);
    a check's message is rendered from its id in each language (English kept as measured)."""
    from checks.messages import msg, stored

    said = stored(msg("vc.devices.missing", missing="no_camera,no_microphone"))
    items = all_ok()
    for new in (
        obs("host.disk", target="/", disk_free_ratio=0.05),
        Observation("pc-1", "vc.devices", "", "fail", {}, "no camera, no microphone", NOW, said),
        Observation(
            "pc-1",
            "net.throughput",
            "",
            "ok",
            {"download_bandwidth": 1.64812e7},
            "",
            NOW,
            units={"download_bandwidth": "bits_per_second"},
        ),
    ):
        items = replace(items, new)
    ev = evaluate_commune(RULES, "xã", items, attested(), now=NOW)
    eq01, vc03, net02 = (ev.criteria[c] for c in ("EQ-01", "VC-03", "NET-02"))
    assert eq01.reason_vi == "máy pc-1 (/): dung lượng đĩa còn trống 5 %, dưới mức 10 %"
    assert "disk_free_ratio = 0.05 < 0.1 on pc-1 (/)" in eq01.reason_en
    assert "không có camera, không có micro" in vc03.reason_vi
    assert "no camera, no microphone" in vc03.reason_en
    assert net02.reason_vi.startswith("máy pc-1: băng thông tải xuống 16,5 Mbit/s, dưới mức")


def test_optional_device_kind_counts_only_when_present() -> None:
    # No managed switch in this commune: EQ-04 is judged on the other devices alone.
    assert (
        evaluate_commune(RULES, "xã", all_ok(), attested(), now=NOW).criteria["EQ-04"].status
        is CriterionStatus.PASS
    )
    # A switch that is polled and down does count.
    down = all_ok() + [obs("eq.switch", status="fail", target="sw-1")]
    ev = evaluate_commune(RULES, "xã", down, attested(), now=NOW)
    assert ev.criteria["EQ-04"].status is CriterionStatus.FAIL
    assert "sw-1" in ev.criteria["EQ-04"].reason_en


def test_rules_are_a_snapshot_named_by_their_criteria() -> None:
    """The fingerprint (stored in every host's findings and verdict) depends on the
    criteria alone and stays the same for the same catalogue, loaded again or not."""
    again = Rules.of(load_catalogue())
    assert again.fingerprint == RULES.fingerprint and len(RULES.fingerprint) == 16
    assert again == RULES
    longer = RULES.catalogue.model_copy(update={"stale_after_s": 600})
    assert Rules.of(longer).fingerprint == RULES.fingerprint
    assert Rules.of(longer).stale_after_s == 600
    fewer = RULES.catalogue.model_copy(update={"criteria": RULES.catalogue.criteria[1:]})
    assert Rules.of(fewer).fingerprint != RULES.fingerprint


def test_rules_holder_swaps_whole_snapshots() -> None:
    from collector.criteria.rules import RulesHolder

    holder = RulesHolder(RULES)
    held = holder.current()
    other = Rules.of(RULES.catalogue.model_copy(update={"criteria": RULES.catalogue.criteria[1:]}))
    holder.replace(other)
    assert holder.current() is other
    assert held is RULES  # a reader's snapshot is untouched by the swap
    assert len(held.compiled.criteria) == len(RULES.catalogue.criteria)


def test_levels_fail_before_warn_and_name_the_bound_crossed() -> None:
    from collector.criteria.catalogue import CheckRule
    from collector.criteria.engine import levels

    both_sides = CheckRule(
        check="vc.quality",
        value="rtt",
        warn_below=0.2,
        fail_below=0.1,
        warn_above=0.8,
        fail_above=0.9,
    )
    assert levels(0.5, both_sides) == (CriterionStatus.PASS, "")
    assert levels(0.2, both_sides) == (CriterionStatus.PASS, "")  # a bound itself passes
    assert levels(0.15, both_sides) == (CriterionStatus.WARN, "< 0.2")
    assert levels(0.05, both_sides) == (CriterionStatus.FAIL, "< 0.1")
    assert levels(0.85, both_sides) == (CriterionStatus.WARN, "> 0.8")
    assert levels(1.5, both_sides) == (CriterionStatus.FAIL, "> 0.9")
    warn_only = CheckRule(check="host.clock", value="clock_offset_abs", warn_above=1 / 3)
    assert levels(1, warn_only) == (CriterionStatus.WARN, "> 0.333333")


def test_the_catalogues_levels_judge_where_a_checks_own_status_decides() -> None:
    """The agent says the portal answered (ok) and how long its certificate has left; the
    catalogue's ``levels:`` judge the days left within NET-03's status rule. A result
    without the value (plain HTTP) is not judged on it."""
    soon = replace(all_ok(), obs("net.portal", http_response_time=0.5, tls_cert_days_left=5))
    ev = evaluate_commune(RULES, "xã", soon, attested(), now=NOW)
    net03 = ev.criteria["NET-03"]
    assert net03.status is CriterionStatus.WARN
    assert "tls_cert_days_left = 5 < 14" in net03.reason_en
    assert "cảnh báo" in net03.reason_vi
    expired = replace(all_ok(), obs("net.portal", http_response_time=0.5, tls_cert_days_left=-1))
    assert (
        evaluate_commune(RULES, "xã", expired, attested(), now=NOW).criteria["NET-03"].status
        is CriterionStatus.FAIL
    )
    plain = evaluate_commune(RULES, "xã", all_ok(), attested(), now=NOW)
    assert plain.criteria["NET-03"].status is CriterionStatus.PASS
    # A check that could not measure stays unknown whatever its values.
    unknown = replace(all_ok(), obs("net.portal", "unknown", tls_cert_days_left=-1))
    assert (
        evaluate_commune(RULES, "xã", unknown, attested(), now=NOW).criteria["NET-03"].status
        is CriterionStatus.UNKNOWN
    )
