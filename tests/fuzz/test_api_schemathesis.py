"""Schemathesis against the collector's own OpenAPI spec: no request makes it answer 5xx.

A real collector (uvicorn on loopback, a fresh database) serves its spec; schemathesis
generates requests for every operation in it, valid ones (positive mode) and ones that break
the spec (negative mode: wrong types, missing fields, out-of-range numbers), and they are
sent over real HTTP with a real enrolled agent's bearer token and a real viewer's session,
so the agent and readiness endpoints are exercised past their authentication. Every
response goes through schemathesis' ``not_a_server_error`` check: whatever arrives, the
caller gets 2xx or 4xx, never a 500.

The requests are sent with httpx rather than ``case.call()``: this environment's
``urllib3`` is replaced by urllib3-future (pulled in by grafana-client), whose pool manager
schemathesis' requests transport cannot inspect ("'TrafficPolice' object has no attribute
'keys'"). For the same reason ``schemathesis.pytest.from_fixture`` is not used: it sets a
node attribute that pytest 9.2 no longer has. Generation and checking are schemathesis'.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from tests.peers.site import login

#: Examples per operation and mode: about 430 requests, some 20 s here.
EXAMPLES = 60
#: Operations that carry a body or parameters a negative case can break.
WITH_INPUT = {
    "POST /api/v1/enroll",
    "POST /api/v1/reports",
    "GET /api/v1/probe/download",
}


@pytest.fixture
def credentials(collector: Any) -> Iterator[dict[str, str]]:
    """Headers of a real enrolled agent (bearer token) and a real viewer (session cookie)."""
    [(_, code)] = collector.services.identities.create_enrollment_codes(["00070"])
    enrolled = httpx.post(
        f"{collector.url}/api/v1/enroll", json={"code": code, "host": "fuzz-pc-1"}
    )
    assert enrolled.status_code == 201, enrolled.text
    collector.services.accounts.add_user("viewer", "viewer-pass-1", "viewer")
    client = login(collector.url, "viewer", "viewer-pass-1")
    try:
        yield {
            "Authorization": f"Bearer {enrolled.json()['token']}",
            "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        }
    finally:
        client.close()


def _send(client: httpx.Client, kw: dict[str, Any]) -> httpx.Response:
    """Send schemathesis' serialised request (requests-style keywords) with httpx."""
    body: dict[str, Any] = {}
    if "json" in kw:
        body["json"] = kw["json"]
    if "data" in kw:
        body["content" if isinstance(kw["data"], bytes | str) else "data"] = kw["data"]
    headers = dict(kw["headers"])
    if kw["cookies"]:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kw["cookies"].items())
    return client.request(kw["method"], kw["url"], params=kw["params"], headers=headers, **body)


def fuzz_operation(
    client: httpx.Client, operation: Any, mode: GenerationMode, credentials: dict[str, str]
) -> Counter[int | str]:
    """Run ``EXAMPLES`` generated requests against ``operation``: status codes seen, and
    under "body" how many requests carried a generated body."""
    statuses: Counter[int | str] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        kw = case.as_transport_kwargs(base_url=str(client.base_url), headers=credentials)
        response = _send(client, kw)
        statuses[response.status_code] += 1
        statuses["body"] += "json" in kw or "data" in kw
        case.validate_response(response, checks=[not_a_server_error])

    run()
    return statuses


def test_no_generated_request_makes_the_collector_answer_5xx(
    collector: Any, credentials: dict[str, str]
) -> None:
    spec = collector.app.openapi()  # served only with api_docs: true
    schema = schemathesis.openapi.from_dict(spec)
    seen: dict[str, Counter[int | str]] = {}
    with httpx.Client(base_url=collector.url, timeout=30) as client:
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]  # an Err fails the test here
            for mode in GenerationMode:
                label = f"{operation.label} {mode.value}"
                try:
                    seen[label] = fuzz_operation(client, operation, mode, credentials)
                except Unsatisfiable:
                    # No parameter or body in the spec to break: nothing negative to send.
                    assert mode is GenerationMode.NEGATIVE and operation.label not in WITH_INPUT
    requests = {k: sum(n for s, n in v.items() if s != "body") for k, v in seen.items()}
    print("\nschemathesis requests:", requests, "total", sum(requests.values()))
    assert len({k.rsplit(" ", 1)[0] for k in seen}) == len(spec_operations(spec)) == 8
    for label in WITH_INPUT:
        for mode in GenerationMode:
            key = f"{label} {mode.value}"
            assert requests[key] >= EXAMPLES // 2, (key, seen[key])
    for label in ("POST /api/v1/reports", "POST /api/v1/enroll"):
        # The raw-read bodies are in the spec, so schemathesis generates them.
        assert seen[f"{label} positive"]["body"] == requests[f"{label} positive"]
    # Schema-valid batches get past authentication and parsing to the commune/agent checks.
    assert {403, 422} & set(seen["POST /api/v1/reports positive"])


def spec_operations(spec: dict[str, Any]) -> list[str]:
    return [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops]


def test_spec_documents_the_raw_bodies(collector: Any) -> None:
    """The ingest and enrollment bodies are read raw (size limit first), yet documented,
    so schemathesis (and a reader of /docs) knows what to send."""
    spec = collector.app.openapi()  # served only with api_docs: true
    for path, model in (("/api/v1/reports", "ReportBatch"), ("/api/v1/enroll", "EnrollRequest")):
        body = spec["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model}"
    schemas = spec["components"]["schemas"]
    assert {"ReportBatch", "AgentReport", "CheckResult", "Value", "EnrollRequest"} <= set(schemas)
    assert schemas["AgentReport"]["properties"]["seq"]["minimum"] == 1
