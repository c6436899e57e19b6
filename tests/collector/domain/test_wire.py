"""The hot path's decoder (msgspec) against the wire format's definition (pydantic): what
it takes, it reads as pydantic reads it; what pydantic refuses, it never takes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from checks.messages import msg
from checks.model import AgentReport, Category, CheckResult, ReportBatch, Status, Value
from collector.demo.simulator import FAULTS, CommunePlan, office_results, simulated_results
from collector.domain.wire import Report, decode_batch, results_json

_RESULTS = TypeAdapter(list[CheckResult])
AT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def _report(results: list[CheckResult], seq: int = 1) -> dict:
    report = AgentReport(
        agent_id="a-0123abcd",
        seq=seq,
        commune_code="00070",
        host="pasc-00070",
        observed_at=AT,
        agent_version="1.4.0",
        results=results,
    )
    return json.loads(ReportBatch(reports=[report]).model_dump_json())


def _bodies() -> list[bytes]:
    """Every kind of result the simulator makes (each fault, the office PCs), messages with
    parameters, and times written with an offset."""
    rng = random.Random(3)
    out = []
    for fault in FAULTS:
        plan = CommunePlan("00070", "01", False, (fault,))
        out.append(_report(simulated_results(plan, rng)))
    out.append(_report(office_results(rng) + office_results(rng)))
    said = CheckResult(
        check="net.http",
        category=Category.NETWORK,
        target="https://dichvucong.gov.vn",
        status=Status.FAIL,
        values={
            "http_status": Value(value=503),
            "response_time": Value(value=0.25, unit="seconds"),
        },
        message="HTTP 503",
        msg=msg("net.http.bad_status", code=503, url="https://dichvucong.gov.vn"),
        duration_s=0.25,
        observed_at=AT,
    )
    out.append(_report([said]))
    offset = _report([said])
    offset["reports"][0]["observed_at"] = "2026-12-07T09:00:00.5+07:00"
    offset["reports"][0]["results"][0]["observed_at"] = "2026-12-07T08:59:59-00:30"
    del offset["reports"][0]["results"][0]["duration_s"]  # defaults
    del offset["reports"][0]["agent_version"]
    out.append(offset)
    two = _report([said])
    two["reports"].append(_report(office_results(rng), seq=2)["reports"][0])
    out.append(two)
    return [json.dumps(b, ensure_ascii=False).encode() for b in out]


def _same(fast: list[Report], slow: list[AgentReport]) -> None:
    assert len(fast) == len(slow)
    for f, s in zip(fast, slow, strict=True):
        assert (f.agent_id, f.seq, f.commune_code, f.host, f.agent_version) == (
            s.agent_id,
            s.seq,
            s.commune_code,
            s.host,
            s.agent_version,
        )
        assert f.observed_at == s.observed_at and f.observed_at.tzinfo is UTC
        assert results_json(f.results) == _RESULTS.dump_json(s.results).decode()


@pytest.mark.parametrize("body", _bodies(), ids=lambda b: str(len(b)))
def test_what_it_takes_it_reads_as_pydantic_does(body: bytes) -> None:
    fast = decode_batch(body)
    assert fast is not None
    _same(fast, ReportBatch.model_validate_json(body).reports)


def _mutations() -> list[tuple[str, object]]:
    """(path, value): one field of a valid report made wrong, or odd."""
    long = "x" * 1001
    return [
        ("agent_id", ""),
        ("agent_id", "a b"),
        ("agent_id", "abc\n"),
        ("seq", 0),
        ("seq", 2**62 + 1),
        ("seq", "1"),
        ("seq", 1.0),
        ("seq", True),
        ("commune_code", "0007"),
        ("commune_code", "00070\n"),
        ("commune_code", 70),
        ("host", ""),
        ("host", "h" * 254),
        ("host", "pc\u0000"),
        ("observed_at", "2026-12-07T09:00:00"),
        ("observed_at", "2026-12-07 09:00:00Z"),
        ("observed_at", 1765000000),
        ("observed_at", "9999-12-31T23:59:59-23:59"),
        ("observed_at", None),
        ("agent_version", "v" * 65),
        ("extra", 1),
        ("results", [{}]),
        ("results", "none"),
        ("r.check", "Host.Disk"),
        ("r.check", "host"),
        ("r.check", "host.disk\n"),
        ("r.check", "h." + "x" * 63),
        ("r.category", "printer"),
        ("r.status", "OK"),
        ("r.status", None),
        ("r.target", "t" * 257),
        ("r.message", long),
        ("r.duration_s", -1),
        ("r.duration_s", "1e999"),
        ("r.observed_at", None),
        ("r.observed_at", "2026-12-07T09:00:00"),
        ("r.values", {"Bad-Name": {"value": 1}}),
        ("r.values", {"a" * 65: {"value": 1}}),
        ("r.values", {"x": {"value": 1, "unit": "meters"}}),
        ("r.values", {"x": {"value": "1"}}),
        ("r.values", {"x": {"value": True}}),
        ("r.values", {"x": {"value": 1, "extra": 1}}),
        ("r.values", {f"v{i}": {"value": i} for i in range(65)}),
        ("r.msg", {"id": "Bad Id", "params": {}}),
        ("r.msg", {"id": "check.x", "params": {"Bad": 1}}),
        ("r.msg", {"id": "check.x", "params": {"a": "p" * 513}}),
        ("r.msg", {"id": "check.x", "params": {f"p{i}": 1 for i in range(17)}}),
        ("r.msg", {"id": "check.x", "params": {"a": [1]}}),
        ("r.msg", {"id": "check.x", "params": {"a": None}}),
        ("r.msg", {"id": "check.x", "extra": 1}),
        ("r.extra", 1),
    ]


@pytest.mark.parametrize(("path", "value"), _mutations(), ids=lambda v: repr(v)[:40])
def test_what_pydantic_refuses_it_never_takes(path: str, value: object) -> None:
    original = _bodies()[-3]
    assert decode_batch(original) is not None  # the report before the change is taken
    base = json.loads(original)
    report = base["reports"][0]
    where, _, name = path.rpartition(".")
    target = report["results"][0] if where == "r" else report
    target[name] = value
    text = json.dumps(base).replace('"1e999"', "1e999")  # a number past a float's range
    body = text.encode()
    fast = decode_batch(body)
    try:
        slow = ReportBatch.model_validate_json(body).reports
    except ValidationError:
        assert fast is None, path
    else:
        if fast is not None:
            _same(fast, slow)


def test_a_batch_of_no_report_or_too_many_is_left_to_pydantic() -> None:
    one = json.loads(_bodies()[0])["reports"][0]
    assert decode_batch(b'{"reports": []}') is None
    assert decode_batch(json.dumps({"reports": [one] * 201}).encode()) is None
    assert decode_batch(json.dumps({"reports": [one] * 200}).encode()) is not None
    assert decode_batch(b"{not json") is None
    assert decode_batch(b'{"reports": [1]}') is None
