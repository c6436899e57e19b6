"""Shared test data for agent tests (imported by name: tests/agent is on sys.path)."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.model import AgentReport, Category, CheckResult, Status

ENROLL_OK = {
    "agent_id": "agt-0001",
    "token": "tok-very-secret-123",
    "commune_code": "00070",
    "province_code": "01",
    "commune_name": "Phường Hoàn Kiếm",
    "report_interval_s": 60,
}


def make_report(seq: int, n_results: int = 1, message: str = "") -> AgentReport:
    return AgentReport(
        agent_id="agt-1",
        seq=seq,
        commune_code="00070",
        host="pc-1",
        observed_at=datetime(2025, 7, 1, tzinfo=UTC),
        results=[
            CheckResult(
                check="host.cpu",
                category=Category.HOST,
                status=Status.OK,
                target=f"t{i}",
                message=message,
            )
            for i in range(n_results)
        ],
    )
