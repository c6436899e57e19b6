"""Schemathesis against the collector's own OpenAPI spec: the spec is the API.

A real collector (uvicorn on loopback, a fresh database) serves its spec; schemathesis
generates requests for every operation in it, valid ones (positive mode) and ones that break
the spec (negative mode: wrong types, missing fields, out-of-range numbers), sent over real
HTTP twice:

* **with credentials**: for each operation, the credential its declared ``security`` names:
  a real enrolled agent's bearer token, a real viewer's session cookie, the scrape token of
  /metrics; so the agent, readiness and metrics endpoints are exercised past their
  authentication (and the declared scheme is proven to be the one that opens them);
* **without**: only what schemathesis makes up for the declared schemes; no secured
  operation answers 2xx, and each answers 401.

Every response goes through schemathesis' checks with conformance on: ``not_a_server_error``
(never a 5xx but the declared 503s), ``status_code_conformance`` (the status is in the spec),
``content_type_conformance``, ``response_headers_conformance`` (WWW-Authenticate on 401,
Retry-After on 429 and 503) and ``response_schema_conformance`` (the body, error bodies
included, matches the spec). Any failure fails the test.

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
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from collector.api.web.session import SESSION_COOKIE
from tests.conftest import SCRAPE
from tests.peers.site import login

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation and mode, with credentials and without: about 350 requests.
EXAMPLES = {"authenticated": 16, "unauthenticated": 6}
#: Operations that carry a body or parameters a negative case can break.
WITH_INPUT = {
    "POST /api/v1/enroll",
    "POST /api/v1/reports",
    "GET /api/v1/probe/download",
    "GET /metrics",
}
#: What a request carries for each security scheme: headers and cookies.
Credential = dict[str, dict[str, str]]


@pytest.fixture
def credentials(collector: Any) -> Iterator[dict[str, Credential]]:
    """A credential for each scheme the tests can hold: a real enrolled agent's token, a
    real viewer's session cookie, the scrape token of /metrics."""
    [(_, code)] = collector.services.identities.create_enrollment_codes(["00070"])
    enrolled = httpx.post(
        f"{collector.url}/api/v1/enroll", json={"code": code, "host": "fuzz-pc-1"}
    )
    assert enrolled.status_code == 201, enrolled.text
    collector.services.accounts.add_user("viewer", "viewer-pass-1", "viewer")
    client = login(collector.url, "viewer", "viewer-pass-1")
    try:
        yield {
            "agentToken": {"headers": {"Authorization": f"Bearer {enrolled.json()['token']}"}},
            "sessionCookie": {"cookies": {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}},
            "metricsToken": {"headers": SCRAPE},
        }
    finally:
        client.close()


def credential_for(operation: Any, held: dict[str, Credential]) -> Credential | None:
    """The credential of the first alternative of the operation's declared ``security``
    that the test holds ({} for a public operation; None if none is held)."""
    security = operation.definition.raw.get("security")
    if security == []:
        return {}
    for alternative in security or []:
        if set(alternative) <= set(held):
            merged: Credential = {"headers": {}, "cookies": {}}
            for scheme in alternative:
                for part, values in held[scheme].items():
                    merged[part] |= values
            return merged
    return None


def _send(client: httpx.Client, kw: dict[str, Any]) -> httpx.Response:
    """Send schemathesis' serialised request (requests-style keywords) with httpx."""
    body: dict[str, Any] = {}
    if "json" in kw:
        body["json"] = kw["json"]
    if "data" in kw:
        body["content" if isinstance(kw["data"], bytes | str) else "data"] = kw["data"]
    # HTTP trims a header value's surrounding blanks (h11 refuses to send them): as sent.
    headers = {k: v.strip() if isinstance(v, str) else v for k, v in kw["headers"].items()}
    if kw["cookies"]:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kw["cookies"].items())
    return client.request(kw["method"], kw["url"], params=kw["params"], headers=headers, **body)


def fuzz_operation(
    client: httpx.Client,
    operation: Any,
    mode: GenerationMode,
    credential: Credential | None,
    examples: int,
) -> Counter[int | str]:
    """Run ``examples`` generated requests against ``operation``, with ``credential`` over
    what schemathesis generates (None: only what it generates), every response checked:
    the status codes seen, and under "body" how many requests carried a generated body."""
    statuses: Counter[int | str] = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        kw = case.as_transport_kwargs(base_url=str(client.base_url))
        if credential:
            ours = {k.lower() for k in credential["headers"]}
            kw["headers"] = {k: v for k, v in kw["headers"].items() if k.lower() not in ours}
            kw["headers"] |= credential["headers"]
            kw["cookies"] = (kw.get("cookies") or {}) | credential["cookies"]
        response = _send(client, kw)
        statuses[response.status_code] += 1
        statuses["body"] += "json" in kw or "data" in kw
        case.validate_response(response, checks=CHECKS)

    run()
    return statuses


def fuzz_all(
    client: httpx.Client, schema: Any, held: dict[str, Credential], run: str
) -> dict[str, Counter[int | str]]:
    """Every operation in both modes, with the held credentials or none: the statuses seen
    per "<operation> <mode>"."""
    seen: dict[str, Counter[int | str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # an Err fails the test here
        credential = credential_for(operation, held)
        assert credential is not None, f"{operation.label}: no credential for its security"
        for mode in GenerationMode:
            label = f"{operation.label} {mode.value}"
            try:
                seen[label] = fuzz_operation(
                    client,
                    operation,
                    mode,
                    credential if run == "authenticated" else None,
                    EXAMPLES[run],
                )
            except Unsatisfiable:
                # No parameter or body in the spec to break: nothing negative to send.
                assert mode is GenerationMode.NEGATIVE and operation.label not in WITH_INPUT
    return seen


@pytest.mark.parametrize("run", ["authenticated", "unauthenticated"])
def test_the_collector_answers_as_its_spec_says(
    collector: Any, credentials: dict[str, Credential], run: str
) -> None:
    spec = collector.app.openapi()  # served only with api_docs: true
    schema = schemathesis.openapi.from_dict(spec)
    with httpx.Client(base_url=collector.url, timeout=30) as client:
        seen = fuzz_all(client, schema, credentials, run)
    requests = {k: sum(n for s, n in v.items() if s != "body") for k, v in seen.items()}
    print(f"\nschemathesis {run}: {sum(requests.values())} requests; statuses:")
    for label, counts in seen.items():
        print(f"  {label}: {dict(sorted((s, n) for s, n in counts.items() if s != 'body'))}")
    assert len({k.rsplit(" ", 1)[0] for k in seen}) == len(spec_operations(spec)) == 9
    for label in WITH_INPUT:
        for mode in GenerationMode:
            key = f"{label} {mode.value}"
            assert requests[key] >= EXAMPLES[run] // 2, (key, seen[key])
    for label in ("POST /api/v1/reports", "POST /api/v1/enroll"):
        # The raw-read bodies are in the spec, so schemathesis generates them.
        assert seen[f"{label} positive"]["body"] == requests[f"{label} positive"]
    secured = [
        f"{m.upper()} {p}"
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
        if op["security"]
    ]
    assert len(secured) == 7
    for label in secured:
        answers = seen[f"{label} positive"] + seen.get(f"{label} negative", Counter())
        statuses = {s for s in answers if s != "body"}
        if run == "authenticated":
            # The declared scheme is the one that opens it: past authentication.
            assert statuses - {401}, (label, answers)
        else:
            # No credential, no data: refused, with 401 among the refusals.
            assert 401 in statuses and not any(200 <= int(s) < 300 for s in statuses), (
                label,
                answers,
            )
    if run == "authenticated":
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
