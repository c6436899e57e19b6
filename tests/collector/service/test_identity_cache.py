"""The collector remembers which agent a token belongs to, so that a report costs no
database read before its write. A token revoked elsewhere (another replica, or
``ioc-collector agents revoke`` in another process) is still refused at once: every write
checks the token against the agents row in its own transaction."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from collector.api.errors import status_of
from collector.service import Services, services_for
from collector.storage import schema as db
from tests.collector.api.test_ingest_api import enroll, post, report, stored


def _other_process(services: Services) -> Services:
    """Another Store on the same database, as a second replica or the admin CLI has."""
    return services_for(
        services.engine, services.rules.current().catalogue, services.units, clock=services.clock
    )


def test_a_known_token_is_answered_from_memory(collector) -> None:
    agent = enroll(collector)
    assert post(collector, agent, [report(agent, 1)]).status_code == 200
    identity = collector.services.identities.cached_identity(agent["token"])
    assert identity is not None and identity.agent_id == agent["agent_id"]
    assert collector.services.identities.cached_identity("not-a-token") is None


def test_a_token_revoked_by_another_process_is_refused_at_the_next_report(collector) -> None:
    agent = enroll(collector)
    assert post(collector, agent, [report(agent, 1)]).status_code == 200
    assert collector.services.identities.cached_identity(agent["token"]) is not None
    assert _other_process(collector.services).identities.revoke_agent(agent["agent_id"], "admin")

    r = post(collector, agent, [report(agent, 2)])
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert stored(collector) == 1  # the refused report was not written
    assert collector.services.identities.cached_identity(agent["token"]) is None  # forgotten
    assert post(collector, agent, [report(agent, 3)]).status_code == 401


def test_a_refused_token_fails_alone_in_its_group(services: Services) -> None:
    """Group commit: one revoked agent in a group does not fail the others."""
    from checks.model import AgentReport, utcnow

    enrolled = [
        services.identities.enroll(code, f"pc-{c}")
        for c, code in services.identities.create_enrollment_codes(["00070", "00073"])
    ]
    ids = [services.identities.authenticate(e.token) for e in enrolled]
    assert all(ids)
    _other_process(services).identities.revoke_agent(enrolled[0].agent_id, "admin")

    def rep(e, seq):
        return AgentReport(
            agent_id=e.agent_id,
            seq=seq,
            commune_code=e.commune_code,
            host=f"pc-{e.commune_code}",
            observed_at=utcnow(),
            results=[],
        )

    outcomes = services.ingest.ingest_many(
        [(ids[0], [rep(enrolled[0], 1)]), (ids[1], [rep(enrolled[1], 1)])]
    )
    assert type(outcomes[0]).__name__ == "TokenRefusedError" and status_of(outcomes[0]) == 401
    assert outcomes[1].accepted == 1
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(db.reports.c.agent_id, func.count()).group_by(db.reports.c.agent_id)
        ).all()
    assert dict(rows) == {enrolled[1].agent_id: 1}


def test_a_restarted_collector_knows_every_agents_token_before_its_first_report(
    services: Services,
) -> None:
    """After a restart under national load, no agent's next report reads its token from the
    database first: the collector loads them all as it starts. A revoked agent's token is
    not among them, and is still refused."""
    from collector.api.app import create_app
    from collector.api.server import BackgroundServer
    from tests.conftest import app_config

    enrolled = [
        services.identities.enroll(code, f"pc-{c}")
        for c, code in services.identities.create_enrollment_codes(["00070", "00073", "00070"])
    ]
    assert services.identities.revoke_agent(enrolled[2].agent_id, "admin")
    restarted = _other_process(services)  # a new process: nothing remembered yet
    assert all(restarted.identities.cached_identity(e.token) is None for e in enrolled)

    app = create_app(restarted, app_config())
    with BackgroundServer(app) as url:
        for e in enrolled[:2]:
            hit = restarted.identities.cached_identity(e.token)
            assert hit is not None and hit.agent_id == e.agent_id
            assert hit.commune_code == e.commune_code
        assert restarted.identities.cached_identity(enrolled[2].token) is None
        r = httpx.post(
            f"{url}/api/v1/reports",
            json={"reports": []},
            headers={"Authorization": f"Bearer {enrolled[2].token}"},
        )
        assert r.status_code == 401, r.text
