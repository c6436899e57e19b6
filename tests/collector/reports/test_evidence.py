"""Evidence in words (collector/reports/evidence.py): one sentence per host, in the reader's
language, from the evidence items the criteria engine produces; raw lines once each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.levels import Bounds
from collector.criteria.catalogue import level_table, load_catalogue
from collector.criteria.engine import Attestation, Observation, evaluate_commune
from collector.criteria.rules import Rules
from collector.reports.evidence import PHRASES, phrase, raw_lines, sentences

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CATALOGUE = load_catalogue()
RULES = Rules.of(CATALOGUE)
LEVELS = level_table(CATALOGUE)


def obs(check: str, host: str = "pc-1", target: str = "", **values: float) -> Observation:
    return Observation(host, check, target, "ok", values, "", NOW)


def _evaluate(*observations: Observation) -> dict[str, list[dict]]:
    attested = [
        Attestation(c.id, "pass", "QĐ 1", "op", NOW, NOW.replace(year=2027))
        for c in CATALOGUE.criteria
        if c.kind.value == "attested"
    ]
    ev = evaluate_commune(RULES, "xã", observations, attested, now=NOW)
    return {cid: c.evidence for cid, c in ev.criteria.items()}


def test_every_value_a_criterion_judges_has_a_phrase() -> None:
    """Derived from the catalogue's rules and levels: a new value without a phrase fails."""
    judged = {name for values in LEVELS.values() for name in values}
    assert judged, "the catalogue judges no value?"
    assert sorted(judged - set(PHRASES)) == []
    for name in judged:
        for lang in ("vi", "en"):
            text = phrase(name, 1.0, lang)
            generic = text.startswith(("giá trị ", "value ")) or "{" in text
            assert not generic, (name, lang, text)


def test_missing_devices_read_as_one_sentence() -> None:
    """What is wrong only: the camera that is there stays in the raw values."""
    ev = _evaluate(obs("vc.devices", camera_count=1, microphone_count=0, speaker_count=0))
    assert sentences(ev["VC-03"], "vi", LEVELS) == ["Máy pc-1: không có micro, không có loa"]
    assert sentences(ev["VC-03"], "en", LEVELS) == ["Host pc-1: no microphone, no speaker"]
    assert len(raw_lines(ev["VC-03"])) == 3


def test_a_criterion_met_shows_every_value() -> None:
    ev = _evaluate(obs("vc.devices", camera_count=1, microphone_count=2, speaker_count=1))
    assert sentences(ev["VC-03"], "vi", LEVELS) == ["Máy pc-1: 1 camera, 2 micro, 1 loa"]
    assert sentences(ev["VC-03"], "en", LEVELS) == ["Host pc-1: 1 camera, 2 microphones, 1 speaker"]


def test_bandwidth_with_the_level_it_crosses() -> None:
    ev = _evaluate(obs("net.throughput", host="pc-2", download_bandwidth=16.4812e6))
    assert sentences(ev["NET-02"], "vi", LEVELS) == [
        "Máy pc-2: tải xuống 16,5 Mbit/s, dưới mức 20 Mbit/s"
    ]
    assert sentences(ev["NET-02"], "en", LEVELS) == [
        "Host pc-2: download 16.5 Mbit/s, below 20 Mbit/s"
    ]


def test_one_sentence_per_host_with_targets() -> None:
    ev = _evaluate(
        obs("host.disk", host="pc-2", target="C:", disk_free_ratio=0.31),
        obs("host.disk", host="pc-2", target="D:", disk_free_ratio=0.081),
        obs("host.disk", host="pc-3", target="/", disk_free_ratio=0.15),
        obs("host.disk", host="pc-3", target="/srv", disk_free_ratio=0.12),
        obs("host.memory", memory_available_ratio=0.4),
        obs("host.clock", clock_offset_abs=0.02),
    )["EQ-01"]
    assert sentences(ev, "vi", LEVELS) == [
        "Máy pc-2: còn 8,1 % dung lượng đĩa, dưới mức 10 % (D:)",
        "Máy pc-3: còn 15 % dung lượng đĩa, dưới mức 20 % (/); "
        "còn 12 % dung lượng đĩa, dưới mức 20 % (/srv)",
    ]
    assert sentences(ev, "en", LEVELS) == [
        "Host pc-2: 8.1 % of the disk free, below 10 % (D:)",
        "Host pc-3: 15 % of the disk free, below 20 % (/); "
        "12 % of the disk free, below 20 % (/srv)",
    ]
    assert len(raw_lines(ev)) == 6  # every item as measured, behind the disclosure


@pytest.mark.parametrize(
    ("name", "value", "vi", "en"),
    [
        (
            "updates_age",
            45,
            "cập nhật lần cuối 45 ngày trước, trên mức 30 ngày",
            "last updated 45 days ago, above 30 days",
        ),
        (
            "tls_cert_days_left",
            -3,
            "chứng chỉ TLS đã hết hạn 3 ngày",
            "TLS certificate expired 3 days ago",
        ),
        ("ups_runtime", 8220, "UPS còn chạy được 2 giờ 17 phút", "UPS runtime 2 h 17 min"),
        ("ups_on_line", 0, "UPS đang chạy bằng pin", "UPS on battery"),
        ("loss", 0.062, "mất gói 6,2 %, trên mức 5 %", "packet loss 6.2 %, above 5 %"),
        ("rtt", 0.4, "độ trễ 400 ms, trên mức 300 ms", "round trip 400 ms, above 300 ms"),
    ],
)
def test_phrases_write_units_for_people(name: str, value: float, vi: str, en: str) -> None:
    check = next(c for c, values in LEVELS.items() if name in values)
    bounds = LEVELS[check][name]
    assert phrase(name, value, "vi", bounds) == vi
    assert phrase(name, value, "en", bounds) == en


def test_a_value_with_no_phrase_is_still_human() -> None:
    assert phrase("queue_length", 1234.5, "vi") == "giá trị queue_length = 1.234,5"
    assert phrase("spool_free_ratio", 0.25, "en") == "value spool_free_ratio = 25 %"
    assert phrase("odd", 2.0, "en", Bounds(fail_below=3)) == "value odd = 2"


def test_a_result_without_figures_names_the_check_in_the_language() -> None:
    item = {
        "host": "pc-3",
        "check": "vc.sip",
        "target": "",
        "status": "fail",
        "values": {},
        "message": "not configured: no SIP server (vc.sip.targets)",
        "observed_at": NOW.isoformat(),
    }
    assert sentences([item], "vi") == ["Máy pc-3: Máy chủ họp trực tuyến (SIP) không đạt"]
    assert sentences([item], "en") == ["Host pc-3: Meeting server (SIP) not ready"]
    assert raw_lines([item]) == [
        "vc.sip fail @ pc-3 — not configured: no SIP server (vc.sip.targets)"
        " — 05/12/2026 16:00 (UTC+7)"
    ]


def test_the_same_host_check_and_value_only_once() -> None:
    item = {
        "host": "pc-1",
        "check": "vc.devices",
        "target": "",
        "status": "ok",
        "values": {"speaker_count": 0.0},
        "message": "",
        "observed_at": NOW.isoformat(),
    }
    twice = [item, dict(item), {**item, "values": {"microphone_count": 0.0}}]
    assert sentences(twice, "vi", LEVELS) == ["Máy pc-1: không có loa, không có micro"]
    assert raw_lines(twice) == [
        "vc.devices ok @ pc-1 — speaker_count=0 — 05/12/2026 16:00 (UTC+7)",
        "vc.devices ok @ pc-1 — microphone_count=0 — 05/12/2026 16:00 (UTC+7)",
    ]


def test_a_value_two_rules_decided_on_is_said_once() -> None:
    """The check's own status and a rule on one of its values both keep the result as
    evidence: the response time is said once, in words and in the raw values."""
    failed = Observation(
        "pc-1",
        "svc.http",
        "video-call",
        "fail",
        {"http_status": 502, "http_up": 0, "http_response_time": 0.234},
        "HTTP 502",
        NOW,
    )
    ev = _evaluate(failed)["SYS-01"]
    assert len(ev) == 2
    assert sentences(ev, "vi", LEVELS) == [
        "Máy pc-1: mã trả lời HTTP 502, trang web không trả lời, thời gian phản hồi 234 ms"
        " (video-call)"
    ]
    assert sentences(ev, "en", LEVELS) == [
        "Host pc-1: HTTP status 502, website does not answer, response time 234 ms (video-call)"
    ]
    assert raw_lines(ev) == [
        "svc.http fail @ pc-1 (video-call) — http_status=502, http_up=0, "
        "http_response_time=0.234 — HTTP 502 — 05/12/2026 16:00 (UTC+7)"
    ]


def test_attestation_evidence_reads_as_itself() -> None:
    item = {"attestation": "Biên bản số 12", "entered_by": "op", "entered_at": NOW.isoformat()}
    assert sentences([item, item], "en") == ["Biên bản số 12 (op, 05/12/2026 16:00)"]
