"""The ingest API over real HTTP: good reports stored once, bad input refused and not stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from collector.service.attestations import AttestationEntry
from collector.storage import schema as db
from tests.collector.criteria.test_engine import all_ok
from tests.conftest import SCRAPE

HK, CUA_NAM = "00070", "00073"  # Phường Hoàn Kiếm, Phường Cửa Nam (Hà Nội)


def enroll(collector, commune: str = HK, host: str = "pasc-pc-1") -> dict[str, Any]:
    [(_, code)] = collector.services.identities.create_enrollment_codes([commune])
    r = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": host})
    assert r.status_code == 201, r.text
    return r.json()


def report(
    agent: dict[str, Any], seq: int, commune: str | None = None, **over: Any
) -> dict[str, Any]:
    body = {
        "agent_id": agent["agent_id"],
        "seq": seq,
        "commune_code": commune or agent["commune_code"],
        "host": "pasc-pc-1",
        "observed_at": datetime.now(UTC).isoformat(),
        "agent_version": "test",
        "results": [
            {
                "check": "host.disk",
                "category": "host",
                "target": "/",
                "status": "ok",
                "values": {"disk_free_ratio": {"value": 0.42, "unit": "ratio"}},
                "message": "",
                "duration_s": 0.01,
            },
        ],
    }
    body.update(over)
    return body


def post(collector, agent, reports, token: str | None = None, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or agent['token']}"}
    return httpx.post(
        f"{collector.url}/api/v1/reports", json={"reports": reports}, headers=headers, **kw
    )


def stored(collector) -> int:
    with collector.services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(db.reports)).scalar_one()


def test_enroll_returns_token_stored_only_as_hash(collector) -> None:
    agent = enroll(collector)
    assert agent["commune_code"] == HK and agent["province_code"] == "01"
    assert agent["commune_name"] == "Phường Hoàn Kiếm"
    with collector.services.engine.connect() as conn:
        row = conn.execute(select(db.agents)).one()
    assert agent["token"] not in json.dumps([str(v) for v in row])
    assert len(row.token_hash) == 64


def test_enrollment_code_is_single_use_and_expires(collector) -> None:
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    ok = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": "a"})
    assert ok.status_code == 201
    again = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": "b"})
    assert again.status_code == 403 and "already used" in again.json()["detail"]
    [(_, old)] = collector.services.identities.create_enrollment_codes([HK], ttl=timedelta(days=1))
    collector.clock.advance(days=2)
    late = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": old, "host": "c"})
    assert late.status_code == 403 and "expired" in late.json()["detail"]
    bogus = httpx.post(
        f"{collector.url}/api/v1/enroll", json={"code": "AAAA-BBBB-CCCC", "host": "d"}
    )
    assert bogus.status_code == 403 and "not recognised" in bogus.json()["detail"]


def test_report_is_stored_evaluated_and_acknowledged(collector, reader) -> None:
    agent = enroll(collector)
    r = post(collector, agent, [report(agent, 1), report(agent, 2)])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"], body["acked_seqs"]) == (2, 0, [1, 2])
    assert stored(collector) == 2
    commune = reader.get(f"/api/v1/communes/{HK}").json()
    assert commune["colour"] == "yellow"  # most criteria still unknown: never green
    assert commune["criteria"]["EQ-01"]["status"] == "unknown"  # memory and clock missing
    assert commune["criteria"]["SIG-01"]["status"] == "unknown"


def test_replayed_seq_is_a_no_op(collector) -> None:
    agent = enroll(collector)
    assert post(collector, agent, [report(agent, 1)]).status_code == 200
    r = post(collector, agent, [report(agent, 1), report(agent, 2)])
    assert r.status_code == 200
    assert (r.json()["accepted"], r.json()["duplicates"], r.json()["acked_seqs"]) == (1, 1, [1, 2])
    assert stored(collector) == 2


def test_a_late_report_below_the_last_seq_is_stored_once(collector) -> None:
    """Reports 1 and 3 arrive first; 2, late (a batch retried after a timeout), is below the
    agent's last stored seq but was never stored: it is accepted, and a replay of any of
    them is a duplicate."""
    agent = enroll(collector)
    r = post(collector, agent, [report(agent, 1), report(agent, 3)])
    assert (r.json()["accepted"], r.json()["duplicates"]) == (2, 0)
    r = post(collector, agent, [report(agent, 2)])
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["duplicates"], r.json()["acked_seqs"]) == (1, 0, [2])
    r = post(collector, agent, [report(agent, 3), report(agent, 2), report(agent, 4)])
    assert (r.json()["accepted"], r.json()["duplicates"]) == (1, 2)
    assert stored(collector) == 4


def _refused(collector, response: httpx.Response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert stored(collector) == 0


def test_malformed_json_is_422(collector) -> None:
    agent = enroll(collector)
    r = httpx.post(
        f"{collector.url}/api/v1/reports",
        content=b'{"reports": [',
        headers={"Authorization": f"Bearer {agent['token']}"},
    )
    _refused(collector, r, 422, "Invalid JSON")


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda r: r.pop("seq"), "seq"),
        (lambda r: r.update(seq=0), "seq"),
        (lambda r: r.update(observed_at="yesterday"), "observed_at"),
        (lambda r: r.update(observed_at="2025-07-31T08:00:00"), "time zone"),
        (lambda r: r["results"][0].update(status="great"), "status"),
        (lambda r: r["results"][0].update(check="Disk Free"), "check id 'Disk Free' must be"),
        (
            lambda r: r["results"][0]["values"].update({"Free %": {"value": 1}}),
            "value name 'Free %' must be snake_case",
        ),
        (
            lambda r: r["results"][0]["values"].update({"x" * 65: {"value": 1}}),
            "at most 64 characters",
        ),
        (lambda r: r["results"][0]["values"].update(x={"value": "NaN", "unit": ""}), "finite"),
        (lambda r: r.update(extra_field=1), "extra_field"),
    ],
)
def test_wrong_schema_is_422_and_names_the_field(collector, mutate, words) -> None:
    agent = enroll(collector)
    body = report(agent, 1)
    mutate(body)
    _refused(collector, post(collector, agent, [body]), 422, words)


def test_unknown_commune_code_is_422(collector) -> None:
    agent = enroll(collector)
    _refused(
        collector,
        post(collector, agent, [report(agent, 1, commune="99999")]),
        422,
        "unknown commune code '99999'",
    )


def test_missing_or_wrong_token_is_401(collector) -> None:
    agent = enroll(collector)
    r = httpx.post(f"{collector.url}/api/v1/reports", json={"reports": [report(agent, 1)]})
    _refused(collector, r, 401, "missing bearer token")
    assert r.headers["www-authenticate"] == "Bearer"
    _refused(
        collector,
        post(collector, agent, [report(agent, 1)], token="not-a-token"),
        401,
        "unknown or revoked token",
    )


def test_token_of_one_commune_cannot_write_another(collector) -> None:
    hk = enroll(collector, HK)
    cn = enroll(collector, CUA_NAM)
    _refused(
        collector,
        post(collector, hk, [report(hk, 1, commune=CUA_NAM)]),
        403,
        "enrolled for commune 00070 (Phường Hoàn Kiếm) and may not write commune 00073",
    )
    # nor pass itself off as the other commune's agent
    forged = report(cn, 1)
    _refused(collector, post(collector, hk, [forged]), 403, "token belongs to agent")
    # a batch with one bad report stores none of it
    _refused(
        collector,
        post(collector, hk, [report(hk, 1), report(hk, 2, commune=CUA_NAM)]),
        403,
        "may not write",
    )


def test_body_over_the_limit_is_413(collector) -> None:
    agent = enroll(collector)
    big = report(agent, 1)
    big["results"] = big["results"] * 2000
    payload = json.dumps({"reports": [big]}).encode()
    assert len(payload) > 256 * 1024
    r = httpx.post(
        f"{collector.url}/api/v1/reports",
        content=payload,
        headers={"Authorization": f"Bearer {agent['token']}", "Content-Type": "application/json"},
    )
    _refused(collector, r, 413, "limit")

    def chunks():  # no Content-Length: the limit still holds while streaming
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    r = httpx.post(
        f"{collector.url}/api/v1/reports",
        content=chunks(),
        headers={"Authorization": f"Bearer {agent['token']}"},
    )
    _refused(collector, r, 413, "limit")


def test_summary_shape(collector, reader) -> None:
    agent = enroll(collector)
    post(collector, agent, [report(agent, 1)])
    s = reader.get("/api/v1/summary").json()
    assert (s["provinces"], s["communes"]) == (34, 3321)
    assert s["green"] + s["yellow"] + s["red"] + s["grey"] == 3321
    assert (s["yellow"], s["grey"]) == (1, 3320)
    hn = next(p for p in s["by_province"] if p["code"] == "01")
    assert set(hn) == {
        "code",
        "name",
        "communes",
        "green",
        "yellow",
        "red",
        "grey",
        "green_ratio",
        "off_hours",
    }
    assert hn["off_hours"] is s["off_hours"] is False  # the test collector works round the clock
    assert (hn["name"], hn["communes"], hn["yellow"], hn["grey"]) == (
        "Thành phố Hà Nội",
        126,
        1,
        125,
    )


def test_silent_commune_turns_grey(collector, reader) -> None:
    agent = enroll(collector)
    # Everything passes for this commune, so it is green while it reports.
    category = {
        "host": "host",
        "net": "network",
        "vc": "videoconf",
        "eq": "equipment",
        "sig": "equipment",
        "svc": "services",
        "sec": "security",
    }
    results = [
        {
            "check": o.check,
            "category": category[o.check.split(".")[0]],
            "target": o.target,
            "status": "ok",
            "values": {k: {"value": v, "unit": ""} for k, v in o.values.items()},
        }
        for o in all_ok()
    ]
    now = collector.clock.now.isoformat()
    collector.services.attestations.record(
        [
            AttestationEntry(HK, cid, "pass", "evidence", "op")
            for cid in ("ATT-01", "ATT-02", "ATT-03")
        ],
        only_reported=True,
    )
    r = post(collector, agent, [report(agent, 1, results=results, observed_at=now)])
    assert r.status_code == 200, r.text
    assert reader.get(f"/api/v1/communes/{HK}").json()["colour"] == "green"
    collector.clock.advance(seconds=179)
    assert reader.get(f"/api/v1/communes/{HK}").json()["colour"] == "green"
    collector.clock.advance(seconds=2)  # past 3 report intervals of silence
    assert reader.get(f"/api/v1/communes/{HK}").json()["colour"] == "grey"
    assert reader.get("/api/v1/summary").json()["green"] == 0


def test_concurrent_requests_share_transactions_and_each_gets_its_own_answer(collector) -> None:
    import asyncio

    agents = [enroll(collector, code) for code in collector.services.units.by_province["01"][:4]]
    bad = dict(agents[0], token="wrong-token")

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=collector.url, timeout=30) as client:
            calls = []
            for seq in range(1, 16):
                for a in agents:
                    calls.append(
                        client.post(
                            "/api/v1/reports",
                            json={"reports": [report(a, seq)]},
                            headers={"Authorization": f"Bearer {a['token']}"},
                        )
                    )
            # one agent writing another commune inside the burst: refused alone
            calls.append(
                client.post(
                    "/api/v1/reports",
                    json={"reports": [report(agents[0], 99, commune=agents[1]["commune_code"])]},
                    headers={"Authorization": f"Bearer {agents[0]['token']}"},
                )
            )
            calls.append(
                client.post(
                    "/api/v1/reports",
                    json={"reports": [report(bad, 98)]},
                    headers={"Authorization": f"Bearer {bad['token']}"},
                )
            )
            return await asyncio.gather(*calls)

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses[:-2]] == [200] * 60
    assert responses[-2].status_code == 403 and responses[-1].status_code == 401
    assert stored(collector) == 60
    # group commit: fewer transactions than requests
    assert collector.app.state.committer.groups < 60


def test_readiness_api_needs_a_user_login(collector, reader) -> None:
    agent = enroll(collector)
    for path in ("/api/v1/summary", f"/api/v1/communes/{HK}"):
        anonymous = httpx.get(f"{collector.url}{path}")
        assert anonymous.status_code == 401 and "log in" in anonymous.json()["detail"]
        # An agent's token reads nothing.
        as_agent = httpx.get(
            f"{collector.url}{path}", headers={"Authorization": f"Bearer {agent['token']}"}
        )
        assert as_agent.status_code == 401
        assert "agent tokens" in as_agent.json()["detail"]
        for refused in (anonymous, as_agent):  # JSON, never the login page's redirect
            assert refused.headers["www-authenticate"] == 'Cookie realm="ioc"'
            assert refused.headers["content-type"] == "application/json"
        assert reader.get(path).status_code == 200
    unknown = reader.get("/api/v1/communes/99999")
    assert unknown.status_code == 404 and "unknown commune code" in unknown.json()["detail"]


def test_since_is_kept_while_a_criterion_stays_in_its_status(collector) -> None:
    agent = enroll(collector)
    post(collector, agent, [report(agent, 1)])
    first = collector.services.readiness.settled_state(HK).criteria["EQ-01"]
    collector.clock.advance(seconds=30)
    post(collector, agent, [report(agent, 2)])  # same figures: still unknown (memory missing)
    again = collector.services.readiness.settled_state(HK).criteria["EQ-01"]
    assert (again["status"], again["since"]) == (first["status"], first["since"])
    collector.clock.advance(seconds=30)
    low = report(agent, 3)
    low["results"][0]["values"]["disk_free_ratio"]["value"] = 0.05
    post(collector, agent, [low])
    changed = collector.services.readiness.settled_state(HK).criteria["EQ-01"]
    assert changed["status"] == "fail" and changed["since"] > first["since"]
    # the compact view used by roll-ups and metrics carries the same "since"
    light = collector.services.readiness.commune_states("01")
    assert next(s for s in light if s.code == HK).criteria["EQ-01"]["since"] == changed["since"]


def test_the_catalogues_levels_are_served_to_agents_and_judge_the_exposed_status(
    collector,
) -> None:
    """Agents report values unjudged; the collector names its levels' version in every
    answer, serves them to agents, and shows a check's status judged by them (/metrics),
    as the criteria judge it."""
    agent = enroll(collector)
    nearly_full = report(agent, 1)
    nearly_full["results"][0]["values"]["disk_free_ratio"]["value"] = 0.05
    answer = post(collector, agent, [nearly_full]).json()
    rules = collector.services.core.rules.current()
    assert answer["levels_version"] == rules.fingerprint
    headers = {"Authorization": f"Bearer {agent['token']}"}
    levels = httpx.get(f"{collector.url}/api/v1/levels", headers=headers).json()
    assert levels["version"] == rules.fingerprint
    assert levels["remediation"] == rules.levels_body()["remediation"]  # what to do, per check
    assert levels["remediation"]["host.disk"][0]["id"] == "EQ-01"
    assert levels["levels"]["host.disk"]["disk_free_ratio"] == {
        "fail_below": 0.1,
        "warn_below": 0.2,
    }
    refused = httpx.get(f"{collector.url}/api/v1/levels", headers={"Authorization": "Bearer x"})
    assert refused.status_code == 401
    metrics = httpx.get(f"{collector.url}/metrics", headers=SCRAPE).text
    assert (
        'ioc_check_problem{province="01",commune="00070",host="pasc-pc-1",check="host.disk",'
        'target="/",status="fail"} 1' in metrics.splitlines()
    )
