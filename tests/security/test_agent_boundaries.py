"""What an agent's credentials can and cannot do, beyond tests/collector/api/test_ingest_api.py:
a stolen copy of the database opens nothing (only hashes are kept), a code is single-use
even when raced, an agent writes only as itself and reads nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from collector.storage import schema as db
from tests.collector.api.test_ingest_api import enroll, post, report
from tests.conftest import Collector
from tests.security.conftest import HK


def test_the_stored_hashes_open_nothing(collector: Collector) -> None:
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])
    with collector.services.engine.connect() as conn:
        code_hash = conn.execute(select(db.enrollment_codes.c.code_hash)).scalar_one()
    assert code not in code_hash
    r = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code_hash, "host": "x"})
    assert r.status_code == 403
    agent = httpx.post(f"{collector.url}/api/v1/enroll", json={"code": code, "host": "x"}).json()
    with collector.services.engine.connect() as conn:
        token_hash = conn.execute(select(db.agents.c.token_hash)).scalar_one()
    assert token_hash != agent["token"] and len(token_hash) == 64
    assert post(collector, agent, [report(agent, 1)], token=token_hash).status_code == 401
    assert post(collector, agent, [report(agent, 1)]).status_code == 200


def test_a_raced_code_enrolls_exactly_one_machine(collector: Collector) -> None:
    [(_, code)] = collector.services.identities.create_enrollment_codes([HK])

    def attempt(i: int) -> int:
        r = httpx.post(
            f"{collector.url}/api/v1/enroll", json={"code": code, "host": f"pc-{i}"}, timeout=30
        )
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(attempt, range(8)))
    assert codes == [201] + [403] * 7
    with collector.services.engine.connect() as conn:
        assert len(conn.execute(select(db.agents)).all()) == 1


def test_an_agent_writes_only_as_itself_and_reads_nothing(collector: Collector) -> None:
    me, neighbour = enroll(collector, host="pc-1"), enroll(collector, host="pc-2")  # same commune
    as_neighbour = report(me, 1, agent_id=neighbour["agent_id"])
    r = post(collector, me, [as_neighbour])
    assert r.status_code == 403 and "token belongs to" in r.json()["detail"]
    auth = {"Authorization": f"Bearer {me['token']}"}
    for path in (
        "/api/v1/summary",
        f"/api/v1/communes/{HK}",
        "/",
        f"/commune/{HK}",
        "/reports?format=json",
        f"/reports?scope=commune&code={HK}&format=csv",
        "/admin/users",
    ):
        got = httpx.get(f"{collector.url}{path}", headers=auth, follow_redirects=False)
        assert got.status_code in (401, 403), path
    with collector.services.engine.connect() as conn:
        assert conn.execute(select(db.reports)).all() == []
