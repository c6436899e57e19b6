"""Hypothesis against the real ingest API: any body gets 2xx or 4xx, never 5xx, and a
refused body stores nothing.

Three kinds of input, all posted over HTTP with a real enrolled agent's token to a real
collector: bytes that are not JSON at all, arbitrary JSON documents, and near-valid batches
(a valid ReportBatch of checks/model.py with one or a few fields replaced, removed or added:
the input a buggy or old agent really sends). A 2xx must have stored exactly the reports
it says it accepted; a 4xx must have stored nothing and say why in ``detail``.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from collector.storage import schema as db
from tests.collector.api.test_ingest_api import enroll, report, stored

#: Examples per property; each is one HTTP request to the collector.
EXAMPLES = 120
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_seq = itertools.count(1)

#: Values that sit at the edges of what the model accepts: time stamps at the ends of the
#: calendar (an offset pushes them past it), NUL and other characters some databases refuse,
#: numbers past 64 bits, the real codes and names next to made-up ones.
HOSTILE = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "\u202e",
    "00070",
    "00073",
    "99999",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2025-07-01T08:00:00",
    "host.disk",
    "a" * 300,
    "ok",
    "unknown",
    "ratio",
    "1e400",
    2**62,
    2**62 + 1,
    2**63,
    -(2**63) - 1,
    10**30,
    -1,
    0,
    1.7976931348623157e308,
    -0.0,
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(HOSTILE)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def valid_batch(agent: dict[str, Any]) -> dict[str, Any]:
    """The ingest API tests' valid report, under a fresh seq, every field present."""
    rep = report(agent, next(_seq), host="fuzz-pc-1", agent_version="fuzz")
    rep["results"][0]["observed_at"] = datetime.now(UTC).isoformat()
    return {"reports": [rep]}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple[str, int, Any, Any]]:
    """One to three edits of a valid batch: (op, path index, key, value)."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["replace", "delete", "add", "duplicate"]),
                st.integers(min_value=0, max_value=10_000),
                st.text(max_size=12) | st.sampled_from(["seq", "values", "extra"]),
                st.sampled_from(HOSTILE) | json_values,
            ),
            min_size=1,
            max_size=3,
        )
    )


def mutate(batch: dict[str, Any], edits: list[tuple[str, int, Any, Any]]) -> dict[str, Any]:
    for op, index, key, value in edits:
        paths = _paths(batch)[1:]  # never the whole document: that is the JSON property
        if not paths:
            break
        path = paths[index % len(paths)]
        parent = batch
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if op == "replace":
            parent[last] = value
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][key] = value
        elif op == "duplicate" and isinstance(parent[last], list) and parent[last]:
            parent[last].append(json.loads(json.dumps(parent[last][0])))
    return batch


def enrolled(collector: Any) -> dict[str, Any]:
    return enroll(collector, host="fuzz-pc-1")


def post_and_check(collector: Any, agent: dict[str, Any], body: bytes) -> httpx.Response:
    before = stored(collector)
    r = httpx.post(
        f"{collector.url}/api/v1/reports",
        content=body,
        headers={"Authorization": f"Bearer {agent['token']}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code < 500, (r.status_code, r.text, body[:300])
    after = stored(collector)
    if r.status_code < 300:
        assert after - before == r.json()["accepted"], (r.text, body[:300])
    else:
        assert 400 <= r.status_code < 500, r.status_code
        assert after == before, (r.status_code, r.text, body[:300])
        assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    return r


def test_bytes_that_are_not_json_are_refused(collector: Any) -> None:
    agent = enrolled(collector)

    @FUZZ
    @given(body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
    def run(body: bytes) -> None:
        post_and_check(collector, agent, body)

    run()


def test_arbitrary_json_is_refused_or_stored_never_5xx(collector: Any) -> None:
    agent = enrolled(collector)

    @FUZZ
    @given(doc=json_values | st.fixed_dictionaries({"reports": json_values}))
    def run(doc: Any) -> None:
        post_and_check(collector, agent, json.dumps(doc).encode())

    run()


def test_near_valid_batches_are_stored_whole_or_not_at_all(collector: Any) -> None:
    agent = enrolled(collector)
    outcomes: dict[str, int] = {"2xx": 0, "4xx": 0}

    @FUZZ
    @given(edits=mutations())
    # Defects found here, kept as explicit examples: a time stamp whose offset pushes it
    # past year 9999 or before year 1 raised OverflowError (a 500) while converted to UTC.
    @example(edits=[("replace", 6, "", "9999-12-31T23:59:59-23:59")])  # report observed_at
    @example(edits=[("replace", 20, "", "0001-01-01T00:00:00+23:59")])  # result observed_at
    # NUL characters, which PostgreSQL refuses in text and JSON, in stored strings.
    @example(edits=[("replace", 18, "", "a\x00b"), ("replace", 5, "", "\x00")])
    @example(edits=[("replace", 12, "", "\x00"), ("replace", 7, "", "v\x00")])
    def run(edits: list[tuple[str, int, Any, Any]]) -> None:
        body = mutate(valid_batch(agent), edits)
        r = post_and_check(collector, agent, json.dumps(body).encode())
        outcomes["2xx" if r.status_code < 300 else "4xx"] += 1

    run()
    print("\nnear-valid batches:", outcomes)
    # The edits both break batches and leave some valid: both outcomes were exercised.
    assert outcomes["2xx"] > 0 and outcomes["4xx"] > 0, outcomes


def test_a_batch_the_database_refuses_fails_alone_not_its_group(services: Any) -> None:
    """Group commit stores many agents' batches in one transaction; if the database refuses
    one of them (here a seq past 64 bits, which the model would never let through), the
    others are still stored and only that one request fails."""
    from checks.model import AgentReport
    from collector.service.committer import GroupCommitter, _Item
    from collector.service.identities import AgentIdentity

    pairs = services.identities.create_enrollment_codes(["00070", "00073"])
    agents = []
    for commune, code in pairs:
        e = services.identities.enroll(code, f"pc-{commune}")
        agents.append(AgentIdentity(e.agent_id, e.commune_code, e.province_code))

    def one(agent: AgentIdentity, seq: int) -> AgentReport:
        body = valid_batch({"agent_id": agent.agent_id, "commune_code": agent.commune_code})
        rep = AgentReport.model_validate(body["reports"][0])
        return rep.model_copy(update={"seq": seq})

    good = _Item(agents[0], [one(agents[0], 1)])
    poisoned = _Item(agents[1], [one(agents[1], 2**63)])
    GroupCommitter(services)._commit([good, poisoned])
    assert good.future.result(timeout=5).accepted == 1
    assert poisoned.future.exception(timeout=5) is not None
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(db.reports)).scalar_one() == 1
